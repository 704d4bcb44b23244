"""/api/v1 — invoices: request one for an order or an approved quote, read one (and its file), list them
with filters, void one.

Issuing, rejecting and mailing are tasks of `invoice_request`, completed with `POST
/api/v1/tasks/{id}/complete` (docs/api.md has their data): `ir_issue` (finance) with `{"data": {"issue":
{"decision": "issue", "invoice_no", "issued_on", "amount"}, "invoice_file": <attachment id>}}` — the file
first uploaded with `POST /api/v1/tasks/{id}/attachments` (field `invoice_file`) — or `{"issue":
{"decision": "reject", "reason"}}`; `ir_mail` (finance or logistics, paper invoices) with `{"data": {"mailing": {"carrier",
"tracking_no"}}}`. Scope and errors as on the pages: another store's invoice, order or quote is 404."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import Loaded
from crm.core.web import stored_file_response
from crm.finance.invoices import queries
from crm.finance.invoices import services
from crm.finance.invoices.queries import InvoiceFilters
from crm.finance.invoices.schemas import InvoiceQuerySchema
from crm.finance.invoices.schemas import InvoiceRequestInputSchema
from crm.finance.invoices.schemas import InvoiceSchema
from crm.finance.invoices.schemas import VoidInputSchema

blp = ApiBlueprint("Invoices", __name__, url_prefix="/api/v1",
                   description="Invoices requested on orders and quotes, issued, mailed and voided by finance.")

InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")
SEE_INVOICES = ("finance.view", "finance.invoice.request", "finance.invoice.issue", "finance.invoice.mail")


class InvoiceArgsSchema(InvoiceQuerySchema, PageArgsSchema):
    pass


@blp.route("/invoices", methods=["GET"])
@blp.requires(*SEE_INVOICES, any_of=True)
@blp.arguments(InvoiceArgsSchema, location="query")
@blp.response(200, InvoicePageSchema)
def list_invoices(args: dict[str, Any]) -> Any:
    """Invoices in your scope, newest first (filters as on the invoice list)"""
    filters = InvoiceFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit")})
    return queries.invoice_page(current_user, filters, cursor=args["cursor"], limit=args["limit"])


@blp.route("/invoices/<int:invoice_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, InvoiceSchema)
def get_invoice(invoice_id: int) -> Any:
    """An invoice: what was asked, how it was issued, mailed or voided"""
    return services.get_invoice(invoice_id, current_user)


@blp.route("/invoices/<int:invoice_id>/file", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def invoice_file(invoice_id: int) -> Any:
    """The issued invoice's file"""
    invoice, path = services.invoice_file(invoice_id, current_user)
    return stored_file_response(path, invoice.file_content_type or "application/octet-stream",
                                invoice.file_original_name or "invoice")


@blp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@blp.requires("api.use", "finance.invoice.issue")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(VoidInputSchema)
@blp.response(200, InvoiceSchema)
def void_invoice(args: dict[str, Any], invoice_id: int) -> Any:
    """Void (red-letter) an issued or mailed invoice with a reason; its amount can be invoiced again"""
    return services.void_invoice(invoice_id, Loaded(args), actor=current_user)


@blp.route("/orders/<int:order_id>/invoices", methods=["POST"])
@blp.requires("api.use", "finance.invoice.request")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(InvoiceRequestInputSchema)
@blp.response(201, InvoiceSchema)
def request_for_order(args: dict[str, Any], order_id: int) -> Any:
    """Request an invoice of an order; finance issues it (an `ir_issue` task). At most what can still be
    invoiced: what the order owes less its invoices requested, issued or mailed."""
    return services.request_for_order(order_id, Loaded(args), actor=current_user)


@blp.route("/quotes/<int:quote_id>/invoices", methods=["POST"])
@blp.requires("api.use", "finance.invoice.request")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(InvoiceRequestInputSchema)
@blp.response(201, InvoiceSchema)
def request_for_quote(args: dict[str, Any], quote_id: int) -> Any:
    """Request an invoice of an approved quote (one that became an order is invoiced as the order). At
    most the quote's total less its invoices requested, issued or mailed."""
    return services.request_for_quote(quote_id, Loaded(args), actor=current_user)
