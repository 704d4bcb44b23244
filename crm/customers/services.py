"""State changes of customers: create and edit with dedup, contacts, team members, transfer, lock, release
to the pool. Services take the actor explicitly, flush, never commit.

Uniqueness: the normalised mobile number and chat ID are each unique within a store. `check_duplicates`
names the existing record in a way the actor may see: its name and owner when the actor can see it,
otherwise only its state ("owned by X" / "in the high seas"), never its details."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.scopes import scope_context
from crm.auth.scopes import visibility_of
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import check_email
from crm.core.validation import check_text
from crm.core.validation import normalise_mobile
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.customers.models import CustomerTeamMember
from crm.customers.models import Intention
from crm.customers.models import TeamAccess
from crm.extensions import db
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
    """Flush, turning a lost race into a clear answer (the unique indexes and the version column)."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict() from None
    except IntegrityError:
        db.session.rollback()
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
    """The store a new customer goes to: the actor's own, or (above store level) one they may see."""
    if actor.store_id is not None:
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
    return customer


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


# Contacts -----------------------------------------------------------------------------------------------
def _clean_contact(data: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    out = {
        "name": check_text(data.get("name"), errors, "name", max_length=80),
        "position": check_text(data.get("position"), errors, "position", max_length=80, required=False) or None,
        "remarks": check_text(data.get("remarks"), errors, "remarks", max_length=500, required=False) or None,
        "email": check_email(data.get("email"), errors, "email"),
        "is_primary": str(data.get("is_primary", "")).lower() in ("1", "true", "on", "yes"),
    }
    raw = check_text(data.get("mobile"), errors, "mobile", max_length=32, required=False)
    if raw and not _MOBILE_RE.match(normalise_mobile(raw)):
        errors["mobile"] = str(_l("Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."))
    out["mobile"] = normalise_mobile(raw) or None
    chat = check_text(data.get("chat_id"), errors, "chat_id", max_length=64, required=False)
    out["chat_id"] = chat or None
    if errors:
        raise ValidationFailed(errors)
    return out


def add_contact(customer: Customer, data: dict[str, Any], *, actor: User) -> Contact:
    check_edit(customer, actor)
    contact = Contact(store_id=customer.store_id, customer_id=customer.id, owner_id=customer.owner_id,
                      **_clean_contact(data))
    db.session.add(contact)
    if contact.is_primary:
        _only_primary(customer, contact)
    flush()
    return contact


def _only_primary(customer: Customer, contact: Contact) -> None:
    db.session.flush()
    for other in db.session.scalars(select(Contact).where(Contact.customer_id == customer.id, Contact.id != contact.id,
                                                          Contact.is_primary)):
        other.is_primary = False


def get_contact(customer: Customer, contact_id: Any) -> Contact:
    try:
        key = int(contact_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    contact = db.session.get(Contact, key) if 0 < key < 2**31 else None
    if contact is None or contact.customer_id != customer.id:
        raise NotFound()
    return contact


def update_contact(customer: Customer, contact: Contact, data: dict[str, Any], *, actor: User) -> Contact:
    check_edit(customer, actor)
    for key, value in _clean_contact(data).items():
        setattr(contact, key, value)
    if contact.is_primary:
        _only_primary(customer, contact)
    flush()
    return contact


def delete_contact(customer: Customer, contact: Contact, *, actor: User) -> None:
    check_edit(customer, actor)
    db.session.delete(contact)
    flush()


# Team members -------------------------------------------------------------------------------------------
def parse_expiry(raw: Any, field: str = "expires_at") -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValidationFailed({field: _l("Enter a date and time such as 2026-12-31 18:00.")}) from None
    if value.tzinfo is None:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    if value <= utcnow():
        raise ValidationFailed({field: _l("Choose a time in the future.")})
    return value


def add_team_member(customer: Customer, user_id: Any, access: Any, expires_at: Any, *, actor: User) -> CustomerTeamMember:
    check_manage(customer, actor, "customer.edit")
    errors: Errors = {}
    level = _choice(access or "read", TeamAccess, errors, "access")
    if errors:
        raise ValidationFailed(errors)
    user = store_user(user_id, customer.store_id, "user_id")
    if user.id == customer.owner_id:
        raise ValidationFailed({"user_id": _l("%(name)s already owns this customer.", name=user.name)})
    expiry = parse_expiry(expires_at)
    row = _team_row(customer, user.id)
    if row is None:
        row = CustomerTeamMember(store_id=customer.store_id, customer_id=customer.id, user_id=user.id,
                                 added_by_id=actor.id)
        db.session.add(row)
    row.access = level
    row.expires_at = expiry
    flush()
    return row


def remove_team_member(customer: Customer, user_id: Any, *, actor: User) -> None:
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    # A member may leave by themselves; otherwise owner-level rights are needed.
    if key != actor.id:
        check_manage(customer, actor, "customer.edit")
    row = _team_row(customer, key)
    if row is None:
        raise NotFound()
    db.session.delete(row)
    flush()


def team(customer: Customer) -> list[CustomerTeamMember]:
    return list(db.session.scalars(select(CustomerTeamMember).where(CustomerTeamMember.customer_id == customer.id)
                                   .order_by(CustomerTeamMember.id)))


# Transfer, lock, pool -----------------------------------------------------------------------------------
def transfer(customers: Iterable[Customer], to_user_id: Any, *, actor: User, with_contacts: bool = True,
             keep_old_owner: bool = False, reason: str = "") -> int:
    """Give customers to another person of their store. The old owner may stay as a read-write team member."""
    reason = check_text(reason, {}, "reason", max_length=500, required=False)
    moved = 0
    for customer in customers:
        check_manage(customer, actor, "customer.transfer")
        to_user = store_user(to_user_id, customer.store_id, "owner_id")
        old_owner_id = customer.owner_id
        if old_owner_id == to_user.id:
            continue
        customer.owner_id = to_user.id
        customer.owned_since = utcnow()
        existing = _team_row(customer, to_user.id)
        if existing is not None:
            db.session.delete(existing)  # the new owner needs no team row
        if with_contacts:
            for contact in db.session.scalars(select(Contact).where(Contact.customer_id == customer.id)):
                contact.owner_id = to_user.id
        if keep_old_owner and old_owner_id is not None:
            db.session.flush()
            row = _team_row(customer, old_owner_id) or CustomerTeamMember(
                store_id=customer.store_id, customer_id=customer.id, user_id=old_owner_id, added_by_id=actor.id)
            row.access = TeamAccess.WRITE
            row.expires_at = None
            db.session.add(row)
        flush()
        record_event(db.session, customer, "transferred", actor_id=actor.id, note=reason or None,
                     details={"owner_id_old": old_owner_id, "owner_id_new": to_user.id})
        moved += 1
    flush()
    return moved


def release_to_pool(customers: Iterable[Customer], reason: str, *, actor: User) -> int:
    """Owner := NULL with the reason kept (the highseas context adds pools, rules and cooldowns)."""
    errors: Errors = {}
    reason = check_text(reason, errors, "reason", max_length=500)
    if errors:
        raise ValidationFailed(errors)
    moved = 0
    for customer in customers:
        check_manage(customer, actor, "customer.transfer")
        if customer.owner_id is None:
            continue
        if customer.locked:
            raise ValidationFailed({"reason": _l("%(name)s is locked: unlock it first.", name=customer.name)})
        old = customer.owner_id
        customer.owner_id = None
        customer.owned_since = None
        for contact in db.session.scalars(select(Contact).where(Contact.customer_id == customer.id)):
            contact.owner_id = None
        flush()
        record_event(db.session, customer, "released_to_pool", actor_id=actor.id, note=reason,
                     details={"owner_id_old": old})
        moved += 1
    flush()
    return moved


def set_locked(customer: Customer, locked: bool, *, actor: User, lock_version: Any = None) -> Customer:
    check_manage(customer, actor, "customer.lock")
    check_version(customer, lock_version)
    if customer.locked == locked:
        return customer
    customer.locked = locked
    flush()
    record_event(db.session, customer, "locked" if locked else "unlocked", actor_id=actor.id)
    return customer


def touch_follow_up(customer: Customer, when: datetime, next_at: datetime | None) -> None:
    """Status columns a follow-up moves. A plain UPDATE: it must not bump lock_version (someone editing the
    profile meanwhile would get a conflict for a change they never saw) nor fill the operation log."""
    table = Customer.__table__
    values: dict[str, Any] = {"last_follow_up_at": when, "last_activity_at": when, "next_follow_up_at": next_at}
    db.session.execute(update(table).where(table.c.id == customer.id).values(**values))
    db.session.expire(customer, list(values))


# Saved list views -----------------------------------------------------------------------------------------
def save_view(name: Any, query: Any, columns: list[str], *, actor: User) -> Any:
    from crm.customers.models import SavedCustomerView

    errors: Errors = {}
    name = check_text(name, errors, "name", max_length=80)
    query = check_text(query, errors, "query", max_length=2000, required=False)
    if errors:
        raise ValidationFailed(errors)
    query = "&".join(p for p in query.lstrip("?").split("&") if p and not p.startswith(("cursor=", "view_id=")))
    row = db.session.scalar(select(SavedCustomerView).where(SavedCustomerView.user_id == actor.id,
                                                            SavedCustomerView.name == name))
    if row is None:
        row = SavedCustomerView(user_id=actor.id, name=name)
        db.session.add(row)
    row.query = query
    row.columns = [str(c)[:40] for c in columns][:30]
    flush()
    return row


def get_view(view_id: Any, *, actor: User) -> Any:
    from crm.customers.models import SavedCustomerView

    try:
        key = int(view_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = db.session.get(SavedCustomerView, key) if 0 < key < 2**31 else None
    if row is None or row.user_id != actor.id:
        raise NotFound()
    return row


def delete_view(view_id: Any, *, actor: User) -> None:
    db.session.delete(get_view(view_id, actor=actor))
    flush()
