"""The input and output schemas of collections and refunds. The collection form of the order page and
`POST /api/v1/collections` load the same `CollectionInputSchema`; so does the recorder's correction
after a rejection (the resubmit task)."""

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
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.finance.payments.models import Direction
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import PaymentStatus

METHODS = [m.value for m in PaymentMethod]
STATUSES = [s.value for s in PaymentStatus]
MONEY = {"type": "string", "example": "1280.50", "description": "RMB with at most 2 decimals (\"1,280.50\" is fine)."}
TEXT = {"type": "string"}
DAY = {"type": "string", "format": "date"}


def _method(raw: Any) -> PaymentMethod:
    try:
        return PaymentMethod(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose how the money was paid."))) from None


def _paid_on(raw: Any) -> date | None:
    day = parse_day(raw)
    if day is not None and day > local_today():
        raise ma.ValidationError(str(_l("The payment date cannot be in the future.")))
    return day


def _instalment_id(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = as_id(raw)
    if not value or isinstance(raw, bool):
        raise ma.ValidationError(str(_l("Choose an instalment of this order's plan.")))
    return value


class CollectionInputSchema(EveryField):
    """What a recorder types for a collection (the vouchers come as files beside it)."""

    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), metadata={
        **MONEY, "description": "At most what is still due less what waits for verification."})
    paid_on = Parsed(_paid_on, metadata={**DAY, "description": "When the money moved (default: today)."})
    method = Parsed(_method, required=True, metadata={"type": "string", "enum": METHODS})
    payer = Parsed(optional_text(100), metadata=TEXT)
    reference = Parsed(optional_text(100),
                       metadata={**TEXT, "description": "The bank's or platform's transaction number."})
    note = Parsed(optional_text(500), metadata=TEXT)
    instalment_id = Parsed(_instalment_id, metadata={
        "type": "integer", "description": "The instalment of the order's receivable plan this collection pays "
        "(optional: without it, verified collections fill the instalments in due-date order)."})


class RefundInputSchema(EveryField):
    """Finance carrying out a refund: how and with which reference (the amount is the process's)."""

    method = Parsed(_method, metadata={"type": "string", "enum": METHODS})
    paid_on = Parsed(_paid_on, metadata=DAY)
    reference = Parsed(raising(check_text, max_length=100), metadata=TEXT)
    note = Parsed(optional_text(500), metadata=TEXT)


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
    instalment_id = fields.Int(allow_none=True, metadata={"description": "The plan's instalment it names."})
    customer_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The order's salesperson."})
    recorded_by_id = fields.Int(allow_none=True)
    recorded_at = fields.DateTime()
    decided_by_id = fields.Int(allow_none=True, metadata={"description": "Who verified, rejected or paid it."})
    decided_at = fields.DateTime(allow_none=True)
    vouchers = fields.List(fields.Nested(VoucherSchema), attribute="all_vouchers", metadata={
        "description": "Its vouchers: a settlement's collection shows the batch's vouchers first."})
    settlement_id = fields.Int(allow_none=True, metadata={"description": "The settlement batch it is a line of."})

    @ma.post_dump(pass_original=True)
    def _voucher_urls(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        """A settlement's vouchers too are served under the payment (whoever sees it sees them)."""
        for voucher in data.get("vouchers") or []:
            voucher["url"] = f"/api/v1/payments/{original.id}/vouchers/{voucher['id']}"
        return data


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
    amount_min = Parsed(raising(check_money, required=False, minimum=None), load_default=None, metadata=MONEY)
    amount_max = Parsed(raising(check_money, required=False, minimum=None), load_default=None, metadata=MONEY)
    q = fields.Str(load_default=None, validate=validate.Length(max=100),
                   metadata={"description": "An order number, a customer's name or a reference."})


# Examples in the OpenAPI document (tests/test_api_examples.py checks them against the schemas) ------------
COLLECTION_EXAMPLE = {"amount": "950.00", "method": "bank_transfer", "paid_on": "2026-12-07",
                      "payer": "宁波港物流有限公司", "reference": "BOC-20261207-001", "vouchers": ["%PDF-1.4 …"]}
PAYMENT_EXAMPLE = {
    "id": 77, "direction": "in", "kind": "collection", "status": "recorded", "amount": "950.00",
    "method": "bank_transfer", "paid_on": "2026-12-07", "payer": "宁波港物流有限公司", "reference": "BOC-20261207-001",
    "note": None, "reason": None, "order_id": 42, "instalment_id": None, "customer_id": 7, "store_id": 5,
    "owner_id": 12, "recorded_by_id": 12, "recorded_at": "2026-12-07T03:10:00+00:00", "decided_by_id": None,
    "decided_at": None, "settlement_id": None,
    "vouchers": [{"id": 9, "name": "slip.pdf", "content_type": "application/pdf", "size": 48213,
                  "uploaded_at": "2026-12-07T03:10:00+00:00", "url": "/api/v1/payments/77/vouchers/9"}],
}
