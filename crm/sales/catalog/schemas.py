"""API schemas of the product catalogue. Money goes out as a string with 2 decimals ("1280.00") and is
accepted as a string or a number; the services validate values (field errors in the caller's language)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.sales.catalog.queries import SORTS

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






























