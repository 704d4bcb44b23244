"""Leads (线索): manual entry, the public web form (token, honeypot, rate limit, no CSRF cookie), assignment
rules (round-robin among members, by province or platform, daily capacity), transfer and conversion into a
customer (checked for duplicates). Services take the actor explicitly, flush, never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import check_email
from crm.core.validation import check_text
from crm.core.validation import normalise_mobile
from crm.customers import services
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.customers.models import FollowUpKind
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.customers.models import LeadFollowUp
from crm.customers.models import LeadStatus
from crm.customers.models import LeadWebForm
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import Platform
from crm.org.models import UnitKind
from crm.org.models import User

LOCAL = ZoneInfo("Asia/Shanghai")
RATE_LIMIT = 5  # web-form leads per IP address and form
RATE_WINDOW = timedelta(minutes=10)
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


class TooManyRequests(DomainError):
    status = 429
    default_message = _l("Too many submissions from your address. Try again in a few minutes.")


# Input ------------------------------------------------------------------------------------------------------
def clean_lead(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"name": check_text(data.get("name"), errors, "name", max_length=120)}
    for field, limit in (("company", 200), ("province", 40), ("city", 40)):
        out[field] = check_text(data.get(field), errors, field, max_length=limit, required=False) or None
    out["message"] = check_text(data.get("message"), errors, "message", max_length=2000, required=False) or None
    out["email"] = check_email(data.get("email"), errors, "email")
    raw = check_text(data.get("mobile"), errors, "mobile", max_length=32, required=False)
    mobile = normalise_mobile(raw)
    if mobile and not _MOBILE_RE.match(mobile):
        errors["mobile"] = str(_l("Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."))
    out["mobile"], out["mobile_norm"] = raw or None, mobile or None
    chat = check_text(data.get("chat_id"), errors, "chat_id", max_length=64, required=False)
    out["chat_id"], out["chat_id_norm"] = chat or None, services.normalise_chat_id(chat) or None
    platform = str(data.get("source_platform") or "").strip()
    if platform and platform not in {p.value for p in Platform}:
        errors["source_platform"] = str(_l("Choose a value from the list."))
    out["source_platform"] = platform or None
    if not out["mobile_norm"] and not out["chat_id_norm"] and "mobile" not in errors and "chat_id" not in errors:
        errors["mobile"] = str(_l("Enter a mobile number or a WeChat ID, so we can reach you."))
    if errors:
        raise ValidationFailed(errors)
    return out


# Assignment -----------------------------------------------------------------------------------------------
def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(LOCAL).date(), time.min, LOCAL)


def assign_by_rules(lead: Lead) -> User | None:
    """Give a pool lead to the next member of the first matching rule with capacity left today."""
    if lead.owner_id is not None:
        return None
    rules = db.session.scalars(select(LeadAssignmentRule).where(
        LeadAssignmentRule.store_id == lead.store_id, LeadAssignmentRule.active)
        .order_by(LeadAssignmentRule.priority, LeadAssignmentRule.id))
    now = utcnow()
    for rule in rules:
        if rule.provinces and (lead.province or "") not in rule.provinces:
            continue
        if rule.platforms and (lead.source_platform or "") not in rule.platforms:
            continue
        members = list(db.session.scalars(select(User).where(
            User.id.in_([int(m) for m in rule.member_ids or []]), User.active, User.store_id == lead.store_id)
            .order_by(User.id)))
        if not members:
            continue
        counts = dict(db.session.execute(
            select(Lead.owner_id, func.count()).where(Lead.owner_id.in_([m.id for m in members]),
                                                      Lead.assigned_at >= _day_start(now))
            .group_by(Lead.owner_id)).all())
        open_members = [m for m in members if counts.get(m.id, 0) < rule.daily_capacity]
        if not open_members:
            continue
        chosen = min(open_members, key=lambda m: (counts.get(m.id, 0), m.id))
        lead.owner_id = chosen.id
        lead.assigned_at = now
        db.session.flush()
        record_event(db.session, lead, "assigned", actor_id=None, note=rule.name,
                     details={"owner_id_new": chosen.id})
        return chosen
    return None


def setup_store(actor: User, raw: Any) -> int:
    """The store a new rule or web form goes to: the one asked for (the actor's own when none is), among the active
    stores the actor may choose, else a field error on `store_id`."""
    text = str(raw if raw is not None and not isinstance(raw, bool) else "").strip() or str(actor.store_id or "")
    key = int(text) if text.isdigit() and len(text) < 10 else 0
    unit = db.session.get(OrgUnit, key) if key and key in scope_context(actor).selectable_stores() else None
    if unit is None or unit.kind != UnitKind.STORE or not unit.active:
        raise ValidationFailed({"store_id": _l("Choose a store from the list.")})
    return key


def _whole_number(raw: Any, default: int, low: int, high: int, field: str, errors: dict[str, str], message: Any
                  ) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(str(raw).strip())
        if not low <= value <= high:
            raise ValueError
    except ValueError:
        errors[field] = str(message)
        return default
    return value


def save_rule(store_id: Any, data: dict[str, Any], *, actor: User, rule: LeadAssignmentRule | None = None
              ) -> LeadAssignmentRule:
    """Create a rule in `store_id` (checked against the actor's stores), or edit `rule` (its store stays:
    `store_id` is then ignored). Every field is validated at once; `active` is left alone."""
    if not actor.can("lead.manage"):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    if rule is not None:
        _check_rule(rule, actor)
        store_id = rule.store_id
    else:
        try:
            store_id = setup_store(actor, store_id)
        except ValidationFailed as exc:
            errors.update({k: v[0] for k, v in exc.errors.items()})
    name = check_text(data.get("name"), errors, "name", max_length=80)
    capacity = _whole_number(data.get("daily_capacity"), 50, 1, 10_000, "daily_capacity", errors,
                             _l("Enter a number from 1 to 10000."))
    priority = _whole_number(data.get("priority"), 100, 0, 10_000, "priority", errors,
                             _l("Enter a number from 0 to 10000."))
    raw = data.get("provinces")
    items = raw if isinstance(raw, list) else re.split(r"[,，]", str(raw or ""))
    provinces = list(dict.fromkeys(str(p).strip() for p in items if str(p).strip()))[:40]
    if any(len(p) > 40 for p in provinces):
        errors["provinces"] = str(_l("Use at most %(n)d characters.", n=40))
    platforms = list(dict.fromkeys(_as_list(data.get("platforms"))))
    if any(p not in {x.value for x in Platform} for p in platforms):
        errors["platforms"] = str(_l("Choose a value from the list."))
    members: list[int] = []
    if "store_id" not in errors:
        for raw_member in _as_list(data.get("member_ids")):
            try:
                user_id = services.store_user(raw_member, store_id, "member_ids").id
            except ValidationFailed as exc:
                errors.update({k: v[0] for k, v in exc.errors.items()})
                continue
            if user_id not in members:
                members.append(user_id)
        if not members and "member_ids" not in errors:
            errors["member_ids"] = str(_l("Choose at least one person."))
    if errors:
        raise ValidationFailed(errors)
    if rule is None:
        rule = LeadAssignmentRule(store_id=store_id)
        db.session.add(rule)
    rule.name, rule.priority, rule.daily_capacity = name, priority, capacity
    rule.provinces, rule.platforms, rule.member_ids = provinces, platforms, members
    db.session.flush()
    return rule


def _check_rule(rule: LeadAssignmentRule, actor: User) -> None:
    """The actor manages lead set-up and sees the rule's store (404 otherwise, as for a missing rule)."""
    if not actor.can("lead.manage"):
        raise PermissionDenied()
    if db.session.scalar(visible(select(LeadAssignmentRule.id).where(LeadAssignmentRule.id == rule.id), actor,
                                 LeadAssignmentRule)) is None:
        raise NotFound()


def get_rule(rule_id: int, *, actor: User) -> LeadAssignmentRule:
    """A rule the actor may manage; 404 outside their scope."""
    if not actor.can("lead.manage"):
        raise PermissionDenied()
    return get_visible(LeadAssignmentRule, rule_id, actor)


def list_rules(actor: User) -> list[LeadAssignmentRule]:
    """The rules of the stores in the actor's scope, by store, then in the order they are tried."""
    return list(db.session.scalars(visible(select(LeadAssignmentRule), actor, LeadAssignmentRule)
                                   .order_by(LeadAssignmentRule.store_id, LeadAssignmentRule.priority,
                                             LeadAssignmentRule.id)))


def set_rule_active(rule: LeadAssignmentRule, active: bool, *, actor: User) -> LeadAssignmentRule:
    """Switch a rule off (assignment skips it, the next matching rule takes the lead) or on again."""
    _check_rule(rule, actor)
    rule.active = bool(active)
    db.session.flush()
    return rule


def delete_rule(rule: LeadAssignmentRule, *, actor: User) -> None:
    """Remove a rule for good (the operation log keeps its last values). Leads it already assigned keep
    their owners: a lead does not refer to the rule that assigned it."""
    _check_rule(rule, actor)
    db.session.delete(rule)
    db.session.flush()


def _as_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [str(raw)]


# Create, web form -------------------------------------------------------------------------------------------
def create_lead(data: dict[str, Any], *, actor: User) -> Lead:
    if not actor.can("customer.create"):
        raise PermissionDenied()
    clean = clean_lead(data)
    store_id = services.resolve_store(actor, data.get("store_id"))
    pool = data.get("owner_id") == "pool" or actor.store_id != store_id
    lead = Lead(store_id=store_id, owner_id=None if pool else actor.id, assigned_at=None if pool else utcnow(),
                source="manual", created_by_id=actor.id, **clean)
    db.session.add(lead)
    db.session.flush()
    if pool:
        assign_by_rules(lead)
    return lead


def form_by_token(token: str) -> LeadWebForm:
    if not token or len(token) > 64:
        raise NotFound()
    form = db.session.scalar(select(LeadWebForm).where(LeadWebForm.token == token))
    if form is None or not form.active:
        raise NotFound()
    return form


def submit_web_form(token: str, data: dict[str, Any], remote_addr: str | None) -> Lead:
    """A public submission. The honeypot field `website` must stay empty (bots fill every field); more than
    RATE_LIMIT leads from one address in RATE_WINDOW answer 429."""
    form = form_by_token(token)
    if str(data.get("website") or "").strip():
        raise ValidationFailed({"website": _l("Leave this field empty.")},
                               message=_l("Your message looks automated and was not sent."))
    ip_hash = hashlib.sha256(f"{form.token}:{remote_addr or '-'}".encode()).hexdigest()
    recent = db.session.scalar(select(func.count()).select_from(Lead).where(
        Lead.web_form_id == form.id, Lead.source_ip_hash == ip_hash, Lead.created_at > utcnow() - RATE_WINDOW)) or 0
    if recent >= RATE_LIMIT:
        raise TooManyRequests()
    clean = clean_lead(data)
    lead = Lead(store_id=form.store_id, owner_id=None, source="web_form", web_form_id=form.id, source_ip_hash=ip_hash,
                **clean)
    db.session.add(lead)
    db.session.flush()
    assign_by_rules(lead)
    return lead


def create_web_form(store_id: int, name: Any, *, actor: User) -> LeadWebForm:
    if not actor.can("lead.manage"):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    clean = check_text(name, errors, "name", max_length=80)
    if errors:
        raise ValidationFailed(errors)
    form = LeadWebForm(store_id=store_id, name=clean, token=secrets.token_urlsafe(24))
    db.session.add(form)
    db.session.flush()
    return form


# Follow-ups ---------------------------------------------------------------------------------------------------
def record_follow_up(lead: Lead, data: dict[str, Any], *, actor: User) -> LeadFollowUp:
    _check_manage(lead, actor, "customer.edit")
    errors: dict[str, str] = {}
    try:
        kind = FollowUpKind(str(data.get("kind") or ""))
    except ValueError:
        errors["kind"] = str(_l("Choose how you were in touch."))
    content = check_text(data.get("content"), errors, "content", max_length=5000)
    next_at = None
    try:
        next_at = services.parse_expiry(data.get("next_contact_at"), "next_contact_at")
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in exc.errors.items()})
    if errors:
        raise ValidationFailed(errors)
    row = LeadFollowUp(store_id=lead.store_id, lead_id=lead.id, author_id=actor.id, kind=kind, content=content,
                       occurred_at=utcnow(), next_contact_at=next_at)
    db.session.add(row)
    if lead.status == LeadStatus.NEW:
        lead.status = LeadStatus.CONTACTED
    services.flush()
    return row


