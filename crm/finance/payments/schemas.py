"""The input and output schemas of collections and refunds. The collection form of the order page and
`POST /api/v1/collections` load the same `CollectionInputSchema`; so does the recorder's correction
after a rejection (the resubmit task)."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.clock import local_today
from crm.core.inputs import Day
from crm.core.inputs import Money
from crm.core.inputs import Text
from crm.finance.payments.models import Direction
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import PaymentStatus

METHODS = [m.value for m in PaymentMethod]
STATUSES = [s.value for s in PaymentStatus]


def _method(**kwargs: object) -> fields.Enum:
    return fields.Enum(PaymentMethod, by_value=True, error_messages={  # type: ignore[arg-type]
        "required": _l("Choose how the money was paid."), "unknown": _l("Choose how the money was paid.")}, **kwargs)


class CollectionInputSchema(ma.Schema):
    """What a recorder types for a collection (the vouchers come as files beside it)."""

    amount = Money(required=True, metadata={"type": "string", "example": "1280.50",
                                            "description": "RMB, at most 2 decimals; at most what is still due."})
    paid_on = Day(load_default=None, metadata={"description": "When the money moved (default: today)."})
    method = _method(required=True)
    payer = Text(max_length=100, load_default=None, allow_none=True)
    reference = Text(max_length=100, load_default=None, allow_none=True,
                     metadata={"description": "The bank's or platform's transaction number."})
    note = Text(max_length=500, load_default=None, allow_none=True)

    @ma.validates("paid_on")
    def _not_future(self, value: date | None, **_: object) -> None:
        if value is not None and value > local_today():
            raise ma.ValidationError(_l("The payment date cannot be in the future."))


class RejectInputSchema(ma.Schema):
    reason = Text(max_length=500, required=True)


class RefundInputSchema(ma.Schema):
    """Finance carrying out a refund: how and with which reference (the amount is the process's)."""

    method = _method(required=True)
    paid_on = Day(load_default=None)
    reference = Text(max_length=100, required=True)
    note = Text(max_length=500, load_default=None, allow_none=True)


class VoucherSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str(attribute="original_name")
    content_type = fields.Str()
    size = fields.Int()
    uploaded_at = fields.DateTime()
    url = fields.Method("_url", metadata={"description": "Download (with the same token)."})

    def _url(self, obj: object) -> str:
        return f"/api/v1/payments/{obj.payment_id}/vouchers/{obj.id}"  # type: ignore[attr-defined]


class PaymentSchema(ma.Schema):
    id = fields.Int()
    direction = fields.Enum(Direction, by_value=True)
    kind = fields.Enum(PaymentKind, by_value=True)
    status = fields.Enum(PaymentStatus, by_value=True)
    amount = fields.Decimal(as_string=True, places=2)
    method = fields.Enum(PaymentMethod, by_value=True)
    paid_on = fields.Date()
    payer = fields.Str(allow_none=True)
    reference = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True, metadata={"description": "Why it was rejected, or why it is refunded."})
    order_id = fields.Int()
    customer_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The order's salesperson."})
    recorded_by_id = fields.Int(allow_none=True)
    recorded_at = fields.DateTime()
    decided_by_id = fields.Int(allow_none=True, metadata={"description": "Who verified, rejected or paid it."})
    decided_at = fields.DateTime(allow_none=True)
    vouchers = fields.List(fields.Nested(VoucherSchema))


class LedgerQuerySchema(ma.Schema):
    direction = fields.Str(load_default=None, validate=validate.OneOf([d.value for d in Direction]))
    kind = fields.Str(load_default=None, validate=validate.OneOf([k.value for k in PaymentKind]))
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    method = fields.Str(load_default=None, validate=validate.OneOf(METHODS))
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    order_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    date_from = fields.Date(load_default=None, metadata={"description": "Paid on or after."})
    date_to = fields.Date(load_default=None, metadata={"description": "Paid on or before."})
    amount_min = Money(load_default=None, minimum=None)
    amount_max = Money(load_default=None, minimum=None)
    q = fields.Str(load_default=None, validate=validate.Length(max=100),
                   metadata={"description": "An order number, a customer's name or a reference."})
