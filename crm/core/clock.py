"""The one clock seam. Everything that needs "now" calls `utcnow()`; tests move it with time-machine."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


# Days people type and read (a payment's date, "today" of a report) are days of the company's calendar.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    """Today in the company's calendar (Asia/Shanghai)."""
    return utcnow().astimezone(LOCAL_ZONE).date()


def local_day_start(day: date) -> datetime:
    """The UTC instant a day of the company's calendar starts (for "on or after this day" filters). The
    first and last days a date can hold (a filter of 0001-01-01) give the earliest and latest instants
    instead of overflowing."""
    try:
        return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if day.year == 1 else datetime.max.replace(tzinfo=UTC)


def local_day_end(day: date) -> datetime:
    """The UTC instant after the last moment of a day of the company's calendar (for "on or before this
    day" filters, as `< local_day_end(day)`)."""
    if day == date.max:
        return datetime.max.replace(tzinfo=UTC)
    return local_day_start(day + timedelta(days=1))


def local_day(instant: datetime | None) -> date | None:
    """The day of the company's calendar an instant falls on (None stays None)."""
    return instant.astimezone(LOCAL_ZONE).date() if instant is not None else None
