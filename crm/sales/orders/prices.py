"""The price history of a customer and product: what the last orders paid (the quote page shows it while a salesperson prices a line)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.quotes.models import Quote

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
