"""The input and output schemas of make-ups. The request form of the order page and `POST
/api/v1/orders/{id}/make-ups` load the same `MakeUpInputSchema`; the decision is the approval queue's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.clock import local_today
from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.finance.makeups.models import MAX_AMOUNT
from crm.finance.makeups.models import MakeUpKind
from crm.finance.makeups.models import MakeUpStatus

KINDS = [k.value for k in MakeUpKind]
STATUSES = [s.value for s in MakeUpStatus]
MONEY = {"type": "string", "example": "120.00", "description": "RMB with at most 2 decimals (\"1,280.50\" is fine)."}


# At most ¥9,999,999.99 in the document (stricter than MAX_AMOUNT, which a pattern cannot state exactly).
MAKE_UP_PATTERN = r"^([1-9]\d{0,6}(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$"


def _amount(raw: Any) -> Decimal:
    value = raising(check_money, minimum=Decimal("0.01"))(raw)
    if value > MAX_AMOUNT:
        raise ma.ValidationError(str(_l("A make-up is at most ¥%(max)s.", max=f"{MAX_AMOUNT:,.2f}")))
    return value


def _kind(raw: Any) -> MakeUpKind:
    try:
        return MakeUpKind(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose what the make-up is for."))) from None


def _due_on(raw: Any) -> date | None:
    day = parse_day(raw)
    if day is not None and day < local_today():
        raise ma.ValidationError(str(_l("The due date cannot be in the past.")))
    return day


class MakeUpInputSchema(EveryField):
    """What the requester types for a make-up."""

    amount = Parsed(_amount, required=True, metadata={**MONEY, "pattern": MAKE_UP_PATTERN, "description": "The extra amount the order owes (at most ¥10,000,000)."})
    kind = Parsed(_kind, required=True, metadata={"type": "string", "enum": KINDS})
    reason = Parsed(raising(check_text, max_length=500),
                    metadata={"type": "string", "description": "Why the customer owes it (the approvers read it)."})
    due_on = Parsed(_due_on, metadata={"type": "string", "format": "date",
                                       "description": "When the customer should pay it by (optional)."})


class MakeUpSchema(ma.Schema):
    id = fields.Int()
    order_id = fields.Int()
    customer_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The order's salesperson."})
    amount = fields.Decimal(as_string=True, places=2)
    kind = fields.Enum(MakeUpKind, by_value=True)
    reason = fields.Str()
    due_on = fields.Date(allow_none=True)
    status = fields.Enum(MakeUpStatus, by_value=True)
    decision_note = fields.Str(allow_none=True, metadata={"description": "The approver's reason for a rejection."})
    requested_by_id = fields.Int(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True, metadata={"description": "Approved, rejected or withdrawn."})
    instance_id = fields.Int(allow_none=True, metadata={"description": "Its `make_up` process instance."})


class MakeUpQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    kind = fields.Str(load_default=None, validate=validate.OneOf(KINDS))
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1),
                          metadata={"description": "The salesperson."})
    order_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    date_from = fields.Date(load_default=None, metadata={"description": "Requested on or after (Asia/Shanghai)."})
    date_to = fields.Date(load_default=None, metadata={"description": "Requested on or before."})
