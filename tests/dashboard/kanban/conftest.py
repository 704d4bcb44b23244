"""Kanban test support: orders written as rows (the summaries follow every flush, whoever writes), the
local-time helper, and the recomputation check."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm.dashboard.kanban import rebuild
from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.orders.models import OrderStatus

SH = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def at(text: str) -> datetime:
    """A Shanghai wall-clock time "2026-11-03 23:30" as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def make_order(customer: Any, *, owner: Any = None, signed: str | None = None, lines: list[tuple[Any, int, str]],
               terminal: str = "pc", status: OrderStatus = OrderStatus.PENDING_COLLECTION) -> Order:
    """An order of `customer` (owner: the customer's owner) with `lines` [(product, quantity, unit price)],
    signed at the Shanghai time `signed` (None: still contracting)."""
    signed_at = at(signed) if signed else None
    total = sum((Decimal(p) * q for _, q, p in lines), Decimal("0.00"))
    order = Order(store_id=customer.store_id, owner_id=(owner or customer.owner).id, customer_id=customer.id,
                  number=f"KB{next(_seq):06d}", payment_mode="prepay", terminal=terminal, ship_name="x",
                  ship_phone="13700000000", ship_address="addr", total=total, list_total=total,
                  status=status if signed else OrderStatus.CONTRACTING, signed_at=signed_at)
    for i, (product, quantity, price) in enumerate(lines):
        order.lines.append(OrderLine(store_id=customer.store_id, customer_id=customer.id, product_id=product.id,
                                     position=i, quantity=quantity, list_price=Decimal(price),
                                     unit_price=Decimal(price), signed_at=signed_at))
    db.session.add(order)
    db.session.flush()
    return order


def assert_consistent() -> None:
    """Commit (each event is a transaction of its own, as in the application) and compare."""
    db.session.commit()
    assert rebuild.verify(db.session.connection()) == []
    db.session.expire_all()  # the summaries were written by Core statements: read them afresh
