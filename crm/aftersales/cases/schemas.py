"""The input and output schemas of after-sales cases. The case form of the order page and `POST
/api/v1/orders/{id}/after-sales` load the same `CaseInputSchema`; the steps are inbox tasks with their
JSON-Schema forms (forms/after_sales.*.schema.json), and the photos' upload is `PhotoUploadSchema`-free
(files only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.aftersales.cases.models import MAX_AMOUNT
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import raising

TYPES = [t.value for t in CaseType]
STATUSES = [s.value for s in CaseStatus]
MONEY = {"type": "string", "example": "120.00", "description": "RMB with at most 2 decimals (\"1,280.50\" is fine)."}
MAX_QUANTITY = 1_000_000


def _type(raw: Any) -> CaseType:
    try:
        return CaseType(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose the kind of after-sales case."))) from None


def _amount(raw: Any) -> Decimal:
    """Blank is 0 (an exchange or a reissue refunds nothing); the service says when a refund needs one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal("0.00")
    value = raising(check_money, minimum=Decimal("0.00"))(raw)
    if value > MAX_AMOUNT:
        raise ma.ValidationError(str(_l("An after-sales amount is at most ¥%(max)s.", max=f"{MAX_AMOUNT:,.2f}")))
    return value


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw or "").strip().lower() in ("1", "true", "on", "yes", "y")


def _line_id(raw: Any) -> int:
    value = as_id(raw)
    if not value:
        raise ma.ValidationError(str(_l("Choose a line of the order.")))
    return value


def _quantity(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ma.ValidationError(str(_l("Enter a whole number.")))
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ma.ValidationError(str(_l("Enter a whole number."))) from None
    if value < 1 or value > MAX_QUANTITY:
        raise ma.ValidationError(str(_l("Enter a quantity of at least 1.")))
    return value


class CaseLineInputSchema(EveryField):
    order_line_id = Parsed(_line_id, required=True, metadata={"type": "integer", "minimum": 1,
                                                              "description": "A line of the order."})
    quantity = Parsed(_quantity, required=True, metadata={"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY,
                                                          "description": "How many to return or ship again."})
    note = Parsed(optional_text(500), metadata={"type": "string", "description": "What is wrong with them (optional)."})


class CaseInputSchema(EveryField):
    """What the requester types for a case."""

    type = Parsed(_type, required=True, metadata={"type": "string", "enum": TYPES})
    reason = Parsed(raising(check_text, max_length=500),
                    metadata={"type": "string", "description": "Why (the approvers read it)."})
    amount = Parsed(_amount, metadata={**MONEY, "pattern": r"^(0|[1-9]\d{0,6})(\.\d{1,2})?$", "nullable": True,
                                       "description": "The amount to refund (return and refund, refund "
                                                               "only); 0 or omitted otherwise."})
    invoice_reissue = Parsed(_flag, metadata={"type": "boolean",
                                              "description": "Whether the order's invoice must be issued again."})
    lines = fields.List(fields.Nested(CaseLineInputSchema), load_default=list, allow_none=True,
                        metadata={"description": "The goods lines (required except for a refund only)."})

    @ma.post_load
    def _no_lines(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        return {**data, "lines": data.get("lines") or []}


class CaseLineSchema(ma.Schema):
    id = fields.Int()
    order_line_id = fields.Int()
    quantity = fields.Int()
    accepted_quantity = fields.Int(allow_none=True, metadata={"description": "After the warehouse's inspection."})
    note = fields.Str(allow_none=True)


class CaseSchema(ma.Schema):
    id = fields.Int()
    number = fields.Str()
    order_id = fields.Int()
    customer_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The order's salesperson."})
    type = fields.Enum(CaseType, by_value=True)
    status = fields.Enum(CaseStatus, by_value=True)
    reason = fields.Str()
    amount = fields.Decimal(as_string=True, places=2, metadata={"description": "The amount requested."})
    refund_amount = fields.Decimal(as_string=True, places=2, allow_none=True,
                                   metadata={"description": "What finance is to pay back (after approval or inspection)."})
    refunded_amount = fields.Decimal(as_string=True, places=2)
    refund_payment_id = fields.Int(allow_none=True, metadata={"description": "The refund in the ledger."})
    invoice_reissue = fields.Bool()
    invoice_note = fields.Str(allow_none=True)
    decision_note = fields.Str(allow_none=True, metadata={"description": "The approver's reason for a rejection."})
    requested_by_id = fields.Int(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    return_carrier = fields.Str(allow_none=True)
    return_tracking_no = fields.Str(allow_none=True)
    return_shipped_at = fields.DateTime(allow_none=True)
    return_received_at = fields.DateTime(allow_none=True)
    inspection_note = fields.Str(allow_none=True)
    inspected_at = fields.DateTime(allow_none=True)
    replacement_carrier = fields.Str(allow_none=True)
    replacement_tracking_no = fields.Str(allow_none=True)
    replacement_shipped_at = fields.DateTime(allow_none=True)
    replacement_received_at = fields.DateTime(allow_none=True)
    receipt_auto = fields.Bool()
    instance_id = fields.Int(allow_none=True, metadata={"description": "Its `after_sales` process instance."})
    lines = fields.List(fields.Nested(CaseLineSchema))


class CaseQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    type = fields.Str(load_default=None, validate=validate.OneOf(TYPES))
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1),
                          metadata={"description": "The salesperson."})
    order_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    order_number = fields.Str(load_default=None, validate=validate.Length(max=30))
    amount_min = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{1,12}(\.\d{1,2})?$"),
                            metadata={**MONEY, "description": "Amount requested at least (RMB)."})
    amount_max = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{1,12}(\.\d{1,2})?$"),
                            metadata={**MONEY, "description": "Amount requested at most (RMB)."})
    date_from = fields.Date(load_default=None, metadata={"description": "Requested on or after (Asia/Shanghai)."})
    date_to = fields.Date(load_default=None, metadata={"description": "Requested on or before."})
