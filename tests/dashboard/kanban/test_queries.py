"""Every figure of DESIGN §10 on a hand-built data set, the answers worked out by hand below, for each
scope level: HQ, a subsidiary manager, a store manager, a salesperson; a custom window and a window that
ends at midnight in Asia/Shanghai.

The window W is 1–7 Nov 2026, the previous one P 25–31 Oct. Store A (reps a_rep1, a_rep2):
  c1 a_rep1 created 20 Oct: orders 28 Oct 100.00 (P) and 3 Nov 200.00 (W, completed 4 Nov, rating 5,
     follow-up 6 Nov: a return visit within 7 days)                    -> a W buyer with an earlier order
  c2 a_rep1 created 2 Nov: orders 7 Nov 23:30 300.00 (in W) and 8 Nov 00:30 80.00 (local 8 Nov: not in W,
     though it is 7 Nov in UTC)                                          -> new, converted in W
  c3 a_rep2 created 4 Nov: order 5 Nov 500.00 cancelled                 -> new, not converted; no order
  c4 a_rep2 created 26 Oct: order 6 Nov 400.00, approved return, completed 6 Nov, rating 3, no visit
  c5 a_rep1 created 1 Oct: moved to the high seas 5 Nov                 -> churned
Store B: cb b_rep created 3 Nov, order 4 Nov 1000.00. Store C: cc c_rep created 3 Nov, order 3 Nov 50.00.
Store A's new enquiries 1–7 Nov: 10 (enquiries 40); none in P.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.customers.services import follow_ups
from crm.customers.services import owners
from crm.dashboard.kanban import queries
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.sales.orders.models import OrderStatus
from tests.dashboard.kanban.conftest import assert_consistent
from tests.dashboard.kanban.conftest import at
from tests.dashboard.kanban.conftest import make_order
from tests.factories import make_customer

W = Window(date(2026, 11, 1), date(2026, 11, 7))
ZERO = Decimal("0.00")


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


def _values(actor, filters=None):
    k = queries.kanban(actor, filters or Filters(window=W))
    return {f.key: (f.value, f.previous) for f in k.figures}


def r(n: int, d: int) -> Decimal:
    return queries.ratio(n, d)  # type: ignore[return-value]


def test_store_manager_sees_their_store(org, world):
    v = _values(org.a_manager)
    assert v["amount"] == (Decimal("900.00"), Decimal("100.00"))
    assert v["orders"] == (3, 1)
    assert v["aov"] == (Decimal("300.00"), Decimal("100.00"))
    assert v["buyers"] == (3, 1)
    assert v["repurchase_rate"] == (r(1, 3), r(0, 1))
    assert v["new_customers"] == (2, 1)
    assert v["entry_rate"] == (r(2, 10), None)  # no enquiries in P: undefined
    assert v["conversion_rate"] == (r(1, 2), r(0, 1))
    assert v["positive_rate"] == (r(1, 2), None)
    assert v["revisit_rate"] == (r(1, 2), None)
    assert v["return_rate"] == (r(1, 3), r(0, 1))
    assert v["churn_rate"] == (r(1, 3), r(0, 2))


def test_salesperson_sees_only_their_own(org, world):
    v = _values(org.a_rep1)
    assert v["amount"] == (Decimal("500.00"), Decimal("100.00"))
    assert v["orders"] == (2, 1)
    assert v["repurchase_rate"] == (r(1, 2), r(0, 1))
    assert v["new_customers"] == (1, 0)
    assert v["conversion_rate"] == (r(1, 1), None)
    assert v["entry_rate"] == (None, None)  # the platform's enquiries are the store's, not theirs
    assert v["positive_rate"] == (r(1, 1), None)
    assert v["return_rate"] == (r(0, 2), r(0, 1))
    assert v["churn_rate"] == (r(1, 2), r(0, 2))
    # Asking for a colleague's figures gives nothing, not the colleague's.
    assert _values(org.a_rep1, Filters(window=W, user_id=org.a_rep2.id))["orders"] == (0, 0)


def test_subsidiary_manager_and_hq(org, world):
    east = _values(org.east_manager)
    assert east["amount"] == (Decimal("1900.00"), Decimal("100.00"))
    assert east["orders"] == (4, 1)
    assert east["conversion_rate"] == (r(2, 3), r(0, 1))  # c2 and cb of c2, c3, cb
    hq = _values(org.hq_manager)
    assert hq["amount"] == (Decimal("1950.00"), Decimal("100.00"))
    assert hq["buyers"] == (5, 1)
    assert hq["repurchase_rate"] == (r(1, 5), r(0, 1))
    assert _values(org.hq_manager, Filters(window=W, store_ids=[org.store_b.id]))["amount"] == (Decimal("1000.00"), ZERO)
    assert _values(org.c_manager)["amount"] == (Decimal("50.00"), ZERO)
    dept = _values(org.hq_manager, Filters(window=W, department_id=org.a_sales.id))
    assert dept["orders"] == (3, 1)
    person = _values(org.hq_manager, Filters(window=W, user_id=org.a_rep2.id))
    assert person["amount"] == (Decimal("400.00"), ZERO)



def test_custom_windows_across_midnight(org, world):
    day8 = _values(org.a_manager, Filters(window=Window(date(2026, 11, 8), date(2026, 11, 8))))
    # 8 Nov 00:30 in Shanghai is 7 Nov 16:30 UTC: the order is of 8 Nov, its previous window 7 Nov has c2's 23:30 one.
    assert day8["amount"] == (Decimal("80.00"), Decimal("300.00"))
    assert day8["repurchase_rate"] == (r(1, 1), r(0, 1))
    month = _values(org.a_manager, Filters(window=Window(date(2026, 10, 1), date(2026, 11, 30))))
    assert month["orders"] == (5, 0)
    assert month["repurchase_rate"] == (r(2, 3), None)  # c1 and c2 bought twice; c4 once
    assert month["churn_rate"] == (None, None)  # nobody was owned on 1 Oct (c5 came that day)


@pytest.mark.parametrize("who", ["hq_manager", "east_manager", "a_manager", "a_rep1"])
def test_every_drill_down_lists_as_many_rows_as_its_figure_counts(org, world, who):
    from crm.dashboard.kanban import drill

    actor = getattr(org, who)
    k = queries.kanban(actor, Filters(window=W))
    for key, (kind, count) in drill.FIGURES.items():
        d = drill.drill(actor, Filters(window=W), key)
        assert d is not None and d.kind == kind and d.count() == k.now[count], key
        assert len(d.page(limit=200).items) == k.now[count]
        assert k.now[count] or who == "a_rep1"  # the data set gives every list rows (the salesperson: most)
