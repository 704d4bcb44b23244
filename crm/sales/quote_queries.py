"""Reads about quotes: the scoped list and the price history shown beside each line.

The history only ever reads rows of the quote's own store (`OrderLine.store_id`, copied from the order),
so a salesperson never sees what another store charged. A "transaction price" is the unit price of a
line of a signed contracting order: `OrderLine.signed_at` is set when the customer signs and cleared
when the order is cancelled (an approved quote alone is an offer, not a transaction)."""

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
from crm.sales.models import QuoteStatus
from crm.sales.order_models import Order
from crm.sales.order_models import OrderLine

HISTORY_N = 5


@dataclass(frozen=True)
class PastPrice:
    unit_price: Decimal
    list_price: Decimal
    quantity: int
    at: datetime  # signed
    order_id: int
    order_number: str
    quote_id: int | None


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
    rank = func.row_number().over(partition_by=OrderLine.product_id,
                                  order_by=(OrderLine.signed_at.desc(), OrderLine.id.desc())).label("rank")
    inner = select(OrderLine.id.label("line_id"), rank).where(
        OrderLine.store_id == quote.store_id,  # never another store's prices
        OrderLine.product_id.in_(product_ids),
        OrderLine.signed_at.is_not(None),
    )
    if customer_only:
        inner = inner.where(OrderLine.customer_id == quote.customer_id)
    sub = inner.subquery()
    rows = db.session.execute(
        select(OrderLine, Order.number, Order.quote_id).join(sub, sub.c.line_id == OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(sub.c.rank <= n)
        .order_by(OrderLine.product_id, OrderLine.signed_at.desc(), OrderLine.id.desc())
    ).all()
    out: dict[int, list[PastPrice]] = {}
    for line, number, quote_id in rows:
        assert line.signed_at is not None
        out.setdefault(line.product_id, []).append(PastPrice(
            unit_price=line.unit_price, list_price=line.list_price, quantity=line.quantity, at=line.signed_at,
            order_id=line.order_id, order_number=number, quote_id=quote_id))
    return out


def price_history(quote: Quote, n: int = HISTORY_N) -> dict[str, dict[int, list[PastPrice]]]:
    """{"customer": {product id: [past prices]}, "store": {...}} for the products of the quote's lines."""
    ids = sorted({line.product_id for line in quote.lines})
    return {"customer": _history(quote, ids, customer_only=True, n=n),
            "store": _history(quote, ids, customer_only=False, n=n)}


def versions(quote: Quote) -> list[Quote]:
    return list(db.session.scalars(select(Quote).where(Quote.number == quote.number, Quote.store_id == quote.store_id)
                                   .order_by(Quote.version)))


def number_of(quote_id: int, actor: User) -> str | None:
    """"Q… v2" for a page that only holds a reference to the quote; None outside the actor's scope."""
    row = db.session.execute(visible(select(Quote.number, Quote.version).where(Quote.id == quote_id), actor,
                                     Quote)).first()
    return f"{row.number} v{row.version}" if row is not None else None


def numbers(ids: set[int], actor: User) -> dict[int, str]:
    """"Q… v2" of these quotes, those in the actor's scope (a history names earlier versions)."""
    if not ids:
        return {}
    rows = db.session.execute(visible(select(Quote.id, Quote.number, Quote.version).where(Quote.id.in_(ids)), actor,
                                      Quote))
    return {row.id: f"{row.number} v{row.version}" for row in rows}
