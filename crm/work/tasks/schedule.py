"""When a work task is due and when its series comes round again: days and times of the company's
calendar (Asia/Shanghai), stored as UTC moments."""

from __future__ import annotations

import calendar
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from crm.core.clock import LOCAL_ZONE
from crm.work.tasks.models import Recurrence

END_OF_DAY = time(23, 59, 59)


def due_moment(due_on: date | None, due_time: time | None) -> datetime | None:
    """The due day and time as a UTC moment; a day without time counts until its last second."""
    if due_on is None:
        return None
    return datetime.combine(due_on, due_time or END_OF_DAY, tzinfo=LOCAL_ZONE).astimezone(UTC)


def _add_month(day: date, anchor_day: int) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def next_occurrence(after: date, recurrence: Recurrence, anchor_day: int, today: date) -> date:
    """The series' first day after `after` that is not before `today` (an occurrence left for weeks is
    followed by one still ahead, not by a catch-up of every day missed)."""
    if recurrence == Recurrence.DAILY:
        return max(after + timedelta(days=1), today)
    if recurrence == Recurrence.WEEKLY:
        day = after + timedelta(days=7)
        if day < today:
            day += timedelta(days=7 * -(-(today - day).days // 7))
        return day
    day = _add_month(after, anchor_day)
    while day < today:
        day = _add_month(day, anchor_day)
    return day
