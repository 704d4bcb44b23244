"""The company's working calendar: business hours and days, for due dates counted in working time.

A working day is a weekday of WORK_WEEK (ISO numbers, 1 = Monday) that is not in WORK_HOLIDAYS, or a day
of WORK_MAKEUP_DAYS (调休: a weekend day worked in exchange for a bridge holiday). Its working time is the
windows of WORK_HOURS ("09:00-12:00", "13:00-18:00"), in the company's zone (Asia/Shanghai).

Durations are ISO 8601 without years and months (`PT4H`, `P2D`, `P1DT4H`, `PT90M`, `P1W` = 5 days): an
hour is a working hour, a day is a working day's length of working time (8 h with the default windows),
so a task opened at 10:00 on a Friday with `P1D` is due at 10:00 on the next working day, and one opened
at 20:00 is due at the end of the next working day."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from crm.core.clock import LOCAL_ZONE

# The State Council's arrangement for 2026 (published in November 2025): days off and the weekend days worked.
# For 2027 the statutory holidays themselves (全国年节及纪念日放假办法); the make-up days of the 2027
# arrangement are added to WORK_HOLIDAYS / WORK_MAKEUP_DAYS when it is published (docs/operators.md).
CN_HOLIDAYS = [
    "2026-01-01/2026-01-03", "2026-02-15/2026-02-23", "2026-04-04/2026-04-06", "2026-05-01/2026-05-05",
    "2026-06-19/2026-06-21", "2026-09-25/2026-09-27", "2026-10-01/2026-10-07",
    "2027-01-01", "2027-02-05/2027-02-08", "2027-04-05", "2027-05-01/2027-05-02", "2027-06-09",
    "2027-09-15", "2027-10-01/2027-10-03",
]
CN_MAKEUP_DAYS = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_MAX_DAYS = 3 * 366  # a walk through the calendar stops here: a calendar without working time never ends


class CalendarError(ValueError):
    """A duration or a calendar setting that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Duration:
    """An amount of working time: whole working days plus working minutes."""

    days: float = 0
    minutes: float = 0

    def working_minutes(self, calendar: WorkCalendar) -> float:
        return self.days * calendar.day_minutes + self.minutes


def looks_like_duration(text: str) -> bool:
    """Text that is meant as an ISO duration (starts with P and a digit or T), valid or not."""
    text = text.strip().upper()
    return len(text) > 1 and text[0] == "P" and (text[1].isdigit() or text[1] == "T")


def parse_duration(text: str) -> Duration:
    """`PT4H`, `P2D`, `P1DT2H30M`, `P1W` as working time; years and months are refused (a month of working
    days is not a fixed amount); raises CalendarError naming the text."""
    value = text.strip().upper()
    found = _DURATION.match(value)
    if not found or value in ("P", "PT") or value.endswith("T"):
        if re.match(r"^P\d+(\.\d+)?[YM]", value):
            raise CalendarError(f"{text!r}: years and months are not working time; write days (P20D) or hours")
        raise CalendarError(f"{text!r} is not an ISO 8601 duration such as PT4H, P2D or P1DT4H")
    part = {k: float(v) if v else 0.0 for k, v in found.groupdict().items()}
    return Duration(days=part["weeks"] * 5 + part["days"],
                    minutes=part["hours"] * 60 + part["minutes"] + part["seconds"] / 60)


def _clock(text: str) -> time:
    hour, _, minute = text.strip().partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) <= 24 and int(minute) < 60):
        raise CalendarError(f"{text!r} is not a time of day such as 09:00")
    return time.max if int(hour) == 24 else time(int(hour), int(minute))


def _days(items: Iterable[Any], setting: str) -> frozenset[date]:
    out: set[date] = set()
    for item in items or []:
        first, _, last = str(item).strip().partition("/")
        try:
            start = date.fromisoformat(first)
            end = date.fromisoformat(last) if last else start
        except ValueError as exc:
            raise CalendarError(f"{setting}: {item!r} is not a day (2026-10-01) or a range (2026-10-01/2026-10-07)") from exc
        if end < start or (end - start).days > 366:
            raise CalendarError(f"{setting}: the range {item!r} is backwards or longer than a year")
        out.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return frozenset(out)


