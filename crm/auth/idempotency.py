"""Idempotent API writes: the first answer to a user's `Idempotency-Key`, kept 24 hours.

`claim` inserts the key's row first in the write's own transaction (so the key and the write commit or
roll back together). A concurrent request with the same key waits on the unique index until the first
one's transaction ends: if it committed, the insert fails and the stored answer is replayed; if it rolled
back (a refused write), the key is free and the retry runs. What is kept follows Stripe's rule
(`ApiBlueprint.idempotent`): a success, and a refusal that kept what it did (a failed process step recorded
on its instance), are the key's answer, replayed; a refusal that changed nothing (validation 422, 403, 404,
409) rolls back with the key, so the same key and request may be sent again and run afresh. A different
request with a key already used is refused, as is a key whose request committed without an answer (a
streamed file, which is never stored)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.auth.models import IdempotencyKey
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import ValidationFailed
from crm.extensions import db

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
KEY_MAX = 200


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
                             .execution_options(populate_existing=True))


def claim(user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """(the key's row, True when it holds an earlier answer to replay). A new key's row is inserted now,
    without an answer yet (`record` adds it)."""
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise ValidationFailed({HEADER: _l("Send a key of 1 to %(n)d printable characters.", n=KEY_MAX)})
    existing = _stored(user_id, key)
    if existing is not None and existing.created_at < utcnow() - KEEP:  # expired: the key starts afresh
        db.session.delete(existing)
        db.session.flush()
        existing = None
    if existing is None:
        row = IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # a concurrent request with this key committed first
            existing = _stored(user_id, key)
            if existing is None:  # pragma: no cover - it was deleted meanwhile (expired)
                raise Conflict() from None
        else:
            return row, False
    if existing.fingerprint != fingerprint:
        raise ValidationFailed({HEADER: _l("This key was used for a different request; send a new key.")})
    if existing.status_code is None:
        raise Conflict(_l("The request with this key did not complete; send it with a new key."))
    return existing, True


def record(row: IdempotencyKey, status_code: int, content_type: str | None, body: str) -> None:
    """The answer of the key's first request, committed with its write."""
    row.status_code = status_code
    row.content_type = (content_type or "")[:100] or None
    row.body = body
    db.session.flush()

