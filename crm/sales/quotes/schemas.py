"""Quote schemas: the API's and pages' input and output shapes."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import ID_RANGE
from crm.sales.catalog.schemas import MONEY_IN

# Quotes -------------------------------------------------------------------------------------------------------

class PastPriceSchema(ma.Schema):
    unit_price = fields.Decimal(as_string=True, places=2)
    list_price = fields.Decimal(as_string=True, places=2)
    quantity = fields.Int()
    at = fields.DateTime(metadata={"description": "When the order was signed."})
    order_id = fields.Int()
    order_number = fields.Str()
    quote_id = fields.Int(allow_none=True, metadata={"description": "The quote the order was made from, if any."})


class QuoteLineSchema(ma.Schema):
    id = fields.Int()
    product_id = fields.Int()
    product_name = fields.Str()
    quantity = fields.Int()
    list_price = fields.Decimal(as_string=True, places=2, metadata={"description": "Copied from the product."})
    unit_price = fields.Decimal(as_string=True, places=2)
    amount = fields.Decimal(as_string=True, places=2)
    discount_rate = fields.Decimal(as_string=True, places=6, allow_none=True,
                                   metadata={"description": "unit price ÷ list price (0.900000 = 90 %)."})
    margin = fields.Decimal(as_string=True, places=4, allow_none=True,
                            metadata={"description": "Only for callers with `product.cost` (else absent)."})


class QuoteSchema(ma.Schema):
    id = fields.Int()
    number = fields.Str()
    version = fields.Int()
    previous_id = fields.Int(allow_none=True)
    store_id = fields.Int()
    owner_id = fields.Int()
    customer_id = fields.Int()
    opportunity_id = fields.Int(allow_none=True)
    status = fields.Str(metadata={
        "enum": ["draft", "pending_approval", "approved", "rejected", "converted", "expired"]})
    valid_until = fields.Date()
    note = fields.Str(allow_none=True)
    list_total = fields.Decimal(as_string=True, places=2)
    total = fields.Decimal(as_string=True, places=2)
    discount_rate = fields.Decimal(as_string=True, places=6, allow_none=True)
    decision_comment = fields.Str(allow_none=True)
    invoice_requested = fields.Bool(metadata={"description": "Flagged before invoices were requested from finance "
                                                            "(`GET /api/v1/invoices?quote_id=`)."})
    lock_version = fields.Int()
    lines = fields.List(fields.Nested(QuoteLineSchema))


class QuoteLineWriteSchema(ma.Schema):
    product_id = fields.Raw(required=True, metadata={"type": "integer"})
    quantity = fields.Raw(required=True, metadata={"type": "integer"})
    unit_price = fields.Raw(required=True, metadata=MONEY_IN)


class QuoteWriteSchema(ma.Schema):
    customer_id = fields.Raw(load_default=None, metadata={"type": "integer",
                                                          "description": "Required unless opportunity_id is given."})
    opportunity_id = fields.Raw(load_default=None, metadata={"type": "integer"})
    valid_until = fields.Str(load_default=None, metadata={"format": "date", "description": "Default: in 30 days."})
    note = fields.Str(load_default=None, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineWriteSchema), load_default=list)


class QuotePatchSchema(ma.Schema):
    """Only the fields sent change (`lines`, when sent, replaces every line)."""

    valid_until = fields.Str(metadata={"format": "date"})
    note = fields.Str(allow_none=True, validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(QuoteLineWriteSchema))
    lock_version = fields.Int(required=True, metadata={"description": "The version you read; 409 when stale."})


class QuoteQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(
        ["draft", "pending_approval", "approved", "rejected", "converted", "expired"]))
    customer_id = fields.Int(validate=ID_RANGE, load_default=None)


class PriceHistorySchema(ma.Schema):
    product_id = fields.Int()
    customer = fields.List(fields.Nested(PastPriceSchema))
    store = fields.List(fields.Nested(PastPriceSchema))


# Examples in the OpenAPI document (tests/test_api_examples.py checks them against the schemas) ------------
QUOTE_WRITE_EXAMPLE = {"customer_id": 7, "valid_until": "2027-01-06", "note": "含税含运",
                       "lines": [{"product_id": 3, "quantity": 10, "unit_price": "95.00"}]}
QUOTE_EXAMPLE = {
    "id": 12, "number": "Q-20261207-0012", "version": 1, "previous_id": None, "store_id": 5, "owner_id": 12,
    "customer_id": 7, "opportunity_id": None, "status": "draft", "valid_until": "2027-01-06", "note": "含税含运",
    "list_total": "1000.00", "total": "950.00", "discount_rate": "0.950000", "decision_comment": None,
    "invoice_requested": False, "lock_version": 1,
    "lines": [{"id": 31, "product_id": 3, "product_name": "九脚塑料托盘 1210", "quantity": 10, "list_price": "100.00",
               "unit_price": "95.00", "amount": "950.00", "discount_rate": "0.950000"}],
}
