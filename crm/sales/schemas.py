"""API schemas of the product catalogue. Money goes out as a string with 2 decimals ("1280.00") and is
accepted as a string or a number; the services validate values (field errors in the caller's language)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.sales.queries import SORTS

MONEY_IN = {"description": "An amount in RMB with at most 2 decimals, as a string (\"1280.50\") or a number.",
            "type": "string", "example": "1280.50"}


class CategorySchema(ma.Schema):
    id = fields.Int()
    parent_id = fields.Int(allow_none=True)
    name = fields.Str()
    path = fields.Str(metadata={"description": "Ids from the top category down, e.g. /3/7/."})
    depth = fields.Int()
    position = fields.Int()
    active = fields.Bool()


class CategoryWriteSchema(ma.Schema):
    name = fields.Str(required=True)
    parent_id = fields.Int(allow_none=True, load_default=None)
    position = fields.Int(load_default=0)


class CategoryPatchSchema(ma.Schema):
    name = fields.Str()
    parent_id = fields.Int(allow_none=True)
    position = fields.Int()
    active = fields.Bool()


class ImageSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str(attribute="original_name")
    content_type = fields.Str()
    size = fields.Int()


class ProductSchema(ma.Schema):
    id = fields.Int()
    sku = fields.Str()
    name = fields.Str()
    category_id = fields.Int(allow_none=True)
    size = fields.Str(allow_none=True)
    material = fields.Str(allow_none=True)
    dynamic_load_kg = fields.Int(allow_none=True)
    static_load_kg = fields.Int(allow_none=True)
    racking_load_kg = fields.Int(allow_none=True)
    unit = fields.Str()
    list_price = fields.Decimal(as_string=True, places=2)
    cost_price = fields.Decimal(as_string=True, places=2, allow_none=True,
                                metadata={"description": "Only for callers with `product.cost` (else absent)."})
    margin = fields.Decimal(as_string=True, places=4, allow_none=True,
                            metadata={"description": "(list - cost) / list; only with `product.cost`."})
    on_shelf = fields.Bool(metadata={"description": "Only on-shelf products go into new quotes and orders."})
    description = fields.Str(allow_none=True)
    lock_version = fields.Int(metadata={"description": "Send it back in PATCH to refuse a change based on stale data."})
    images = fields.List(fields.Nested(ImageSchema), metadata={
        "description": "Pictures, cover first; download with GET /products/{product_id}/images/{image_id}."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProductWriteSchema(ma.Schema):
    sku = fields.Str(required=True)
    name = fields.Str(required=True)
    category_id = fields.Int(allow_none=True)
    size = fields.Str(allow_none=True)
    material = fields.Str(allow_none=True, metadata={"description": "hdpe, pp, recycled or composite."})
    dynamic_load_kg = fields.Int(allow_none=True)
    static_load_kg = fields.Int(allow_none=True)
    racking_load_kg = fields.Int(allow_none=True)
    unit = fields.Str()
    list_price = fields.Raw(required=True, metadata=MONEY_IN)
    cost_price = fields.Raw(allow_none=True, metadata=MONEY_IN)
    on_shelf = fields.Bool()
    description = fields.Str(allow_none=True)


class ProductPatchSchema(ProductWriteSchema):
    sku = fields.Str()
    name = fields.Str()
    list_price = fields.Raw(metadata=MONEY_IN)
    lock_version = fields.Int(metadata={"description": "The version you read; a newer one answers 409."})


class ProductQuerySchema(ma.Schema):
    q = fields.Str(validate=validate.Length(max=100), metadata={"description": "Part of the name or SKU."})
    category_id = fields.Int(metadata={"description": "This category and those below it."})
    shelf = fields.Str(load_default="on", validate=validate.OneOf(["on", "off", "all"]))
    material = fields.Str()
    min_price = fields.Decimal(places=2)
    max_price = fields.Decimal(places=2)
    sort = fields.Str(load_default="name", validate=validate.OneOf(list(SORTS)))


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
    invoice_requested = fields.Bool()
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
    valid_until = fields.Str(load_default=None)
    note = fields.Str(load_default=None, allow_none=True)
    lines = fields.List(fields.Nested(QuoteLineWriteSchema), required=True)
    lock_version = fields.Int(required=True)


class QuoteQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(
        ["draft", "pending_approval", "approved", "rejected", "converted", "expired"]))
    customer_id = fields.Int(load_default=None)


class PriceHistorySchema(ma.Schema):
    product_id = fields.Int()
    customer = fields.List(fields.Nested(PastPriceSchema))
    store = fields.List(fields.Nested(PastPriceSchema))


# Opportunities ------------------------------------------------------------------------------------------------
class StageSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    position = fields.Int()
    win_rate = fields.Decimal(as_string=True, places=4, metadata={"description": "0.2500 = 25 %"})
    active = fields.Bool()


class PipelineSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    active = fields.Bool()
    stages = fields.List(fields.Nested(StageSchema))


class OpportunitySchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int()
    customer_id = fields.Int()
    pipeline_id = fields.Int()
    stage_id = fields.Int()
    name = fields.Str()
    amount = fields.Decimal(as_string=True, places=2)
    weighted_amount = fields.Decimal(as_string=True, places=2, metadata={"description": "amount × win rate"})
    expected_close = fields.Date(allow_none=True)
    status = fields.Str(metadata={"enum": ["open", "won", "lost"]})
    close_reason = fields.Str(allow_none=True)
    lock_version = fields.Int()


class OpportunityWriteSchema(ma.Schema):
    customer_id = fields.Raw(required=True, metadata={"type": "integer"})
    pipeline_id = fields.Raw(required=True, metadata={"type": "integer"})
    stage_id = fields.Raw(load_default=None, metadata={"type": "integer", "description": "Default: the first stage."})
    name = fields.Str(required=True)
    amount = fields.Raw(load_default=None, metadata=MONEY_IN)
    expected_close = fields.Str(load_default=None, metadata={"format": "date"})


class OpportunityQuerySchema(ma.Schema):
    pipeline_id = fields.Int(required=True)


class MoveSchema(ma.Schema):
    stage_id = fields.Int(required=True)
    lock_version = fields.Int(load_default=None, metadata={"description": "The version you saw; a stale one is 409."})


class CloseSchema(ma.Schema):
    outcome = fields.Str(required=True, validate=validate.OneOf(["won", "lost"]))
    reason = fields.Str(load_default=None, metadata={"description": "Required when lost."})
