"""The input and output schemas of settlement batches. The settlement form and `POST /api/v1/settlements`
load the same `SettlementInputSchema`; `lines` may come as a list or, in a multipart request, as a JSON
string. A line names its order by id (as everywhere in the API: `order_id`)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import POSITIVE_MONEY_PATTERN
from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import load_input
from crm.core.validation import optional_text
from crm.core.validation import raising
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.schemas import DAY
from crm.finance.payments.schemas import METHODS
from crm.finance.payments.schemas import MONEY
from crm.finance.payments.schemas import TEXT
from crm.finance.payments.schemas import PaymentSchema
from crm.finance.payments.schemas import VoucherSchema
from crm.finance.payments.schemas import _instalment_id
from crm.finance.payments.schemas import _method
from crm.finance.payments.schemas import _paid_on

MAX_LINES = 200


def _order_id(raw: Any) -> int:
    value = as_id(raw) if not isinstance(raw, bool) else 0
    if not value:
        raise ma.ValidationError(str(_l("Choose an order.")))
    return value


def _settlement_method(raw: Any) -> PaymentMethod:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return PaymentMethod.PLATFORM
    return _method(raw)


class SettlementLineInputSchema(EveryField):
    order_id = Parsed(_order_id, metadata={"type": "integer", "description": "The order this part pays."})
    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), metadata=MONEY)
    instalment_id = Parsed(_instalment_id, metadata={
        "type": "integer", "description": "The instalment of the order's plan this part pays (optional)."})


def _lines(raw: Any) -> list[dict[str, Any]]:
    """1..200 lines, as a list or a JSON text of one; every line's messages at once (`lines.3.amount`)."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            raise ma.ValidationError(str(_l("Send the lines as a JSON list."))) from None
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ma.ValidationError(str(_l("Send the lines as a JSON list.")))
    if not raw:
        raise ma.ValidationError(str(_l("Add at least one order to the settlement.")))
    if len(raw) > MAX_LINES:
        raise ma.ValidationError(str(_l("A settlement covers at most %(n)d orders.", n=MAX_LINES)))
    lines: list[dict[str, Any]] = []
    errors: dict[int, Any] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[i] = {"order_id": [str(_l("Choose an order."))]}
            continue
        loaded = load_input(SettlementLineInputSchema(), item)
        if loaded.errors:
            errors[i] = {k: [str(v)] for k, v in loaded.errors.items()}
        lines.append(loaded.values)
    if errors:
        raise ma.ValidationError(errors)
    return lines


class SettlementInputSchema(EveryField):
    """What finance types for a settlement batch (the vouchers come as files beside it)."""

    payer = Parsed(raising(check_text, max_length=100), metadata={
        **TEXT, "description": "The platform or payer, e.g. \"Tmall\"."})
    reference = Parsed(raising(check_text, max_length=100), metadata={
        **TEXT, "description": "The batch's or transfer's number: unique in the store."})
    method = Parsed(_settlement_method, metadata={"type": "string", "enum": METHODS,
                                                  "description": "Default: platform_settlement."})
    paid_on = Parsed(_paid_on, metadata={**DAY, "description": "When the money moved (default: today)."})
    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), metadata={
        **MONEY, "description": "The transfer's total: the lines add up to it."})
    note = Parsed(optional_text(500), metadata=TEXT)
    lines = Parsed(_lines, metadata={
        "type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": {
            "type": "object", "required": ["order_id", "amount"], "properties": {
                "order_id": {"type": "integer", "minimum": 1}, "amount": {**MONEY, "pattern": POSITIVE_MONEY_PATTERN},
                "instalment_id": {"type": "integer", "minimum": 1, "nullable": True}}},
        "description": f"1 to {MAX_LINES} parts, one per order, each `{{order_id, amount, instalment_id?}}` (in a "
                       "multipart request: the list as a JSON string)."})


class SettlementVoucherSchema(VoucherSchema):
    def _url(self, obj: object) -> str:
        return f"/api/v1/settlements/{obj.settlement_id}/vouchers/{obj.id}"  # type: ignore[attr-defined]


class SettlementSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    payer = fields.Str()
    reference = fields.Str()
    method = fields.Enum(PaymentMethod, by_value=True)
    paid_on = fields.Date()
    amount = fields.Decimal(as_string=True, places=2)
    note = fields.Str(allow_none=True)
    recorded_by_id = fields.Int(allow_none=True)
    recorded_at = fields.DateTime()
    verified = fields.Int(metadata={"description": "How many lines are verified."})
    line_count = fields.Int(metadata={"description": "How many lines (orders) it has."})
    vouchers = fields.List(fields.Nested(SettlementVoucherSchema))


class SettlementDetailSchema(SettlementSchema):
    lines = fields.List(fields.Nested(PaymentSchema), metadata={"description": "One collection per order."})


class SettlementQuerySchema(ma.Schema):
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    date_from = fields.Date(load_default=None, metadata={"description": "Paid on or after."})
    date_to = fields.Date(load_default=None, metadata={"description": "Paid on or before."})
    payer = fields.Str(load_default=None, validate=validate.Length(max=100))
    q = fields.Str(load_default=None, validate=validate.Length(max=100),
                   metadata={"description": "A batch reference (exact)."})
    open = fields.Bool(load_default=None, metadata={"description": "Only batches with lines still to verify."})
