"""The one clock seam. Everything that needs "now" calls `utcnow()`; tests move it with time-machine."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)
