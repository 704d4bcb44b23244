"""Schemas of the product catalogue: the API's shapes (money goes out as a string with 2 decimals,
"1280.00", and is accepted as a string or a number), and `ProductInput`, the one input schema of a product
write, which the pages, the API (after its own schema) and the import load (field errors in the caller's
language)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import ID_RANGE
from crm.core.validation import MONEY_PATTERN
from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.core.validation import optional_text
from crm.core.validation import raising
from crm.sales.catalog.models import MATERIALS
from crm.sales.catalog.queries import SORTS

MONEY_IN = {"description": "An amount in RMB with at most 2 decimals, as a string (\"1280.50\") or a number.",
            "type": "string", "example": "1280.50", "pattern": MONEY_PATTERN}



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
    parent_id = fields.Int(validate=ID_RANGE, allow_none=True, load_default=None)
    position = fields.Int(load_default=0)


class CategoryPatchSchema(ma.Schema):
    name = fields.Str()
    parent_id = fields.Int(validate=ID_RANGE, allow_none=True)
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
    category_id = fields.Int(validate=ID_RANGE, allow_none=True)
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
    category_id = fields.Int(validate=ID_RANGE, metadata={"description": "This category and those below it."})
    shelf = fields.Str(load_default="on", validate=validate.OneOf(["on", "off", "all"]))
    material = fields.Str()
    min_price = fields.Decimal(places=2, metadata=MONEY_IN)
    max_price = fields.Decimal(places=2, metadata=MONEY_IN)
    sort = fields.Str(load_default="name", validate=validate.OneOf(list(SORTS)))


# The input of a product write ------------------------------------------------------------------------------
LOAD_MAX_KG = 1_000_000


def normalise_sku(raw: Any) -> str:
    return unicodedata.normalize("NFKC", str(raw or "")).strip().upper()


def _sku(raw: Any) -> str:
    sku = raising(check_text, max_length=50)(normalise_sku(raw))
    if sku and not all(c.isalnum() or c in "-_./" for c in sku):
        raise ma.ValidationError(str(_l("Use letters, digits and - _ . / only.")))
    return sku


def _category_id(raw: Any) -> int | None:
    """An id to look up (0, which no row has, when it is not one), or None for no category."""
    return None if raw in (None, "") else as_id(raw)


def _material(raw: Any) -> str | None:
    material = (raw or "").strip() or None
    if material is not None and material not in MATERIALS:
        raise ma.ValidationError(str(_l("Choose a material from the list.")))
    return material


def _load(raw: Any) -> int | None:
    """Kilograms as a whole number; accepts "1,000 kg" and full-width digits."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
    if text.endswith(("kg", "KG", "Kg")):
        text = text[:-2].strip()
    try:
        value = int(Decimal(text)) if Decimal(text) == Decimal(text).to_integral_value() else None
    except ArithmeticError:
        value = None
    if value is None or not 0 < value <= LOAD_MAX_KG:
        raise ma.ValidationError(str(_l("Enter a whole number of kilograms, e.g. 1000.")))
    return value


def _unit(raw: Any) -> str:
    return raising(check_text, max_length=20)(raw or "pcs")


def _flag(raw: Any, *, default: bool) -> bool:
    """A yes/no value from a form, a sheet or JSON ("1", "true", "yes", "on", "y", "是"; blank: `default`)."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "yes", "on", "y", "是")


class ProductInput(ma.Schema):
    """A product's values as sent by the product form, the API or a row of an import. Creating checks every
    field (an absent one as blank: no unit is "pcs", no on-shelf flag puts it on the shelf); with
    `partial=True` (changing a product) only the fields sent. Blank optional fields become None. The service
    checks the rest: the category exists and is active, the dynamic load against the stored static load, the
    SKU is free."""

    class Meta:
        unknown = ma.EXCLUDE

    sku = Parsed(_sku)
    name = Parsed(raising(check_text, max_length=200))
    category_id = Parsed(_category_id)
    size = Parsed(optional_text(100))
    description = Parsed(optional_text(4000))
    material = Parsed(_material)
    dynamic_load_kg = Parsed(_load)
    static_load_kg = Parsed(_load)
    racking_load_kg = Parsed(_load)
    unit = Parsed(_unit)
    list_price = Parsed(raising(check_money))
    cost_price = Parsed(raising(check_money, required=False))
    on_shelf = Parsed(lambda raw: _flag(raw, default=True))

    @ma.pre_load
    def _absent_as_blank(self, data: Any, *, partial: Any, **kwargs: Any) -> Any:
        """On create every field is checked: an absent one as if sent blank."""
        if partial or not isinstance(data, Mapping):
            return data
        return {name: None for name in self.load_fields} | dict(data)
