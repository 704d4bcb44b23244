"""/api/v1/quotes — create, edit a draft, submit (starts `quote_approval`), revise, PDF, price history.
Scope and errors as on the pages: another store's quote is 404; field errors name `lines.2.unit_price`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core.pagination import Page
from crm.sales.orders import prices
from crm.sales.quotes import queries as quote_queries
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import Quote
from crm.sales.quotes.pdf import render_quote
from crm.sales.quotes.schemas import QUOTE_EXAMPLE
from crm.sales.quotes.schemas import QUOTE_WRITE_EXAMPLE
from crm.sales.quotes.schemas import PriceHistorySchema
from crm.sales.quotes.schemas import QuoteLineSchema
from crm.sales.quotes.schemas import QuotePatchSchema
from crm.sales.quotes.schemas import QuoteQuerySchema
from crm.sales.quotes.schemas import QuoteSchema
from crm.sales.quotes.schemas import QuoteWriteSchema

blp = ApiBlueprint("Quotes", __name__, url_prefix="/api/v1",
                   description="Quotes: lines with discount rates, the discount audit, versions, PDF.")

QuotePageSchema = page_schema(QuoteSchema, "QuotePage")



class QuoteListArgsSchema(QuoteQuerySchema, PageArgsSchema):
    pass


_QUOTE_FIELDS = tuple(f for f in QuoteSchema().fields if f != "lines")
_LINE_FIELDS = tuple(f for f in QuoteLineSchema().fields if f != "margin")


def _out(quote: Quote) -> Any:
    """The quote; for callers without `product.cost` a copy whose lines have no margin (absent, not null)."""
    if current_user.can("product.cost"):
        return quote
    return SimpleNamespace(**{f: getattr(quote, f) for f in _QUOTE_FIELDS}, lines=[
        SimpleNamespace(**{f: getattr(line, f) for f in _LINE_FIELDS}) for line in quote.lines])


@blp.route("/quotes")
class Quotes(MethodView):
    @blp.requires("api.use", "quote.view")
    @blp.arguments(QuoteListArgsSchema, location="query")
    @blp.response(200, QuotePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List quotes in your scope, newest first"""
        page = quote_queries.list_quotes(current_user, status=args.get("status"), customer_id=args.get("customer_id"),
                                         cursor=args["cursor"], limit=args["limit"])
        return Page(items=[_out(q) for q in page.items], next_cursor=page.next_cursor, limit=page.limit)

    @blp.requires("api.use", "quote.edit")
    @blp.arguments(QuoteWriteSchema, example=QUOTE_WRITE_EXAMPLE)
    @blp.response(201, QuoteSchema, example=QUOTE_EXAMPLE)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a draft quote for a customer in your scope"""
        return _out(quote_services.create_quote(data, actor=current_user))


@blp.route("/quotes/<int:quote_id>")
class QuoteItem(MethodView):
    @blp.requires("api.use", "quote.view")
    @blp.errors(404)
    @blp.response(200, QuoteSchema)
    def get(self, quote_id: int) -> Any:
        """A quote with its lines"""
        return _out(quote_services.get_quote(quote_id, current_user))

    @blp.requires("api.use", "quote.edit")
    @blp.arguments(QuotePatchSchema)
    @blp.errors(404, 409)
    @blp.response(200, QuoteSchema)
    def patch(self, data: dict[str, Any], quote_id: int) -> Any:
        """Change a draft's validity, note or lines: only the fields sent (send the lock_version you read)"""
        return _out(quote_services.update_quote(quote_id, data, actor=current_user, lock_version=data["lock_version"],
                                                partial=True))


@blp.route("/quotes/<int:quote_id>/submit", methods=["POST"])
@blp.requires("api.use", "quote.edit")
@blp.idempotent
@blp.errors(404, 409)
@blp.response(200, QuoteSchema)
def submit(quote_id: int) -> Any:
    """Submit a draft: starts `quote_approval` (approved at once, or the discount audit)"""
    return _out(quote_services.submit_quote(quote_id, actor=current_user))


@blp.route("/quotes/<int:quote_id>/revise", methods=["POST"])
@blp.requires("api.use", "quote.edit")
@blp.errors(404, 409)
@blp.response(201, QuoteSchema)
def revise(quote_id: int) -> Any:
    """A new draft version of a rejected or expired quote"""
    return _out(quote_services.revise_quote(quote_id, actor=current_user))


@blp.route("/quotes/<int:quote_id>/price-history", methods=["GET"])
@blp.requires("api.use", "quote.view")
@blp.errors(404)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(PriceHistorySchema, "PriceHistoryPage"))
def price_history(args: dict[str, Any], quote_id: int) -> Any:
    """Per product of the quote: the customer's and the store's last prices (this store only)"""
    quote = quote_services.get_quote(quote_id, current_user)
    history = prices.price_history(quote)
    return page_of([{"product_id": pid, "customer": history["customer"].get(pid, []),
                     "store": history["store"].get(pid, [])} for pid in sorted({ln.product_id for ln in quote.lines})],
                   args)


@blp.route("/quotes/<int:quote_id>/pdf", methods=["GET"])
@blp.requires("api.use", "quote.view")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
def pdf(quote_id: int) -> Any:
    """The quote as PDF"""
    quote = quote_services.get_quote(quote_id, current_user)
    return Response(render_quote(quote), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{quote.number}-v{quote.version}.pdf"',
        "Cache-Control": "private, no-store"})
