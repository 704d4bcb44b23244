"""The kanban API's query arguments and answers, and the digest subscription's input."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.dashboard.kanban.queries import WINDOWS
from crm.enquiries.schemas import StatisticsFiltersQuerySchema

CHOOSE = _l("Choose a value from the list.")


class KanbanFiltersQuerySchema(StatisticsFiltersQuerySchema):
    window = fields.Str(load_default=None, validate=validate.OneOf(list(WINDOWS), error=CHOOSE),
                        metadata={"description": "today, yesterday, last7 (default), last30, this_month, last_month or "
                                                 "custom (with date_from / date_to); days of Asia/Shanghai"})


class KanbanRankingArgsSchema(KanbanFiltersQuerySchema):
    by = fields.Str(load_default="amount", validate=validate.OneOf(["amount", "quantity"], error=CHOOSE),
                    metadata={"description": "Rank products and categories by amount (default) or quantity"})
    top = fields.Int(load_default=10, validate=validate.Range(min=1, max=100),
                     metadata={"description": "How many products and categories (1–100)"})


class WindowSchema(ma.Schema):
    first = fields.Date()
    last = fields.Date()


class FigureSchema(ma.Schema):
    key = fields.Str()
    label = fields.Str()
    kind = fields.Str(metadata={"description": "money (RMB, a decimal string), count or rate (0–1)"})
    definition = fields.Str()
    value = fields.Str(allow_none=True, metadata={"description": "null: undefined (a rate over 0)"})
    previous = fields.Str(allow_none=True)
    change = fields.Str(allow_none=True, metadata={"description": "% for money and counts, percentage points for rates"})
    numerator = fields.Int(allow_none=True)
    denominator = fields.Int(allow_none=True)


class KanbanSchema(ma.Schema):
    window = fields.Nested(WindowSchema)
    previous_window = fields.Nested(WindowSchema)
    figures = fields.List(fields.Nested(FigureSchema))


class KanbanSeriesSchema(ma.Schema):
    days = fields.List(fields.Str())
    amount = fields.List(fields.Str())
    orders = fields.List(fields.Int())
    previous_days = fields.List(fields.Str())
    previous_amount = fields.List(fields.Str())
    previous_orders = fields.List(fields.Int())
    customers = fields.Dict(metadata={"description": "new vs returning buyers: labels, current, previous"})
    funnel = fields.List(fields.Dict())


class RankedSchema(ma.Schema):
    id = fields.Int(allow_none=True)
    name = fields.Str()
    sku = fields.Str()
    value = fields.Str()
    amount = fields.Str()
    quantity = fields.Int()
    orders = fields.Int()
    aov = fields.Str(allow_none=True)
    returned = fields.Int()
    previous_amount = fields.Str()
    change = fields.Str(allow_none=True)


class KanbanRankingsSchema(ma.Schema):
    products = fields.List(fields.Nested(RankedSchema))
    categories = fields.List(fields.Nested(RankedSchema))
    provinces = fields.List(fields.Nested(RankedSchema))
    terminals = fields.List(fields.Nested(RankedSchema))
    salespeople = fields.List(fields.Nested(RankedSchema))


class DigestSchema(ma.Schema):
    frequency = fields.Str(required=True, validate=validate.OneOf(["off", "daily", "weekly"], error=CHOOSE),
                           metadata={"description": "off, daily or weekly"})


class DrillItemSchema(ma.Schema):
    id = fields.Int(allow_none=True, metadata={"description": "null: a customer counted in the figure who has "
                                                              "since moved out of your scope"})
    number = fields.Str(metadata={"description": "orders: the order number"})
    name = fields.Str(allow_none=True, metadata={"description": "customers: the name (null: out of your scope now)"})
    store_id = fields.Int()
    owner_id = fields.Int(allow_none=True)
    customer_id = fields.Int()
    total = fields.Str()
    signed_at = fields.Str(allow_none=True)
    rating = fields.Int(allow_none=True)
    created_at = fields.Str()


class DrillSchema(ma.Schema):
    kind = fields.Str(metadata={"description": "orders or customers"})
    count = fields.Int(metadata={"description": "The number of rows in all pages: the figure's count"})
    items = fields.List(fields.Nested(DrillItemSchema))
    next_cursor = fields.Str(allow_none=True)
