"""The inputs of work reports: the report form and `POST /api/v1/work/reports` load `ReportInput`; a
comment has its own. Who may receive a report (active colleagues of the author's store) is the service's
to check."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.work.reports.models import FIGURE_LABELS
from crm.work.reports.models import ReportKind
from crm.work.tasks.schemas import IDS
from crm.work.tasks.schemas import _ids

MAX_TEXT = 5000


def _kind(raw: Any) -> ReportKind:
    try:
        return ReportKind(raw if isinstance(raw, str) else "")
    except ValueError:
        raise ma.ValidationError(str(_l("Choose daily, weekly or monthly."))) from None


def _day(raw: Any) -> Any:
    if isinstance(raw, bool):
        raise ma.ValidationError(str(_l("Enter a date such as 2026-12-07.")))
    day = parse_day(raw)
    if day is None:
        raise ma.ValidationError(str(_l("Enter the day the report is for.")))
    return day


class ReportInput(EveryField):
    """A report: its kind, a day of its period (the week or month that holds it), the four texts (at least
    one filled in) and the colleagues it goes to besides the supervisor."""

    class Meta:
        unknown = ma.EXCLUDE

    kind = Parsed(_kind, metadata={"type": "string", "enum": [k.value for k in ReportKind]})
    day = Parsed(_day, metadata={"type": "string", "format": "date",
                                 "description": "A day of the period: the day, or any day of the week or month."})
    done = Parsed(optional_text(MAX_TEXT), metadata={"type": "string", "nullable": True, "description": "What was done."})
    plan = Parsed(optional_text(MAX_TEXT), metadata={"type": "string", "nullable": True, "description": "The plan."})
    problems = Parsed(optional_text(MAX_TEXT), metadata={"type": "string", "nullable": True})
    notes = Parsed(optional_text(MAX_TEXT), metadata={"type": "string", "nullable": True, "description": "Free text."})
    recipient_ids = Parsed(_ids, metadata={**IDS, "description": "Colleagues it goes to besides the supervisor."})

    @ma.validates_schema(skip_on_field_errors=False)
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        names = ("done", "plan", "problems", "notes")
        if all(name in data for name in names) and not any(data[name] for name in names):  # none refused, all blank
            raise ma.ValidationError({"done": str(_l("Write what was done, the plan, the problems or a note."))})


class ReportCommentInput(EveryField):
    class Meta:
        unknown = ma.EXCLUDE

    body = Parsed(raising(check_text, max_length=2000), metadata={"type": "string", "maxLength": 2000})


# Output ---------------------------------------------------------------------------------------------------
class FiguresSchema(ma.Schema):
    follow_ups = fields.Int()
    new_customers = fields.Int()
    quotes = fields.Int()
    orders_signed = fields.Int()
    orders_amount = fields.Str(metadata={"description": "RMB, two decimals."})
    tasks_completed = fields.Int()


assert set(FiguresSchema().fields) == set(FIGURE_LABELS)


class PersonSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()


class RecipientSchema(PersonSchema):
    read_at = fields.DateTime(allow_none=True)


class ReportCommentSchema(ma.Schema):
    id = fields.Int()
    author = fields.Nested(PersonSchema, allow_none=True)
    body = fields.Str()
    created_at = fields.DateTime()


class ReportSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str()
    period_start = fields.Date()
    period_end = fields.Date()
    author = fields.Nested(PersonSchema)
    store_id = fields.Int(allow_none=True)
    done = fields.Str(allow_none=True)
    plan = fields.Str(allow_none=True)
    problems = fields.Str(allow_none=True)
    notes = fields.Str(allow_none=True)
    figures = fields.Nested(FiguresSchema)
    submitted_at = fields.DateTime()
    read = fields.Bool(allow_none=True, metadata={"description": "Whether you read it (null: not sent to you)."})


class ReportDetailSchema(ReportSchema):
    recipients = fields.List(fields.Nested(RecipientSchema), metadata={"description": "With their read receipts."})
    comments = fields.List(fields.Nested(ReportCommentSchema))
