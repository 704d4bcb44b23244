"""Reads about quotes: the scoped list and the price history shown beside each line.

The history only ever reads rows of the quote's own store (`QuoteLine.store_id`, copied from the quote),
so a salesperson never sees what another store charged. Until orders exist, a "transaction price" is
the unit price of an approved (or converted) quote line: `priced_at` is set when the quote is approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import User
from crm.sales.models import Quote
from crm.sales.models import QuoteLine
from crm.sales.models import QuoteStatus

HISTORY_N = 5


@dataclass(frozen=True)
class PastPrice:
    unit_price: Decimal
    list_price: Decimal
    quantity: int
    at: datetime
    quote_id: int
    quote_number: str


def list_quotes(actor: User, *, status: str | None = None, customer_id: int | None = None,
                cursor: str | None = None, limit: int = 50) -> Page[Quote]:
    stmt: Select[Any] = visible(select(Quote), actor, Quote)
    if status:
        stmt = stmt.where(Quote.status == QuoteStatus(status))
    if customer_id:
        stmt = stmt.where(Quote.customer_id == customer_id)
    return keyset_page(db.session, stmt, [SortKey(Quote.created_at, True), SortKey(Quote.id, True)],
                       cursor=cursor, limit=limit)


def _history(quote: Quote, product_ids: list[int], *, customer_only: bool, n: int) -> dict[int, list[PastPrice]]:
    if not product_ids:
        return {}
    rank = func.row_number().over(partition_by=QuoteLine.product_id,
                                  order_by=(QuoteLine.priced_at.desc(), QuoteLine.id.desc())).label("rank")
    inner = select(QuoteLine.id.label("line_id"), rank).where(
        QuoteLine.store_id == quote.store_id,  # never another store's prices
        QuoteLine.product_id.in_(product_ids),
        QuoteLine.priced_at.is_not(None),
        QuoteLine.quote_id != quote.id,
    )
    if customer_only:
        inner = inner.where(QuoteLine.customer_id == quote.customer_id)
    sub = inner.subquery()
    rows = db.session.execute(
        select(QuoteLine, Quote.number).join(sub, sub.c.line_id == QuoteLine.id).join(Quote, Quote.id == QuoteLine.quote_id)
        .where(sub.c.rank <= n, Quote.status.in_([QuoteStatus.APPROVED, QuoteStatus.CONVERTED, QuoteStatus.EXPIRED]))
        .order_by(QuoteLine.product_id, QuoteLine.priced_at.desc(), QuoteLine.id.desc())
    ).all()
    out: dict[int, list[PastPrice]] = {}
    for line, number in rows:
        assert line.priced_at is not None
        out.setdefault(line.product_id, []).append(PastPrice(
            unit_price=line.unit_price, list_price=line.list_price, quantity=line.quantity, at=line.priced_at,
            quote_id=line.quote_id, quote_number=number))
    return out


def price_history(quote: Quote, n: int = HISTORY_N) -> dict[str, dict[int, list[PastPrice]]]:
    """{"customer": {product id: [past prices]}, "store": {...}} for the products of the quote's lines."""
    ids = sorted({line.product_id for line in quote.lines})
    return {"customer": _history(quote, ids, customer_only=True, n=n),
            "store": _history(quote, ids, customer_only=False, n=n)}


def versions(quote: Quote) -> list[Quote]:
    return list(db.session.scalars(select(Quote).where(Quote.number == quote.number, Quote.store_id == quote.store_id)
                                   .order_by(Quote.version)))
