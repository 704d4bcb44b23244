"""Housekeeping of log-in throttling and of idempotency keys."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import or_

from crm.auth.idempotency import KEEP
from crm.auth.models import IdempotencyKey
from crm.auth.models import LoginThrottle
from crm.core.clock import utcnow
from crm.extensions import db


def purge_login_throttle() -> int:
    """Forget failure counters older than a day (or without a failure: rows of client addresses that
    only signed in) whose lock (if any) has expired."""
    now = utcnow()
    result = db.session.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < now - timedelta(days=1)),
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    return result.rowcount or 0


def purge_idempotency_keys() -> int:
    """Forget the idempotency keys older than 24 hours (their answers are no longer replayed)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - KEEP))
    return result.rowcount or 0
