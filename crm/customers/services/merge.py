"""Merging two duplicate customers: everything of the source moves to the target, then the source goes.

Contexts that own rows pointing at customers (orders, opportunities, high-seas history ...) register a
handler with `register_merge_handler`; each is called with (source, target, actor) inside the merge's
transaction, before the source row is deleted, and must re-point its rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.core.audit import OperationLog
from crm.core.audit import record_event
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import CustomerTeamMember
from crm.customers.models import FollowUp
from crm.customers.models import Lead
from crm.customers.services import PROFILE_FIELDS
from crm.customers.services import can_manage
from crm.customers.services import check_version
from crm.customers.services import flush
from crm.extensions import db
from crm.org.models import User

MergeHandler = Callable[[Customer, Customer, User], Any]
_handlers: list[tuple[str, MergeHandler]] = []


def register_merge_handler(name: str, handler: MergeHandler) -> None:
    if all(n != name for n, _h in _handlers):
        _handlers.append((name, handler))


def _move_children(source: Customer, target: Customer, actor: User) -> None:
    for model in (Contact, FollowUp):
        db.session.execute(update(model).where(model.customer_id == source.id).values(customer_id=target.id))
    db.session.execute(update(Lead).where(Lead.converted_customer_id == source.id)
                       .values(converted_customer_id=target.id))
    # Team members: keep the wider access of the two; the owners need no team row.
    target_rows = {r.user_id: r for r in db.session.scalars(
        select(CustomerTeamMember).where(CustomerTeamMember.customer_id == target.id))}
    for row in db.session.scalars(select(CustomerTeamMember).where(CustomerTeamMember.customer_id == source.id)):
        kept = target_rows.get(row.user_id)
        if row.user_id == target.owner_id or kept is not None:
            if kept is not None and row.access.value == "write":
                kept.access = row.access
            db.session.delete(row)
        else:
            row.customer_id = target.id
    if source.owner_id is not None and source.owner_id != target.owner_id and source.owner_id not in target_rows:
        db.session.add(CustomerTeamMember(store_id=target.store_id, customer_id=target.id, user_id=source.owner_id,
                                          access="write", added_by_id=actor.id))


def _move_history(source: Customer, target: Customer, actor: User) -> None:
    for object_type in ("customer",):
        db.session.execute(update(OperationLog).where(OperationLog.object_type == object_type,
                                                      OperationLog.object_id == source.id)
                           .values(object_id=target.id).execution_options(synchronize_session=False))


register_merge_handler("customers.children", _move_children)
register_merge_handler("customers.history", _move_history)


def merge(source: Customer, target: Customer, *, actor: User, source_version: Any = None,
          target_version: Any = None) -> Customer:
    """Merge `source` into `target` (both visible to the actor, same store). Empty profile fields of the
    target are filled from the source; tags are united; the flags keep the stronger value."""
    if not actor.can("customer.merge") or not can_manage(source, actor) or not can_manage(target, actor):
        raise PermissionDenied()
    if source.id == target.id:
        raise ValidationFailed({"source_id": _l("Choose two different customers.")})
    if source.store_id != target.store_id:
        raise ValidationFailed({"source_id": _l("Only customers of the same store can be merged.")})
    check_version(source, source_version)
    check_version(target, target_version)
    snapshot = {f: getattr(source, f) for f in PROFILE_FIELDS if getattr(source, f) not in (None, "", [])}
    snapshot = {k: (v.value if hasattr(v, "value") else v) for k, v in snapshot.items()}
    fill = {f: getattr(source, f) for f in PROFILE_FIELDS
            if getattr(target, f) in (None, "", []) and getattr(source, f) not in (None, "", [])}
    keys = {}
    if not target.mobile_norm and source.mobile_norm:
        keys["mobile_norm"] = source.mobile_norm
    if not target.chat_id_norm and source.chat_id_norm:
        keys["chat_id_norm"] = source.chat_id_norm
    # Free the source's unique keys before the target takes them.
    source.mobile_norm = None
    source.chat_id_norm = None
    flush()
    for _name, handler in list(_handlers):
        handler(source, target, actor)
    for key, value in {**fill, **keys}.items():
        setattr(target, key, value)
    target.tags = list(dict.fromkeys([*(target.tags or []), *(source.tags or [])]))[:10]
    target.locked = target.locked or source.locked
    target.won = target.won or source.won
    for column in ("last_follow_up_at", "last_deal_at"):
        values = [v for v in (getattr(target, column), getattr(source, column)) if v is not None]
        setattr(target, column, max(values) if values else None)
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
    flush()
    record_event(db.session, target, "merged", actor_id=actor.id,
                 note=str(_l("Merged with %(name)s (no. %(id)d)", name=source.name, id=source.id)),
                 details={"merged_customer_id": source.id, **{f"merged_{k}": v for k, v in snapshot.items()}})
    db.session.delete(source)
    flush()
    return target
