"""Customer profiles: normalisation, dedup, access checks, create and edit. Services take the actor
explicitly, flush, never commit.

Uniqueness: the normalised mobile number and chat ID are each unique within a store. `check_duplicates`
names the existing record in a way the actor may see: its name and owner when the actor can see it,
otherwise only its state ("owned by X" / "in the high seas"), never its details."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.scopes import scope_context
from crm.auth.scopes import visibility_of
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import as_id
from crm.core.validation import check_email
from crm.core.validation import check_text
from crm.core.validation import normalise_mobile
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.customers.models import CustomerTeamMember
from crm.customers.models import Intention
from crm.customers.models import TeamAccess
from crm.extensions import db
from crm.integrations.webhooks.services import publish
from crm.org.models import OrgUnit
from crm.org.models import Platform
from crm.org.models import UnitKind
from crm.org.models import User

Errors = dict[str, str]
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_CHAT_RE = re.compile(r"^[a-z0-9_\-]{2,64}$")
TEXT_FIELDS = {  # field -> max length
    "company": 200, "email": 254, "province": 40, "city": 40, "address": 300, "source_store": 120,
    "industry": 80, "product_preferences": 500, "remarks": 5000,
}
PROFILE_FIELDS = ("name", "company", "mobile", "chat_id", "email", "province", "city", "address", "source_platform",
                  "source_store", "level", "industry", "tags", "product_preferences", "intention", "remarks")


# Normalisation and checks ---------------------------------------------------------------------------------
def normalise_chat_id(raw: str | None) -> str:
    """A WeChat ID compared case-insensitively, full-width characters folded, spaces removed."""
    if not raw:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw))).lower()


def parse_tags(raw: Any, errors: Errors) -> list[str]:
    items = raw if isinstance(raw, list) else re.split(r"[,，;；]", str(raw or ""))
    tags: list[str] = []
    for item in items:
        tag = unicodedata.normalize("NFKC", str(item)).strip()
        if not tag:
            continue
        if len(tag) > 20:
            errors["tags"] = str(_l("Each tag may have at most %(n)d characters.", n=20))
        elif tag not in tags:
            tags.append(tag)
    if len(tags) > 10:
        errors["tags"] = str(_l("Use at most %(n)d tags.", n=10))
    return tags[:10]


def _choice(raw: Any, enum_cls: type, errors: Errors, field: str) -> Any:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return enum_cls(text)
    except ValueError:
        errors[field] = str(_l("Choose a value from the list."))
        return None


def clean_profile(data: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], Errors]:
    """The profile fields checked and normalised; `partial` checks only the fields present (API PATCH)."""
    errors: Errors = {}
    out: dict[str, Any] = {}

    def present(field: str) -> bool:
        return not partial or field in data

    if present("name"):
        out["name"] = check_text(data.get("name"), errors, "name", max_length=120)
    for field, limit in TEXT_FIELDS.items():
        if present(field) and field != "email":
            out[field] = check_text(data.get(field), errors, field, max_length=limit, required=False) or None
    if present("email"):
        out["email"] = check_email(data.get("email"), errors, "email")
    if present("mobile"):
        raw = check_text(data.get("mobile"), errors, "mobile", max_length=32, required=False)
        mobile = normalise_mobile(raw)
        if mobile and not _MOBILE_RE.match(mobile):
            errors["mobile"] = str(_l("Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."))
        out["mobile"] = raw or None
        out["mobile_norm"] = mobile or None
    if present("chat_id"):
        raw = check_text(data.get("chat_id"), errors, "chat_id", max_length=64, required=False)
        chat = normalise_chat_id(raw)
        if chat and not _CHAT_RE.match(chat):
            errors["chat_id"] = str(_l("A WeChat ID has 2 to 64 letters, digits, underscores or dashes."))
        out["chat_id"] = raw or None
        out["chat_id_norm"] = chat or None
    if present("source_platform"):
        platform = _choice(data.get("source_platform"), Platform, errors, "source_platform")
        out["source_platform"] = platform.value if platform else None
    if present("level"):
        out["level"] = _choice(data.get("level"), CustomerLevel, errors, "level")
    if present("intention"):
        out["intention"] = _choice(data.get("intention"), Intention, errors, "intention")
    if present("tags"):
        out["tags"] = parse_tags(data.get("tags"), errors)
    if not partial and not out.get("mobile_norm") and not out.get("chat_id_norm") and "mobile" not in errors \
            and "chat_id" not in errors:
        errors["mobile"] = str(_l("Enter a mobile number or a WeChat ID, so duplicates can be found."))
    return out, errors


# Duplicates -------------------------------------------------------------------------------------------
def find_duplicates(store_id: int, mobile_norm: str | None, chat_id_norm: str | None,
                    exclude_id: int | None = None) -> list[Customer]:
    keys = []
    if mobile_norm:
        keys.append(Customer.mobile_norm == mobile_norm)
    if chat_id_norm:
        keys.append(Customer.chat_id_norm == chat_id_norm)
    if not keys:
        return []
    stmt = select(Customer).where(Customer.store_id == store_id, or_(*keys))
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return list(db.session.scalars(stmt.order_by(Customer.id)))


def can_see(customer: Customer, actor: User) -> bool:
    if customer.owner_id == actor.id:
        return True
    clause = scope_context(actor).clause(Customer, visibility_of(Customer))
    return db.session.scalar(select(Customer.id).where(Customer.id == customer.id, clause)) is not None


def describe(existing: Customer, actor: User) -> str:
    """What the actor may learn about an existing customer that blocks theirs."""
    seen = can_see(existing, actor)
    if existing.owner_id is None:
        if seen:
            return str(_l("%(name)s (no. %(id)d), in the high seas", name=existing.name, id=existing.id))
        return str(_l("a customer in the high seas: claim it from there"))
    owner = db.session.get(User, existing.owner_id)
    owner_name = owner.name if owner else "?"
    if existing.owner_id == actor.id:
        return str(_l("%(name)s (no. %(id)d), owned by you", name=existing.name, id=existing.id))
    if seen:
        return str(_l("%(name)s (no. %(id)d), owned by %(owner)s", name=existing.name, id=existing.id, owner=owner_name))
    return str(_l("a customer owned by %(owner)s: ask them or your supervisor to add you to its team", owner=owner_name))


class DuplicateCustomer(ValidationFailed):
    """A field error naming the existing record (as far as the actor may see it); `existing` for callers
    such as the import, which may update it instead."""

    def __init__(self, errors: dict[str, str], existing: list[Customer], visible_ids: list[int]) -> None:
        super().__init__(errors)
        self.existing = existing
        self.visible_ids = visible_ids


def check_duplicates(store_id: int, clean: dict[str, Any], actor: User, exclude_id: int | None = None) -> None:
    dupes = find_duplicates(store_id, clean.get("mobile_norm"), clean.get("chat_id_norm"), exclude_id)
    if not dupes:
        return
    errors: dict[str, str] = {}
    for existing in dupes:
        who = describe(existing, actor)
        if clean.get("mobile_norm") and existing.mobile_norm == clean["mobile_norm"]:
            errors["mobile"] = str(_l("This mobile number is already registered in this store: %(who)s.", who=who))
        if clean.get("chat_id_norm") and existing.chat_id_norm == clean["chat_id_norm"]:
            errors["chat_id"] = str(_l("This WeChat ID is already registered in this store: %(who)s.", who=who))
    raise DuplicateCustomer(errors, dupes, [c.id for c in dupes if can_see(c, actor)])


# Access -----------------------------------------------------------------------------------------------
def _team_row(customer: Customer, user_id: int) -> CustomerTeamMember | None:
    return db.session.scalar(select(CustomerTeamMember).where(
        CustomerTeamMember.customer_id == customer.id, CustomerTeamMember.user_id == user_id))


def can_edit(customer: Customer, actor: User) -> bool:
    """customer.edit, and: the owner, a read-write team member, or someone whose scope covers the record
    without the team (supervisors and managers)."""
    if not actor.can("customer.edit"):
        return False
    if customer.owner_id is not None and customer.owner_id == actor.id:
        return True
    member = _team_row(customer, actor.id)
    if member is not None and member.active and member.access == TeamAccess.WRITE:
        return True
    spec = replace(visibility_of(Customer), extra=None)
    clause = scope_context(actor).clause(Customer, spec)
    return db.session.scalar(select(Customer.id).where(Customer.id == customer.id, clause)) is not None


def can_manage(customer: Customer, actor: User) -> bool:
    """Owner-level actions (transfer, lock, team): the owner or someone whose scope covers the record."""
    if customer.owner_id is not None and customer.owner_id == actor.id:
        return True
    spec = replace(visibility_of(Customer), extra=None)
    clause = scope_context(actor).clause(Customer, spec)
    return db.session.scalar(select(Customer.id).where(Customer.id == customer.id, clause)) is not None


def check_edit(customer: Customer, actor: User) -> None:
    if not can_edit(customer, actor):
        raise PermissionDenied(_l("You may read this customer but not change it."))


def check_manage(customer: Customer, actor: User, permission: str) -> None:
    if not actor.can(permission) or not can_manage(customer, actor):
        raise PermissionDenied()


def check_version(customer: Customer, expected: Any) -> None:
    """Optimistic lock for forms and the API: the version the user saw must still be current."""
    if expected in (None, ""):
        return
    try:
        version = int(expected)
    except (TypeError, ValueError):
        raise ValidationFailed({"lock_version": _l("Invalid version; reload the page.")}) from None
    if version != customer.lock_version:
        raise Conflict(_l("%(name)s was changed by someone else meanwhile. Reload to see the changes, then "
                          "apply yours again.", name=customer.name))


def flush() -> None:
    """Flush, turning a lost race into a clear answer (the unique indexes and the version column).

    A failed flush leaves the session unusable until the owner of the transaction rolls back: the
    request's edge (`crm.core.web`: its error handlers, or `forget_refused_write` in a view that shows the
    form again), or a caller that opened a savepoint of its own (a process step, an import chunk), which
    rolls back only that. Rolling back here would throw away the caller's whole transaction, savepoints
    included."""
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None
    except IntegrityError:
        raise Conflict(_l("Another customer with this mobile number or WeChat ID was saved at the same time. "
                          "Reload and search for it.")) from None


def store_user(user_id: Any, store_id: int, field: str) -> User:
    """An active user of `store_id` (owners, team members, transfer targets never cross stores)."""
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed({field: _l("Choose a person from the list.")}) from None
    user = db.session.get(User, key) if 0 < key < 2**31 else None
    if user is None or not user.active or user.store_id != store_id:
        raise ValidationFailed({field: _l("Choose an active person of the customer's store.")})
    return user


def resolve_store(actor: User, store_id: Any) -> int:
    """The store a new customer goes to: the actor's own, or (above store level) one they may see. A store
    user who names another store is refused (never silently moved to their own)."""
    if actor.store_id is not None:
        if store_id not in (None, "") and as_id(store_id) != actor.store_id:
            raise ValidationFailed({"store_id": _l("You can only add customers to your own store.")})
        return actor.store_id
    try:
        key = int(store_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"store_id": _l("Choose the store of this customer.")}) from None
    if key not in scope_context(actor).selectable_stores():
        raise ValidationFailed({"store_id": _l("Choose the store of this customer.")})
    unit = db.session.get(OrgUnit, key)
    if unit is None or unit.kind != UnitKind.STORE:
        raise ValidationFailed({"store_id": _l("Choose the store of this customer.")})
    return key


# Create and edit ----------------------------------------------------------------------------------------
def create_customer(data: dict[str, Any], *, actor: User, check_dupes: bool = True) -> Customer:
    if not actor.can("customer.create"):
        raise PermissionDenied()
    clean, errors = clean_profile(data)
    store_id = None
    try:
        store_id = resolve_store(actor, data.get("store_id"))
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in exc.errors.items()})
    owner: User | None = None
    owner_raw = data.get("owner_id")
    if store_id is not None and owner_raw not in (None, "", "pool"):
        try:
            owner = store_user(owner_raw, store_id, "owner_id")
        except ValidationFailed as exc:
            errors.update({k: v[0] for k, v in exc.errors.items()})
    elif owner_raw in (None, "") and actor.store_id == store_id:
        owner = actor
    if errors:
        raise ValidationFailed(errors)
    assert store_id is not None
    if check_dupes:
        check_duplicates(store_id, clean, actor)
    now = utcnow()
    customer = Customer(store_id=store_id, owner_id=owner.id if owner else None, created_by_id=actor.id,
                        owned_since=now if owner else None, last_activity_at=now, **clean)
    db.session.add(customer)
    flush()
    announce(customer, "customer.created")
    return customer


def announce(customer: Customer, event: str, *, previous_owner_id: int | None = None) -> None:
    """The `customer.created` / `customer.assigned` webhook (crm.integrations), in the change's transaction:
    the customer's id, name and owner (null: in the high seas); its details are read through the API."""
    data: dict[str, Any] = {"customer_id": customer.id, "name": customer.name, "owner_id": customer.owner_id}
    if event == "customer.assigned":
        data["previous_owner_id"] = previous_owner_id
    publish(event, data, store_id=customer.store_id)


def update_customer(customer: Customer, data: dict[str, Any], *, actor: User, lock_version: Any = None,
                    partial: bool = False) -> Customer:
    check_edit(customer, actor)
    check_version(customer, lock_version)
    clean, errors = clean_profile(data, partial=partial)
    if partial:
        merged_mobile = clean.get("mobile_norm", customer.mobile_norm)
        merged_chat = clean.get("chat_id_norm", customer.chat_id_norm)
        if not merged_mobile and not merged_chat and not errors:
            errors["mobile"] = str(_l("Enter a mobile number or a WeChat ID, so duplicates can be found."))
    if errors:
        raise ValidationFailed(errors)
    changed_keys = {k: v for k, v in clean.items() if k in ("mobile_norm", "chat_id_norm")}
    if any(getattr(customer, k) != v for k, v in changed_keys.items()):
        check_duplicates(customer.store_id, changed_keys, actor, exclude_id=customer.id)
    for key, value in clean.items():
        setattr(customer, key, value)
    flush()
    return customer