def lead_follow_ups(lead: Lead) -> list[LeadFollowUp]:
    return list(db.session.scalars(select(LeadFollowUp).where(LeadFollowUp.lead_id == lead.id)
                                   .order_by(LeadFollowUp.occurred_at.desc(), LeadFollowUp.id.desc())))


# Ownership and conversion -----------------------------------------------------------------------------------
def _check_manage(lead: Lead, actor: User, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied()
    if lead.owner_id == actor.id:
        return
    if db.session.scalar(visible(select(Lead.id).where(Lead.id == lead.id), actor, Lead)) is None:
        raise NotFound()


def transfer_leads(leads: Iterable[Lead], to_user_id: Any, *, actor: User) -> int:
    moved = 0
    for lead in leads:
        if lead.owner_id is None and str(to_user_id) == str(actor.id) and actor.can("customer.create"):
            pass  # claiming a pool lead for oneself
        else:
            _check_manage(lead, actor, "customer.transfer")
        user = services.store_user(to_user_id, lead.store_id, "owner_id")
        old = lead.owner_id
        lead.owner_id = user.id
        lead.assigned_at = utcnow()
        db.session.flush()
        record_event(db.session, lead, "transferred", actor_id=actor.id,
                     details={"owner_id_old": old, "owner_id_new": user.id})
        moved += 1
    return moved


def set_status(lead: Lead, status: Any, *, actor: User) -> Lead:
    _check_manage(lead, actor, "customer.edit")
    try:
        new = LeadStatus(str(status))
    except ValueError:
        raise ValidationFailed({"status": _l("Choose a value from the list.")}) from None
    if new == LeadStatus.CONVERTED or lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed({"status": _l("Convert the lead to change it into a customer.")})
    lead.status = new
    services.flush()
    return lead


def convert(lead: Lead, *, actor: User) -> Customer:
    """A customer (owner: the lead's owner, else the actor) with the lead's details and a primary contact,
    checked for duplicates like any new customer; the lead remembers it."""
    _check_manage(lead, actor, "customer.create")
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed({"status": _l("This lead was already converted.")})
    owner_id = lead.owner_id or (actor.id if actor.store_id == lead.store_id else None)
    data = {"name": lead.company or lead.name, "company": lead.company, "mobile": lead.mobile, "chat_id": lead.chat_id,
            "email": lead.email, "province": lead.province, "city": lead.city, "source_platform": lead.source_platform,
            "remarks": lead.message, "store_id": lead.store_id, "owner_id": owner_id or "pool"}
    customer = services.create_customer(data, actor=actor)
    db.session.add(Contact(store_id=lead.store_id, customer_id=customer.id, owner_id=customer.owner_id, name=lead.name,
                           mobile=lead.mobile_norm, chat_id=lead.chat_id, email=lead.email, is_primary=True))
    # The lead's follow-ups become the customer's (history kept; no reminders are sent for the past ones).
    history = lead_follow_ups(lead)
    for old in reversed(history):
        db.session.add(FollowUp(store_id=lead.store_id, customer_id=customer.id, author_id=old.author_id,
                                kind=old.kind, content=old.content, occurred_at=old.occurred_at,
                                next_contact_at=old.next_contact_at, reminder_sent_at=old.occurred_at))
    if history:
        services.touch_follow_up(customer, history[0].occurred_at, None)
    lead.status = LeadStatus.CONVERTED
    lead.converted_customer_id = customer.id
    services.flush()
    record_event(db.session, lead, "converted", actor_id=actor.id, details={"customer_id": customer.id})
    record_event(db.session, customer, "converted_from_lead", actor_id=actor.id, details={"lead_id": lead.id})
    return customer


# Reads --------------------------------------------------------------------------------------------------------
def list_leads(actor: User, *, view: str, status: str, cursor: str | None, limit: int) -> Page[Lead]:
    stmt = visible(select(Lead), actor, Lead)
    if view == "mine":
        stmt = stmt.where(Lead.owner_id == actor.id)
    elif view == "pool":
        stmt = stmt.where(Lead.owner_id.is_(None))
    if status in {s.value for s in LeadStatus}:
        stmt = stmt.where(Lead.status == LeadStatus(status))
    return keyset_page(db.session, stmt, [SortKey(Lead.created_at, descending=True), SortKey(Lead.id, descending=True)],
                       cursor=cursor, limit=limit)



LEAD_EXPORT = [("id", "id"), ("name", _l("Name")), ("company", _l("Company")), ("mobile", _l("Mobile number")),
               ("chat_id", _l("WeChat ID")), ("email", _l("E-mail")), ("province", _l("Province")),
               ("city", _l("City")), ("source_platform", _l("Source platform")), ("source", _l("Source")),
               ("status", _l("Status")), ("owner", _l("Owner")), ("message", _l("Message")),
               ("created_at", _l("Created"))]


def export_rows(actor: User, *, view: str, status: str) -> Any:
    """Every lead of the list the actor is looking at, as export rows (keyset batches of 1,000)."""
    cursor = None
    while True:
        page = list_leads(actor, view=view, status=status, cursor=cursor, limit=500)
        owners = dict(db.session.execute(select(User.id, User.name).where(
            User.id.in_({lead.owner_id for lead in page.items if lead.owner_id}))).all())
        for lead in page.items:
            values = {key: getattr(lead, key, None) for key, _label in LEAD_EXPORT}
            values["status"] = lead.status.value
            values["owner"] = owners.get(lead.owner_id, "")
            values["created_at"] = lead.created_at.isoformat(timespec="minutes")
            yield ["" if values[k] is None else values[k] for k, _label in LEAD_EXPORT]
        if not page.has_next:
            return
        cursor = page.next_cursor
