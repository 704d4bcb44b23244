"""The kanban's scheduled job (registered by its wiring)."""

from __future__ import annotations

from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.dashboard.kanban import digest

DIGEST_HOUR = 8  # local time the digests go out (Asia/Shanghai); a later run the same day catches up


def send_digests() -> int:
    """Every few minutes: once DIGEST_HOUR has come, send the day's digests (each at most once a day)."""
    if utcnow().astimezone(LOCAL_ZONE).hour < DIGEST_HOUR:
        return 0
    return digest.send_digests()
