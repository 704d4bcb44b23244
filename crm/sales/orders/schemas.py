"""API schemas of contracting orders. Money goes out as a string with 2 decimals; values are validated by
the services (field errors in the caller's language), so inputs are taken raw here."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.sales.orders.models import OrderStatus
from crm.sales.orders.models import PaymentMode
from crm.sales.orders.models import Terminal
from crm.sales.quotes.schemas import QuoteLineWriteSchema

STATUSES = [s.value for s in OrderStatus]
MODES = [m.value for m in PaymentMode]
TERMINALS = [t.value for t in Terminal]


def _money(**kwargs: object) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, **kwargs)  # type: ignore[arg-type]


class OrderLineSchema(ma.Schema):
    id = fields.Int()
    product_id = fields.Int()
    quantity = fields.Int()
    picked_quantity = fields.Int(allow_none=True, metadata={"description": "Confirmed by the warehouse at outbound."})
    list_price = _money()
    unit_price = _money()
    amount = _money()
    discount_rate = fields.Decimal(as_string=True, places=6, allow_none=True)


class OrderSchema(ma.Schema):
    id = fields.Int()
    number = fields.Str()
    store_id = fields.Int()
    owner_id = fields.Int(metadata={"description": "The salesperson."})
    customer_id = fields.Int()
    quote_id = fields.Int(allow_none=True)
    status = fields.Str(metadata={"enum": STATUSES, "description": "The projection of the order pipeline."})
    payment_mode = fields.Str(metadata={"enum": MODES})
    terminal = fields.Str(metadata={"enum": TERMINALS})
    delivery_note_no = fields.Str(allow_none=True)
    ship_name = fields.Str()
    ship_phone = fields.Str()
    ship_address = fields.Str()
    note = fields.Str(allow_none=True)
    list_total = _money()
    total = _money()
    paid_amount = _money()
    refunded_amount = _money()
    after_sales_open = fields.Int(metadata={"description": "How many after-sales cases of the order are open (its "
                                                           "\"after-sales\" marker while above 0)."})
    contract_no = fields.Str(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    outbound_at = fields.DateTime(allow_none=True)
    carrier = fields.Str(allow_none=True)
    tracking_no = fields.Str(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    receipt_auto = fields.Bool()
    rating = fields.Int(allow_none=True)
    rating_comment = fields.Str(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderTaskSchema(ma.Schema):
    id = fields.Int(metadata={"description": "Complete it with POST /api/v1/tasks/{id}/complete."})
    bpmn_id = fields.Str()
    title = fields.Str(attribute="shown_title", metadata={"description": "In the request's language."})
    assignee_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class OrderDetailSchema(OrderSchema):
    tasks = fields.Method("_open_tasks", metadata={
        "type": "array", "items": {"type": "object"},
        "description": "The pipeline's open tasks (id, bpmn_id, title, assignee_id, created_at): the next step."})

    def _open_tasks(self, order: object) -> list[dict[str, object]]:
        from crm.sales.orders import queries as order_queries

        return OrderTaskSchema(many=True).dump(order_queries.open_tasks(order))  # type: ignore[arg-type,no-any-return]


class OrderWriteSchema(ma.Schema):
    quote_id = fields.Raw(load_default=None, metadata={
        "type": "integer", "description": "An approved quote: the order takes its lines and prices. Omit for a "
                                         "direct order (customer_id and lines, at 90 % of list price or more)."})
    customer_id = fields.Raw(load_default=None, metadata={"type": "integer"})
    lines = fields.List(fields.Nested(QuoteLineWriteSchema), load_default=list)
    payment_mode = fields.Str(load_default=None, metadata={"enum": MODES})
    terminal = fields.Str(load_default=None, metadata={"enum": TERMINALS, "description": "Default: pc."})
    ship_name = fields.Str(load_default=None, metadata={"description": "Default: the customer's name."})
    ship_phone = fields.Str(load_default=None, metadata={"description": "Default: the customer's mobile."})
    ship_address = fields.Str(load_default=None, metadata={"description": "Default: the customer's address."})
    note = fields.Str(load_default=None, allow_none=True)


class CancelSchema(ma.Schema):
    reason = fields.Str(required=True, metadata={"description": "Why the order is cancelled.", "minLength": 1,
                                                  "maxLength": 500, "pattern": r"\S"})


class OrderQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    payment_mode = fields.Str(load_default=None, validate=validate.OneOf(MODES))
    terminal = fields.Str(load_default=None, validate=validate.OneOf(TERMINALS))
    money = fields.Str(load_default=None, validate=validate.OneOf(["due", "collected"]), metadata={
        "description": "due: signed, not cancelled and not fully collected; collected: fully collected."})
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    date_from = fields.Date(load_default=None, metadata={"description": "Created (export: signed) on or after."})
    date_to = fields.Date(load_default=None, metadata={"description": "Created (export: signed) on or before."})
