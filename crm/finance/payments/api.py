"""/api/v1 — the finance centre: the ledger of receipts and payments (`/payments`, its totals and export),
one payment with its vouchers, recording a collection with its vouchers (multipart), adding vouchers.

A collection's verification is a task of `collection_verification` (`cv_verify`): finance completes it
with `POST /api/v1/tasks/{id}/complete` and `{"data": {"verification": {"decision": "verify"}}}` or
`{"decision": "reject", "reason": "..."}`. `GET /api/v1/orders/{id}/collections` lists an order's.
Scope and errors as on the pages: another store's payment or order is 404."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core import tabular
from crm.core.validation import Loaded
from crm.core.web import download
from crm.core.web import stored_file_response
from crm.finance.ledger import export
from crm.finance.ledger import queries as ledger_queries
from crm.finance.ledger.queries import LedgerFilters
from crm.finance.payments import services
from crm.finance.payments.schemas import COLLECTION_EXAMPLE
from crm.finance.payments.schemas import PAYMENT_EXAMPLE
from crm.finance.payments.schemas import CollectionInputSchema
from crm.finance.payments.schemas import LedgerQuerySchema
from crm.finance.payments.schemas import PaymentSchema
from crm.sales.orders import services as order_services

blp = ApiBlueprint("Finance", __name__, url_prefix="/api/v1",
                   description="The receipts-and-payments ledger, collections with vouchers, refunds.")

PaymentPageSchema = page_schema(PaymentSchema, "PaymentPage")


class LedgerArgsSchema(LedgerQuerySchema, PageArgsSchema):
    pass


class LedgerExportArgsSchema(LedgerQuerySchema):
    format = fields.Str(load_default="xlsx", validate=validate.OneOf(tabular.FORMATS))


class TotalsSchema(ma.Schema):
    count = fields.Int()
    received = fields.Decimal(as_string=True, places=2, metadata={"description": "Verified receipts."})
    paid_out = fields.Decimal(as_string=True, places=2, metadata={"description": "Refunds paid."})
    pending = fields.Decimal(as_string=True, places=2, metadata={"description": "Receipts waiting for verification."})
    net = fields.Decimal(as_string=True, places=2)


class CollectionUploadSchema(CollectionInputSchema):
    vouchers = fields.List(Upload(), required=True, validate=validate.Length(min=1),
                           metadata={"description": "One or more files (PDF or picture)."})


class VoucherUploadSchema(ma.Schema):
    vouchers = fields.List(Upload(), required=True, validate=validate.Length(min=1))


def _filters(args: dict[str, Any]) -> LedgerFilters:
    return LedgerFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit", "format")})


@blp.route("/payments", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.arguments(LedgerArgsSchema, location="query")
@blp.response(200, PaymentPageSchema)
def ledger(args: dict[str, Any]) -> Any:
    """Receipts and payments in your scope, newest first (filters as on the ledger page)"""
    return ledger_queries.ledger_page(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])


@blp.route("/payments/totals", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.arguments(LedgerQuerySchema, location="query")
@blp.response(200, TotalsSchema)
def totals(args: dict[str, Any]) -> Any:
    """The count and sums of the filtered ledger"""
    return ledger_queries.totals(current_user, _filters(args))


@blp.route("/payments/export", methods=["GET"])
@blp.requires("api.use", "finance.view", "finance.export")
@blp.arguments(LedgerExportArgsSchema, location="query")
@blp.response(200, {"type": "string", "format": "binary"},
              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def export_ledger(args: dict[str, Any]) -> Any:
    """The filtered ledger as XLSX or CSV"""
    body, mimetype, name = export.ledger_file(current_user, _filters(args), args["format"])
    return download(body, mimetype, name)


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, PaymentSchema)
def get_payment(payment_id: int) -> Any:
    """A collection or refund with its vouchers"""
    return services.get_payment(payment_id, current_user)


@blp.route("/payments/<int:payment_id>/vouchers", methods=["POST"])
@blp.requires("api.use", "order.view")
@blp.errors(404, 409)
@blp.arguments(VoucherUploadSchema, location="multipart")
@blp.response(201, PaymentSchema)
def add_vouchers(args: dict[str, Any], payment_id: int) -> Any:
    """Add vouchers to a collection waiting for verification (its recorder or finance) or to a refund (finance)"""
    return services.add_vouchers(payment_id, [(f.filename, f.stream) for f in args["vouchers"]], actor=current_user)


@blp.route("/payments/<int:payment_id>/vouchers/<int:voucher_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def voucher(payment_id: int, voucher_id: int) -> Any:
    """A voucher's file"""
    item, path = services.voucher_file(payment_id, voucher_id, current_user)
    return stored_file_response(path, item.content_type, item.original_name)


@blp.route("/orders/<int:order_id>/collections", methods=["POST"])
@blp.requires("api.use", "finance.collection.record")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(CollectionUploadSchema, location="multipart", example=COLLECTION_EXAMPLE)
@blp.response(201, PaymentSchema, example=PAYMENT_EXAMPLE)
def record_collection(args: dict[str, Any], order_id: int) -> Any:
    """Record a collection for an order waiting for its money, with one or more vouchers; finance then
    verifies it (a `cv_verify` task). At most what is still due less what waits for verification."""
    uploads = [(f.filename, f.stream) for f in args.pop("vouchers")]
    return services.record_collection(order_id, Loaded(args), uploads, actor=current_user)


@blp.route("/orders/<int:order_id>/collections", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(PaymentSchema, "OrderPaymentPage"))
def order_payments(args: dict[str, Any], order_id: int) -> Any:
    """Every collection and refund of an order, oldest first"""
    order = order_services.get_order(order_id, current_user)
    return page_of(ledger_queries.of_order(order.id), args)