@dataclass(frozen=True)
class WorkCalendar:
    windows: tuple[tuple[time, time], ...]
    weekdays: frozenset[int]
    holidays: frozenset[date]
    makeup_days: frozenset[date]

    @property
    def day_minutes(self) -> float:
        return sum(_minutes(a, b) for a, b in self.windows)

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, a, LOCAL_ZONE), _end(day, b)) for a, b in self.windows]

    def add(self, start: datetime, duration: Duration) -> datetime:
        """The instant `duration` of working time after `start` (aware, UTC)."""
        remaining = duration.working_minutes(self)
        moment = start.astimezone(LOCAL_ZONE)
        if remaining <= 0:
            return start.astimezone(UTC)
        day = moment.date()
        for _ in range(_MAX_DAYS):
            for begin, end in self._spans(day):
                if moment >= end:
                    continue
                begin = max(moment, begin)
                available = (end - begin).total_seconds() / 60
                if remaining <= available:
                    return (begin + timedelta(minutes=remaining)).astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
            moment = datetime.combine(day, time.min, LOCAL_ZONE)
        raise CalendarError("the working calendar has no working time (WORK_HOURS, WORK_WEEK, WORK_HOLIDAYS)")

    def subtract(self, end: datetime, duration: Duration) -> datetime:
        """The instant `duration` of working time before `end` (aware, UTC)."""
        remaining = duration.working_minutes(self)
        moment = end.astimezone(LOCAL_ZONE)
        if remaining <= 0:
            return end.astimezone(UTC)
        day = moment.date()
        for _ in range(_MAX_DAYS):
            for begin, finish in reversed(self._spans(day)):
                if moment <= begin:
                    continue
                finish = min(moment, finish)
                available = (finish - begin).total_seconds() / 60
                if remaining <= available:
                    return (finish - timedelta(minutes=remaining)).astimezone(UTC)
                remaining -= available
            moment = datetime.combine(day, time.min, LOCAL_ZONE)
            day -= timedelta(days=1)
        raise CalendarError("the working calendar has no working time (WORK_HOURS, WORK_WEEK, WORK_HOLIDAYS)")


def _minutes(a: time, b: time) -> float:
    day = date(2000, 1, 3)
    return (_end(day, b) - datetime.combine(day, a, LOCAL_ZONE)).total_seconds() / 60


def _end(day: date, b: time) -> datetime:
    """A window's end; 24:00 is the next midnight."""
    if b == time.max:
        return datetime.combine(day + timedelta(days=1), time.min, LOCAL_ZONE)
    return datetime.combine(day, b, LOCAL_ZONE)


def build(hours: Iterable[str], week: Iterable[Any], holidays: Iterable[Any], makeup_days: Iterable[Any]) -> WorkCalendar:
    """A calendar from the settings' values; CalendarError names the setting that is wrong."""
    windows: list[tuple[time, time]] = []
    for item in hours:
        first, sep, last = str(item).partition("-")
        if not sep:
            raise CalendarError(f"WORK_HOURS: {item!r} is not a window such as 09:00-12:00")
        try:
            a, b = _clock(first), _clock(last)
        except CalendarError as exc:
            raise CalendarError(f"WORK_HOURS: {exc}") from exc
        if b <= a:
            raise CalendarError(f"WORK_HOURS: the window {item!r} ends before it starts")
        if windows and a < windows[-1][1]:
            raise CalendarError(f"WORK_HOURS: the windows must be in order and must not overlap ({item!r})")
        windows.append((a, b))
    if not windows:
        raise CalendarError("WORK_HOURS: at least one window of working time, such as 09:00-18:00")
    try:
        weekdays = frozenset(int(d) for d in week)
    except (TypeError, ValueError):
        weekdays = frozenset()
    if not weekdays or not weekdays <= set(range(1, 8)):
        raise CalendarError("WORK_WEEK: ISO weekday numbers, 1 (Monday) to 7 (Sunday)")
    return WorkCalendar(tuple(windows), weekdays, _days(holidays, "WORK_HOLIDAYS"), _days(makeup_days, "WORK_MAKEUP_DAYS"))


@lru_cache(maxsize=8)
def _cached(hours: tuple[str, ...], week: tuple[Any, ...], holidays: tuple[Any, ...], makeup: tuple[Any, ...]) -> WorkCalendar:
    return build(hours, week, holidays, makeup)


def from_config(config: Any) -> WorkCalendar:
    """The calendar the app's settings describe (built once per distinct settings)."""
    return _cached(tuple(config.get("WORK_HOURS") or ()), tuple(config.get("WORK_WEEK") or ()),
                   tuple(config.get("WORK_HOLIDAYS") or ()), tuple(config.get("WORK_MAKEUP_DAYS") or ()))


def current() -> WorkCalendar:
    """The running app's calendar."""
    from flask import current_app

    return from_config(current_app.config)
