"""/api/v1 — the receivables: what orders in scope still owe, with their ageing bucket as of today
(Asia/Shanghai), filtered like the page (`/receivables`, keyset pages), and the open amounts per bucket
in all, per store and per salesperson (`/receivables/summary`, one aggregate statement)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.finance.ledger import receivables
from crm.finance.ledger.receivables import BUCKETS
from crm.finance.ledger.receivables import ReceivableFilters

blp = ApiBlueprint("Receivables", __name__, url_prefix="/api/v1",
                   description="What orders still owe and how late: ageing buckets per order, store and salesperson.")

BUCKET_VALUES = [b.value for b in BUCKETS]
BUCKET_DOC = ("Days past the due date of the oldest open instalment: not_due (0 or less), 1_30, 31_60, 61_90, "
              "over_90.")


class ReceivableQuerySchema(ma.Schema):
    store_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    owner_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1),
                          metadata={"description": "The order's salesperson."})
    customer_id = fields.Int(load_default=None, validate=validate.Range(1, 2**31 - 1))
    bucket = fields.Str(load_default=None, validate=validate.OneOf(BUCKET_VALUES), metadata={"description": BUCKET_DOC})
    q = fields.Str(load_default=None, validate=validate.Length(max=100),
                   metadata={"description": "An order number or a customer's name."})


class ReceivableArgsSchema(ReceivableQuerySchema, PageArgsSchema):
    pass


class ReceivableSchema(ma.Schema):
    order_id = fields.Function(lambda r: r.order.id)
    order_number = fields.Function(lambda r: r.order.number)
    customer_id = fields.Function(lambda r: r.order.customer_id)
    customer = fields.Str()
    store_id = fields.Function(lambda r: r.order.store_id)
    store = fields.Str()
    owner_id = fields.Function(lambda r: r.order.owner_id)
    owner = fields.Str(metadata={"description": "The salesperson's name."})
    total = fields.Decimal(as_string=True, places=2, metadata={"description": "What the order owes in all."})
    collected = fields.Decimal(as_string=True, places=2, metadata={"description": "Verified collections."})
    still_due = fields.Decimal(as_string=True, places=2)
    next_due = fields.Date(allow_none=True, metadata={"description": "Due date of the oldest open instalment."})
    bucket = fields.Function(lambda r: r.bucket.value, metadata={"type": "string", "enum": BUCKET_VALUES})
    planned = fields.Bool(metadata={"description": "Whether the order has a receivable plan (else one implicit "
                                                   "instalment, due when the order waits for its money)."})


ReceivablePageSchema = page_schema(ReceivableSchema, "ReceivablePage")


class BucketSumsSchema(ma.Schema):
    buckets = fields.Function(lambda s: {b.value: f"{v:.2f}" for b, v in s.buckets.items()},
                              metadata={"type": "object", "additionalProperties": {"type": "string"}})
    total = fields.Decimal(as_string=True, places=2)
    overdue = fields.Decimal(as_string=True, places=2)


class GroupSumsSchema(BucketSumsSchema):
    id = fields.Int()
    name = fields.Str()


class SummarySchema(ma.Schema):
    as_of = fields.Date()
    totals = fields.Nested(BucketSumsSchema)
    stores = fields.List(fields.Nested(GroupSumsSchema))
    salespeople = fields.List(fields.Nested(GroupSumsSchema))


def _filters(args: dict[str, Any]) -> ReceivableFilters:
    return ReceivableFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit")})


@blp.route("/receivables", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.arguments(ReceivableArgsSchema, location="query")
@blp.response(200, ReceivablePageSchema)
def receivable_list(args: dict[str, Any]) -> Any:
    """Orders in your scope that still owe, newest first, with their ageing bucket"""
    return receivables.receivables_page(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])


@blp.route("/receivables/summary", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.arguments(ReceivableQuerySchema, location="query")
@blp.response(200, SummarySchema)
def receivable_summary(args: dict[str, Any]) -> Any:
    """Open amounts per ageing bucket in all, per store and per salesperson"""
    data = receivables.summary(current_user, _filters(args))
    return {"as_of": data.as_of, "totals": data.totals, "stores": data.store_groups, "salespeople": data.owner_groups}
