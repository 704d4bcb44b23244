"""The inputs of work tasks: the task form and `POST/PATCH /api/v1/work/tasks` load `TaskInput`; a
subtask, a comment and a tag have theirs. What needs the database or the actor (who may be arranged
for, the related record, the store's tags) is the service's to check."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.work.tasks.models import PRIORITY_NAMES
from crm.work.tasks.models import RELATED_TYPES
from crm.work.tasks.models import Priority
from crm.work.tasks.models import Recurrence

MAX_PEOPLE = 50
MAX_REMIND_MINUTES = 60 * 24 * 30


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _ids(raw: Any) -> list[int]:
    """Ids as a list (JSON), a form's repeated field or comma-separated text; blank is none."""
    if _blank(raw):
        return []
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    out: list[int] = []
    for item in items:
        if _blank(item):
            continue
        value = as_id(item) if not isinstance(item, bool) else 0
        if not value:
            raise ma.ValidationError(str(_l("Choose from the list.")))
        if value not in out:
            out.append(value)
    if len(out) > MAX_PEOPLE:
        raise ma.ValidationError(str(_l("Choose at most %(n)d.", n=MAX_PEOPLE)))
    return out


def _priority(raw: Any) -> Priority:
    if _blank(raw):
        return Priority.NONE
    value = PRIORITY_NAMES.get(str(raw).strip().lower()) if isinstance(raw, str) else None
    if value is None:
        raise ma.ValidationError(str(_l("Choose high, medium, low or none.")))
    return value


def _time(raw: Any) -> time | None:
    if _blank(raw):
        return None
    text = str(raw).strip() if isinstance(raw, str) else ""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)(?::00)?", text)
    if not match:
        raise ma.ValidationError(str(_l("Enter a time such as 09:30.")))
    return time(int(match.group(1)), int(match.group(2)))


def _minutes(raw: Any) -> int | None:
    if _blank(raw):
        return None
    try:
        value = int(str(raw).strip()) if isinstance(raw, int | str) and not isinstance(raw, bool) else -1
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_REMIND_MINUTES:
        raise ma.ValidationError(str(_l("Enter a number of minutes from 1 to %(n)d.", n=MAX_REMIND_MINUTES)))
    return value


def _recurrence(raw: Any) -> Recurrence | None:
    if _blank(raw):
        return None
    try:
        return Recurrence(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose daily, weekly or monthly."))) from None


def _object_type(raw: Any) -> str | None:
    if _blank(raw):
        return None
    if raw not in RELATED_TYPES:
        raise ma.ValidationError(str(_l("Choose a customer, contact, opportunity, quote or order.")))
    return str(raw)


def _object_id(raw: Any) -> int | None:
    if _blank(raw):
        return None
    value = as_id(raw) if not isinstance(raw, bool) else 0
    if not value:
        raise ma.ValidationError(str(_l("Enter the record's number.")))
    return value


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw or "").strip().lower() in ("1", "true", "on", "yes", "y")


def _day(raw: Any) -> Any:
    if isinstance(raw, bool):
        raise ma.ValidationError(str(_l("Enter a date such as 2026-12-07.")))
    return parse_day(raw)


IDS = {"type": "array", "items": {"type": "integer"}}


class TaskInput(EveryField):
    """A new task or the edit of one. `assignee_ids` (managers with `work.task.arrange`): the people
    the work is arranged for, each with their own task, or one task shared by them when `shared` (the
    first is its owner, the others participants); blank: a personal task of the caller."""

    class Meta:
        unknown = ma.EXCLUDE

    title = Parsed(raising(check_text, max_length=200), metadata={"type": "string", "maxLength": 200})
    description = Parsed(optional_text(5000), metadata={"type": "string", "nullable": True})
    priority = Parsed(_priority, metadata={"type": "string", "enum": list(PRIORITY_NAMES)})
    due_on = Parsed(_day, metadata={"type": "string", "format": "date", "nullable": True})
    due_time = Parsed(_time, metadata={"type": "string", "example": "17:30", "nullable": True,
                                       "description": "Time of day (Asia/Shanghai); blank: the whole day."})
    remind_minutes = Parsed(_minutes, metadata={"type": "integer", "nullable": True,
                                                "description": "Remind this many minutes before the due time."})
    recurrence = Parsed(_recurrence, metadata={"type": "string", "enum": [r.value for r in Recurrence],
                                               "nullable": True})
    assignee_ids = Parsed(_ids, metadata=IDS)
    shared = Parsed(_flag, metadata={"type": "boolean"})
    participant_ids = Parsed(_ids, metadata=IDS)
    tag_ids = Parsed(_ids, metadata=IDS)
    object_type = Parsed(_object_type, metadata={"type": "string", "enum": list(RELATED_TYPES), "nullable": True})
    object_id = Parsed(_object_id, metadata={"type": "integer", "nullable": True})

    @ma.validates_schema(skip_on_field_errors=False)
    def _together(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors: dict[str, str] = {}
        if data.get("due_on") is None:
            for name in ("due_time", "remind_minutes", "recurrence"):
                if data.get(name) is not None:
                    errors[name] = str(_l("Enter the due date first."))
        if (data.get("object_type") is None) != (data.get("object_id") is None) and "object_type" in data \
                and "object_id" in data:
            errors["object_id" if data.get("object_type") else "object_type"] = str(
                _l("Choose both the kind of record and its number."))
        if errors:
            raise ma.ValidationError(errors)


class SubtaskInput(EveryField):
    class Meta:
        unknown = ma.EXCLUDE

    title = Parsed(raising(check_text, max_length=200), metadata={"type": "string", "maxLength": 200})


class CommentInput(EveryField):
    """A comment; `@Name` in the text, or `mention_ids`, tells those people (only those who may see the
    task and its related record)."""

    class Meta:
        unknown = ma.EXCLUDE

    body = Parsed(raising(check_text, max_length=2000), metadata={"type": "string", "maxLength": 2000})
    mention_ids = Parsed(_ids, metadata=IDS)


class TagInput(EveryField):
    class Meta:
        unknown = ma.EXCLUDE

    name = Parsed(raising(check_text, max_length=40), metadata={"type": "string", "maxLength": 40})
    store_id = Parsed(_object_id, metadata={"type": "integer", "nullable": True,
                                            "description": "Blank: the caller's store."})


# Output ---------------------------------------------------------------------------------------------------
class SubtaskSchema(ma.Schema):
    id = fields.Int()
    title = fields.Str()
    done = fields.Bool()


class WorkTaskSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Constant("work")
    title = fields.Str()
    description = fields.Str(allow_none=True)
    priority = fields.Str(attribute="priority_name")
    status = fields.Str()
    store_id = fields.Int(allow_none=True)
    owner_id = fields.Int()
    created_by_id = fields.Int(allow_none=True)
    arranged = fields.Bool()
    due_on = fields.Date(allow_none=True)
    due_time = fields.Time(allow_none=True, format="%H:%M")
    due_at = fields.DateTime(allow_none=True)
    remind_minutes = fields.Int(allow_none=True)
    recurrence = fields.Str(allow_none=True)
    object_type = fields.Str(allow_none=True)
    object_id = fields.Int(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class WorkTaskDetailSchema(WorkTaskSchema):
    participant_ids = fields.List(fields.Int())
    tags = fields.List(fields.Dict())
    subtasks = fields.List(fields.Nested(SubtaskSchema))
    comments = fields.List(fields.Dict())
    attachments = fields.List(fields.Dict())
