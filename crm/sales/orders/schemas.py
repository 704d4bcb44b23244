"""API schemas of contracting orders. Money goes out as a string with 2 decimals; values are validated by
the services (field errors in the caller's language), so inputs are taken raw here."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import ID_RANGE
from crm.core.validation import REQUIRED_TEXT_PATTERN
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
                                                  "maxLength": 500, "pattern": REQUIRED_TEXT_PATTERN})


class OrderQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf(STATUSES))
    payment_mode = fields.Str(load_default=None, validate=validate.OneOf(MODES))
    terminal = fields.Str(load_default=None, validate=validate.OneOf(TERMINALS))
    money = fields.Str(load_default=None, validate=validate.OneOf(["due", "collected"]), metadata={
        "description": "due: signed, not cancelled and not fully collected; collected: fully collected."})
    store_id = fields.Int(load_default=None, validate=ID_RANGE)
    owner_id = fields.Int(load_default=None, validate=ID_RANGE)
    customer_id = fields.Int(load_default=None, validate=ID_RANGE)
    date_from = fields.Date(load_default=None, metadata={"description": "Created (export: signed) on or after."})
    date_to = fields.Date(load_default=None, metadata={"description": "Created (export: signed) on or before."})


# Examples in the OpenAPI document (tests/test_api_examples.py checks them against the schemas) ------------
ORDER_WRITE_EXAMPLE = {"quote_id": 12, "payment_mode": "prepay", "terminal": "pc", "ship_address": "宁波市北仑区 1 号"}
ORDER_EXAMPLE = {
    "id": 42, "number": "SO-20261207-0042", "store_id": 5, "owner_id": 12, "customer_id": 7, "quote_id": 12,
    "status": "contracting", "payment_mode": "prepay", "terminal": "pc", "delivery_note_no": None,
    "ship_name": "宁波港物流", "ship_phone": "13800138000", "ship_address": "宁波市北仑区 1 号", "note": None,
    "list_total": "1000.00", "total": "950.00", "paid_amount": "0.00", "refunded_amount": "0.00",
    "after_sales_open": 0, "contract_no": None, "signed_at": None, "paid_at": None, "outbound_at": None,
    "carrier": None, "tracking_no": None, "shipped_at": None, "received_at": None, "receipt_auto": False,
    "rating": None, "rating_comment": None, "completed_at": None, "cancel_reason": None, "cancelled_at": None,
    "created_at": "2026-12-07T02:30:00+00:00",
    "lines": [{"id": 58, "product_id": 3, "quantity": 10, "picked_quantity": None, "list_price": "100.00",
               "unit_price": "95.00", "amount": "950.00", "discount_rate": "0.950000"}],
    "tasks": [{"id": 301, "bpmn_id": "op_sign", "title": "Contracting order SO-20261207-0042: record the signature",
               "assignee_id": 12,
               "created_at": "2026-12-07T02:30:00+00:00"}],
}
# The order's signing is the completion of its `op_sign` task (POST /tasks/{task_id}/complete).
SIGN_EXAMPLE = {"data": {"contract_no": "C-2026-1", "comment": "客户已盖章"}}
SIGNED_EXAMPLE = {
    "id": 301, "kind": "process", "title": "Contracting order SO-20261207-0042: record the signature",
    "status": "completed", "process_key": "order_pipeline",
    "bpmn_id": "op_sign", "instance_id": 88, "store_id": 5, "object_type": "order", "object_id": 42,
    "assignee_id": 12, "delegated_by_id": None, "priority": 0, "due_at": None, "escalation_level": 0,
    "follow_up_at": None, "created_at": "2026-12-07T02:30:00+00:00", "completed_at": "2026-12-07T03:05:00+00:00",
    "completed_by_id": 12, "next_tasks": [],  # a prepay order now waits for its money (a collection)
}
