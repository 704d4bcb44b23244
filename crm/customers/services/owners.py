"""Team members, transfer, lock and release to the pool; the follow-up status columns."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.signals import customer_locking
from crm.core.signals import customer_released
from crm.core.validation import check_text
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import CustomerTeamMember
from crm.customers.models import TeamAccess
from crm.customers.services.profile import Errors
from crm.customers.services.profile import _choice
from crm.customers.services.profile import _team_row
from crm.customers.services.profile import announce
from crm.customers.services.profile import check_manage
from crm.customers.services.profile import check_version
from crm.customers.services.profile import flush
from crm.customers.services.profile import store_user
from crm.extensions import db
from crm.org.models import User


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
# Contexts owning records of a customer (opportunities, orders ...) register here to move them along when
# the customer is transferred with `with_related=True`: handler(customer, old_owner_id, new_owner_id, actor).
TransferHandler = Callable[[Customer, Any, int, User], Any]
_transfer_handlers: dict[str, TransferHandler] = {}


def register_transfer_handler(name: str, handler: TransferHandler) -> None:
    _transfer_handlers[name] = handler


def transfer(customers: Iterable[Customer], to_user_id: Any, *, actor: User, with_contacts: bool = True,
             keep_old_owner: bool = False, reason: str = "", with_related: bool = True) -> int:
    """Give customers to another person of their store, optionally with their contacts and (through the
    registered handlers) related records. The old owner may stay as a read-write team member."""
    reason = check_text(reason, {}, "reason", max_length=500, required=False)
    moved = 0
    for customer in customers:
        check_manage(customer, actor, "customer.transfer")
        to_user = store_user(to_user_id, customer.store_id, "to_user_id")
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
        if with_related:
            for handler in list(_transfer_handlers.values()):
                handler(customer, old_owner_id, to_user.id, actor)
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
        announce(customer, "customer.assigned", previous_owner_id=old_owner_id)
        moved += 1
    flush()
    return moved


def release_to_pool(customers: Iterable[Customer], reason: str, *, actor: User) -> int:
    """Owner := NULL with the reason kept (the highseas context adds pools, rules and cooldowns). A holder of
    `customer.transfer` releases any customer they manage; a holder of `customer.release` their own only."""
    errors: Errors = {}
    reason = check_text(reason, errors, "reason", max_length=500)
    if errors:
        raise ValidationFailed(errors)
    moved = 0
    for customer in customers:
        if actor.can("customer.transfer") or customer.owner_id != actor.id:
            check_manage(customer, actor, "customer.transfer")
        else:
            check_manage(customer, actor, "customer.release")
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
        announce(customer, "customer.assigned", previous_owner_id=old)
        customer_released.send(None, customer=customer, old_owner_id=old, reason=reason, actor=actor)
        moved += 1
    flush()
    return moved


def set_locked(customer: Customer, locked: bool, *, actor: User, lock_version: Any = None) -> Customer:
    check_manage(customer, actor, "customer.lock")
    check_version(customer, lock_version)
    if customer.locked == locked:
        return customer
    if locked:
        customer_locking.send(None, customer=customer, actor=actor)
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
