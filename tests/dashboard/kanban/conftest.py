"""Kanban test support: orders written as rows (the summaries follow every flush, whoever writes), the
local-time helper, the recomputation check, and `world`: the hand-built data set of test_queries.py (its
docstring works out the answers)."""

from __future__ import annotations

import itertools
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.customers.services import follow_ups
from crm.customers.services import owners
from crm.dashboard.kanban import rebuild
from crm.enquiries.models import EnquiryDaily
from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.orders.models import OrderStatus
from tests.factories import make_customer

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


def _customer(actor, created: str, **fields):
    with time_machine.travel(at(created), tick=False):
        customer = make_customer(actor, **fields)
        db.session.commit()
    return customer


def _complete(order, when: str, rating: int) -> None:
    order.status, order.completed_at, order.received_at, order.rating = OrderStatus.COMPLETED, at(when), at(when), rating


@pytest.fixture
def world(org, products):
    p1, p2 = products["p100"], products["p200"]
    c1 = _customer(org.a_rep1, "2026-10-20 10:00", province="浙江")
    c2 = _customer(org.a_rep1, "2026-11-02 10:00", province="江苏")
    c3 = _customer(org.a_rep2, "2026-11-04 10:00")
    c4 = _customer(org.a_rep2, "2026-10-26 10:00", province="浙江")
    c5 = _customer(org.a_rep1, "2026-10-01 10:00")
    cb = _customer(org.b_rep, "2026-11-03 10:00")
    cc = _customer(org.c_rep, "2026-11-03 10:00")
    make_order(c1, signed="2026-10-28 10:00", lines=[(p1, 1, "100.00")])
    o1 = make_order(c1, signed="2026-11-03 10:00", lines=[(p2, 1, "200.00")], terminal="mobile")
    _complete(o1, "2026-11-04 10:00", 5)
    o1.paid_at = at("2026-11-03 12:00")
    make_order(c2, signed="2026-11-07 23:30", lines=[(p1, 3, "100.00")])
    make_order(c2, signed="2026-11-08 00:30", lines=[(p1, 1, "80.00")])
    o3 = make_order(c3, signed="2026-11-05 10:00", lines=[(p2, 1, "500.00")])
    o3.status = OrderStatus.CANCELLED
    o4 = make_order(c4, signed="2026-11-06 09:00", lines=[(p1, 4, "100.00")])
    _complete(o4, "2026-11-06 18:00", 3)
    db.session.add(AfterSalesCase(store_id=o4.store_id, order_id=o4.id, customer_id=c4.id, owner_id=org.a_rep2.id,
                                  type=CaseType.RETURN_REFUND, reason="cracked", amount=Decimal("100.00"),
                                  status=CaseStatus.COMPLETED, decided_at=at("2026-11-07 10:00")))
    make_order(cb, signed="2026-11-04 10:00", lines=[(p2, 5, "200.00")])
    make_order(cc, signed="2026-11-03 10:00", lines=[(p1, 1, "50.00")])
    db.session.commit()
    with time_machine.travel(at("2026-11-06 15:00"), tick=False):
        follow_ups.record_follow_up(c1, {"kind": "phone", "content": "All good?"}, actor=org.a_rep1)
        db.session.commit()
    with time_machine.travel(at("2026-11-05 12:00"), tick=False):
        owners.release_to_pool([c5], "no answer", actor=org.a_manager)
        db.session.commit()
    for i in range(7):
        db.session.add(EnquiryDaily(store_id=org.store_a.id, day=date(2026, 11, 1 + i), enquiries=[4, 6, 6, 6, 6, 6, 6][i],
                                    new_enquiries=[1, 1, 1, 1, 2, 2, 2][i]))
    assert_consistent()
    return {"c1": c1, "c2": c2}
