"""Follow-ups (跟进记录): recording one moves the customer's follow-up status and tells the workflow
(`follow_up_recorded`, which the high-seas claim process waits for) in the same transaction. The reminder
at the next-contact time is a signal (`crm.core.signals.follow_up_due`) sent once per follow-up by the
`customers.follow_up_reminders` job; the notify context subscribes to it."""

from __future__ import annotations

from datetime import datetime
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import files
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.signals import follow_up_due
from crm.core.validation import check_text
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.customers.models import FollowUpKind
from crm.customers.services import check_edit
from crm.customers.services import flush
from crm.customers.services import parse_expiry
from crm.customers.services import touch_follow_up
from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime

MAX_FILES = 5
FOLLOW_UP_RECORDED = "follow_up_recorded"


def _store_file(filename: Any, stream: IO[bytes]) -> dict[str, Any]:
    stored = files.store_upload(filename, stream, error_field="attachments", folder="customers")
    return {"name": stored.name, "stored": stored.relative, "size": stored.size, "type": stored.content_type}


def record_follow_up(customer: Customer, data: dict[str, Any], *, actor: User,
                     files: list[tuple[Any, IO[bytes]]] | None = None) -> FollowUp:
    check_edit(customer, actor)
    errors: dict[str, str] = {}
    kind = None
    try:
        kind = FollowUpKind(str(data.get("kind") or ""))
    except ValueError:
        errors["kind"] = str(_l("Choose how you were in touch."))
    content = check_text(data.get("content"), errors, "content", max_length=5000)
    next_at: datetime | None = None
    try:
        next_at = parse_expiry(data.get("next_contact_at"), "next_contact_at")
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in exc.errors.items()})
    files = [f for f in (files or []) if f[0]]
    if len(files) > MAX_FILES:
        errors["attachments"] = str(_l("Attach at most %(n)d files.", n=MAX_FILES))
    if errors:
        raise ValidationFailed(errors)
    stored = [_store_file(name, stream) for name, stream in files]
    now = utcnow()
    # An open reminder of this customer for the same person is answered by this follow-up.
    for older in db.session.scalars(select(FollowUp).where(
            FollowUp.customer_id == customer.id, FollowUp.author_id == actor.id,
            FollowUp.reminder_sent_at.is_(None), FollowUp.next_contact_at.is_not(None))):
        older.reminder_sent_at = now
    follow_up = FollowUp(store_id=customer.store_id, customer_id=customer.id, author_id=actor.id, kind=kind,
                         content=content, occurred_at=now, next_contact_at=next_at, attachments=stored)
    db.session.add(follow_up)
    flush()
    touch_follow_up(customer, now, next_at)
    record_event(db.session, customer, "follow_up_recorded", actor_id=actor.id, note=content[:300],
                 details={"kind": kind.value if kind else None, "next_contact_at": next_at})
    runtime.send_message(FOLLOW_UP_RECORDED, "customer", customer.id,
                         {"follow_up_id": follow_up.id, "kind": kind.value if kind else None,
                          "author_id": actor.id},
                         actor_id=actor.id, store_id=customer.store_id, broadcast=True)
    return follow_up


def follow_ups(customer: Customer, limit: int = 200) -> list[FollowUp]:
    return list(db.session.scalars(select(FollowUp).where(FollowUp.customer_id == customer.id)
                                   .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc()).limit(limit)))


def get_attachment(customer: Customer, follow_up_id: Any, index: Any) -> tuple[dict[str, Any], Any]:
    try:
        key, pos = int(follow_up_id), int(index)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = db.session.get(FollowUp, key) if 0 < key < 2**31 else None
    if row is None or row.customer_id != customer.id or not 0 <= pos < len(row.attachments or []):
        raise NotFound()
    item = row.attachments[pos]
    return item, files.stored_path(item["stored"])


def send_due_reminders(limit: int = 500) -> int:
    """The `customers.follow_up_reminders` job: every follow-up whose next-contact time has come and whose
    reminder has not gone out gets exactly one `follow_up_due` signal (rows taken with SKIP LOCKED, so
    several scheduler processes never send one twice)."""
    now = utcnow()
    stmt = (select(FollowUp).where(FollowUp.reminder_sent_at.is_(None), FollowUp.next_contact_at.is_not(None),
                                   FollowUp.next_contact_at <= now)
            .order_by(FollowUp.next_contact_at, FollowUp.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    sent = 0
    for row in db.session.scalars(stmt).all():
        row.reminder_sent_at = now
        db.session.flush()
        follow_up_due.send(None, follow_up_id=row.id, customer_id=row.customer_id, store_id=row.store_id,
                           user_id=row.author_id, due_at=row.next_contact_at, customer_name=row.customer.name)
        sent += 1
    return sent
