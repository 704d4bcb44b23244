"""Due dates of user tasks, from their element's `spiffworkflow:properties`, in working time
(`crm.core.workcalendar`: business hours, weekends, Chinese public holidays and make-up workdays):

- `due`: an ISO 8601 duration of working time from the moment the task opens (`PT4H`, `P1D`, `P1DT4H`),
  or an expression over the task data giving one — a duration text, a number of working hours, or a
  moment (an ISO date-time text or a datetime) —, e.g. `"PT4H" if urgent else "P2D"`;
- `remind`: how long before the due time the people on the task are reminded (a duration; `none`: never;
  absent: TASK_REMIND_BEFORE);
- `escalate_to`: role key(s), comma-separated: holders of the role in the task's store are told once the
  task is overdue by `escalate_after` (a duration; absent: TASK_ESCALATE_AFTER). The assignee's supervisor
  is told as soon as the task is overdue, before that.

The older `due_hours` (wall-clock hours) still works, with the same reminder and escalations. What a task will need later (lead, role, delay) is
kept on its row (`human_task.due_policy`), so the reminder job never loads the diagram."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app

from crm.core import workcalendar
from crm.core.clock import LOCAL_ZONE
from crm.core.workcalendar import CalendarError
from crm.core.workcalendar import Duration

NONE_WORDS = ("none", "off", "no", "false", "0")
PROPERTIES = ("due", "remind", "escalate_to", "escalate_after")


@dataclass
class Deadline:
    due_at: datetime | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    policy: dict[str, Any] | None = None  # {"remind_minutes", "escalate_to", "escalate_minutes"}


def literal_ok(name: str, value: str) -> bool:
    """Can a property's literal value be read (deployment)? `due` may be an expression (linted like any
    other); a value that looks like a duration must be a valid one; `remind` and `escalate_after` are
    durations or `none`."""
    text = (value or "").strip()
    if not text or (name in ("remind", "escalate_after") and text.lower() in NONE_WORDS):
        return True
    if name in ("remind", "escalate_after") or (name == "due" and workcalendar.looks_like_duration(text)):
        return _duration_problem(text) is None
    return True


def is_expression(value: str) -> bool:
    """Is a `due` value an expression over the task data (rather than a duration)?"""
    return bool(value.strip()) and not workcalendar.looks_like_duration(value)


def _duration_problem(text: str) -> str | None:
    try:
        workcalendar.parse_duration(text)
    except CalendarError as exc:
        return str(exc)
    return None


def _setting(name: str) -> Duration | None:
    value = str(current_app.config.get(name) or "").strip()
    if not value or value.lower() in NONE_WORDS:
        return None
    return workcalendar.parse_duration(value)


def default_lead(calendar: workcalendar.WorkCalendar) -> float:
    """TASK_REMIND_BEFORE in working minutes (a due date set by hand on a task whose element said nothing)."""
    lead = _setting("TASK_REMIND_BEFORE")
    return lead.working_minutes(calendar) if lead else 0


def _optional(props: dict[str, str], name: str, setting: str) -> Duration | None:
    value = (props.get(name) or "").strip()
    if not value:
        return _setting(setting)
    if value.lower() in NONE_WORDS:
        return None
    return workcalendar.parse_duration(value)


def due_from(value: Any, opened: datetime, calendar: workcalendar.WorkCalendar) -> datetime | None:
    """The due moment a `due` value (a duration text, working hours, a moment) gives for a task opened at
    `opened`; None for nothing (None, "", "none")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return calendar.add(opened, Duration(minutes=float(value) * 60)) if value > 0 else None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=LOCAL_ZONE)).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, calendar.windows[-1][1], LOCAL_ZONE).astimezone(UTC)
    text = str(value).strip()
    if not text or text.lower() in NONE_WORDS:
        return None
    if workcalendar.looks_like_duration(text):
        return calendar.add(opened, workcalendar.parse_duration(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CalendarError(f"{text!r} is neither a duration (PT4H, P2D) nor a date and time") from exc
    return due_from(moment, opened, calendar)


def deadline(props: dict[str, str], evaluate: Any, opened: datetime) -> Deadline:
    """The due, reminder and first escalation times of a task opening at `opened` with these properties.
    `evaluate(expression)` evaluates an expression over the task's data. A value that cannot be read gives
    no due date (deployment refuses what it can see; data may still surprise), never a failed step."""
    raw = (props.get("due") or "").strip()
    hours = props.get("due_hours")
    if not raw and hours in (None, ""):
        return Deadline()
    calendar = workcalendar.current()
    try:
        if raw:
            due_at = due_from(evaluate(raw) if is_expression(raw) else raw, opened, calendar)
        else:  # the older property: wall-clock hours
            due_at = opened + timedelta(hours=float(hours or 0)) if float(hours or 0) > 0 else None
        lead = _optional(props, "remind", "TASK_REMIND_BEFORE")
        delay = _optional(props, "escalate_after", "TASK_ESCALATE_AFTER")
    except Exception:  # noqa: BLE001 — a diagram's expression or a surprising value: no due date
        return Deadline()
    if due_at is None:
        return Deadline()
    lead_minutes = lead.working_minutes(calendar) if lead else 0
    remind_at = calendar.subtract(due_at, lead) if lead is not None and lead_minutes > 0 else None
    if remind_at is not None and remind_at <= opened:
        remind_at = None  # no time to be reminded in: the due date itself is the news
    roles = [r.strip() for r in (props.get("escalate_to") or "").split(",") if r.strip()]
    policy = {"remind_minutes": lead_minutes, "escalate_to": roles,
              "escalate_minutes": delay.working_minutes(calendar) if delay else 0}
    return Deadline(due_at=due_at, remind_at=remind_at, escalate_at=due_at, policy=policy)
