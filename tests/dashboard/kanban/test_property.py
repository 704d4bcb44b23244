"""Property: after any sequence of events — customers created, orders written, signed, cancelled,
completed with a rating, return visits, approved returns, moves to the high seas, transfers, a province
corrected — each in its own transaction at any hour of any day, the summary tables equal their
recomputation from the raw rows (run on SQLite and, with CRM_TEST_DATABASE_URL, on PostgreSQL)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any

import time_machine
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.customers.services import follow_ups
from crm.customers.services import owners
from crm.dashboard.kanban import queries
from crm.dashboard.kanban import rebuild
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.sales.orders.models import OrderStatus
from tests.dashboard.kanban.conftest import at
from tests.dashboard.kanban.conftest import make_order
from tests.factories import make_customer

BASE = at("2026-11-01 00:00")
FIRST_DAY = date(2026, 11, 1)  # BASE's day in the company's calendar
i = st.integers(min_value=0, max_value=50)
when = st.tuples(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=23))
EVENTS = st.one_of(
    st.tuples(st.just("customer"), i, when),
    st.tuples(st.just("order"), i, when, st.integers(min_value=1, max_value=5), st.booleans()),
    st.tuples(st.just("sign"), i, when),
    st.tuples(st.just("cancel"), i, when),
    st.tuples(st.just("complete"), i, when, st.integers(min_value=1, max_value=5)),
    st.tuples(st.just("visit"), i, when),
    st.tuples(st.just("return"), i, when),
    st.tuples(st.just("release"), i, when),
    st.tuples(st.just("transfer"), i, when, i),
    st.tuples(st.just("province"), i, when),
)


def _apply(event: tuple[Any, ...], org: Any, products: Any, state: dict[str, list[Any]]) -> None:
    kind, n, (day, hour) = event[0], event[1], event[2]
    reps = [org.a_rep1, org.a_rep2, org.b_rep]
    customers, orders = state["customers"], state["orders"]
    moment = BASE + timedelta(days=day, hours=hour)
    with time_machine.travel(moment, tick=False):
        if kind == "customer":
            customers.append(make_customer(reps[n % 3], province=["浙江", "江苏", None][n % 3]))
        elif not customers:
            return
        elif kind == "order":
            c = customers[n % len(customers)]
            owner = c.owner or (org.b_rep if c.store_id == org.store_b.id else org.a_rep1)
            orders.append(make_order(c, owner=owner, signed=moment.strftime("%Y-%m-%d %H:%M") if event[4] else None,
                                     lines=[(products["p100"], event[3], "99.50"), (products["p200"], 1, "200.00")],
                                     terminal=["pc", "mobile", "app", "mini_program"][n % 4]))
        elif kind == "province":
            customers[n % len(customers)].province = ["山东", None, "浙江"][n % 3]
        elif kind == "visit":
            follow_ups.record_follow_up(customers[n % len(customers)], {"kind": "phone", "content": "hi"},
                                        actor=org.hq_admin)
        elif kind == "release":
            c = customers[n % len(customers)]
            if c.owner_id is not None:
                owners.release_to_pool([c], "test", actor=org.hq_admin)
        elif kind == "transfer":
            c = customers[n % len(customers)]
            people = [org.b_rep] if c.store_id == org.store_b.id else [org.a_rep1, org.a_rep2]
            owners.transfer([c], people[event[3] % len(people)].id, actor=org.hq_admin)
        elif not orders:
            return
        else:
            o = orders[n % len(orders)]
            if kind == "sign" and o.signed_at is None and o.status != OrderStatus.CANCELLED:
                o.signed_at, o.status = moment, OrderStatus.PENDING_COLLECTION
            elif kind == "cancel" and o.status != OrderStatus.COMPLETED:
                o.status, o.cancelled_at = OrderStatus.CANCELLED, moment
            elif kind == "complete" and o.signed_at is not None and o.status != OrderStatus.CANCELLED:
                o.status, o.completed_at, o.received_at, o.rating = OrderStatus.COMPLETED, moment, moment, event[3]
            elif kind == "return" and o.signed_at is not None:
                db.session.add(AfterSalesCase(store_id=o.store_id, order_id=o.id, customer_id=o.customer_id,
                                              owner_id=o.owner_id, type=CaseType.RETURN_REFUND, reason="r",
                                              amount=Decimal("1.00"), status=CaseStatus.AWAITING_RETURN,
                                              decided_at=moment))
        db.session.commit()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(events=st.lists(EVENTS, min_size=1, max_size=25))
def test_summaries_equal_the_recomputation_after_any_events(org, products, events):
    state: dict[str, list[Any]] = {"customers": [], "orders": []}
    for event in events:
        _apply(event, org, products, state)
    assert rebuild.verify(db.session.connection()) == []
    # The buyer counts by the customers' chains of order days (whole stores: HQ, a store manager) equal the
    # counts by grouping the customer × day rows, for windows of every length and start over the events' days.
    for actor in (org.hq_admin, org.a_manager):
        for first, length in ((0, 1), (3, 1), (0, 7), (5, 3), (10, 11), (15, 7), (0, 21)):
            w = Window(FIRST_DAY + timedelta(days=first), FIRST_DAY + timedelta(days=first + length - 1))
            filters = Filters(window=w)
            people = queries.people_of(actor, filters)
            assert queries.whole_stores(actor, filters)
            by_chain = db.session.execute(queries.buyers_both(actor, filters, people)).one()._asdict()
            by_customer = db.session.execute(queries.buyers_by_customer(actor, filters, people)).one()._asdict()
            assert by_chain == by_customer, (actor.name, w)
