"""Enquiry statistics test support: a clock in Asia/Shanghai, figures, customers and orders at chosen
times, pictures to upload, and the small data set whose rates test_services.py computes by hand."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import date
from datetime import datetime
from itertools import count
from typing import Any

import pytest
import time_machine

from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquirySalespersonDaily
from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from tests.factories import make_customer

NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 4 March 2026, 10:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_numbers = count(1)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def platform(store: Any, day: str, enquiries: int, new: int) -> EnquiryDaily:
    row = EnquiryDaily(store_id=store.id, day=date.fromisoformat(day), enquiries=enquiries, new_enquiries=new)
    db.session.add(row)
    db.session.flush()
    return row


def person(user: Any, day: str, wechat: int, contacts: int) -> EnquirySalespersonDaily:
    row = EnquirySalespersonDaily(store_id=user.store_id, user_id=user.id, day=date.fromisoformat(day),
                                  wechat_adds=wechat, contacts=contacts, entered_by_id=user.id)
    db.session.add(row)
    db.session.flush()
    return row


def customer_at(owner: Any, created: datetime) -> Any:
    customer = make_customer(owner)
    customer.created_at = created
    db.session.flush()
    return customer


def order(customer: Any, *, signed: datetime | None = None, paid: datetime | None = None,
          status: OrderStatus = OrderStatus.CONTRACTING) -> Order:
    row = Order(store_id=customer.store_id, owner_id=customer.owner_id or 0, customer_id=customer.id,
                number=f"SO-ENQ-{next(_numbers)}", payment_mode="prepay", terminal="pc", ship_name="x", ship_phone="1",
                ship_address="x", signed_at=signed, paid_at=paid, status=status)
    db.session.add(row)
    db.session.flush()
    return row


def picture(name: str = "wechat.png", content: bytes = PNG) -> tuple[str, io.BytesIO]:
    return name, io.BytesIO(content)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def figures(org: Any, clock: Any) -> Any:
    """Store A (and B, which A must never count) over 28 Feb – 3 Mar 2026. The window 2–3 March and its
    previous window 28 Feb – 1 March; customers and orders on both sides of midnight in Shanghai."""
    a, b = org.store_a, org.store_b
    platform(a, "2026-02-28", 8, 3)
    platform(a, "2026-03-01", 12, 2)
    platform(a, "2026-03-02", 10, 4)
    platform(a, "2026-03-03", 20, 6)
    platform(b, "2026-03-02", 100, 50)
    person(org.a_rep1, "2026-03-01", 1, 2)
    person(org.a_rep1, "2026-03-02", 3, 5)
    person(org.a_rep2, "2026-03-03", 2, 1)
    person(org.b_rep, "2026-03-02", 40, 40)
    # 1 March 16:30 UTC is 2 March 00:30 in Shanghai: a customer of the current window, signed on 3 March.
    c1 = customer_at(org.a_rep1, utc("2026-03-01T16:30:00"))
    order(c1, signed=utc("2026-03-03T02:00:00"), paid=utc("2026-03-02T16:10:00"))  # paid 3 March 00:10 local
    # 1 March 15:30 UTC is 1 March 23:30 in Shanghai: the previous window's customer.
    c2 = customer_at(org.a_rep1, utc("2026-03-01T15:30:00"))
    order(c2, signed=utc("2026-03-01T15:40:00"), paid=utc("2026-03-01T15:50:00"))
    c3 = customer_at(org.a_rep2, utc("2026-03-02T03:00:00"))  # its only order was cancelled
    order(c3, signed=utc("2026-03-02T04:00:00"), status=OrderStatus.CANCELLED)
    customer_at(org.a_rep2, utc("2026-03-03T03:00:00"))  # no order
    c5 = customer_at(org.a_rep1, utc("2026-03-03T15:59:00"))  # 23:59 on 3 March in Shanghai
    order(c5, signed=utc("2026-03-03T16:30:00"), paid=utc("2026-03-03T16:10:00"))  # both on 4 March, local
    cb = customer_at(org.b_rep, utc("2026-03-02T03:00:00"))  # store B: never in store A's figures
    order(cb, signed=utc("2026-03-02T04:00:00"), paid=utc("2026-03-02T05:00:00"))
    db.session.commit()
    return org
