"""The summaries follow the writes in the writers' transaction: signing, cancelling, completing with a
rating, a return visit, an approved return, a move to the high seas; `verify` finds every difference and
`rebuild` repairs it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.customers.services import follow_ups
from crm.customers.services import owners
from crm.dashboard.kanban import drill
from crm.dashboard.kanban import queries
from crm.dashboard.kanban import rebuild
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanOwned
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.sales.orders.models import OrderStatus
from tests.dashboard.kanban.conftest import assert_consistent
from tests.dashboard.kanban.conftest import at
from tests.dashboard.kanban.conftest import make_order
from tests.factories import make_customer


def _sales(store_id: int, owner_id: int, day: date) -> KanbanSalesDay | None:
    return db.session.scalar(select(KanbanSalesDay).where(
        KanbanSalesDay.store_id == store_id, KanbanSalesDay.owner_id == owner_id, KanbanSalesDay.day == day))


def test_events_keep_the_summaries_equal_to_the_recomputation(org, products):
    rep = org.a_rep1
    customer = make_customer(rep, province="浙江")
    assert_consistent()
    kc = db.session.get(KanbanCustomer, customer.id)
    assert kc is not None and kc.owner_id == rep.id and kc.first_order_day is None

    # Signed at 23:30 Shanghai on 3 Nov = 15:30 UTC: the business day is 3 Nov.
    order = make_order(customer, signed="2026-11-03 23:30", lines=[(products["p100"], 2, "95.00")])
    assert_consistent()
    row = _sales(customer.store_id, rep.id, date(2026, 11, 3))
    assert row is not None and (row.orders, row.amount) == (1, Decimal("190.00"))
    assert db.session.get(KanbanCustomer, customer.id).first_order_day == date(2026, 11, 3)
    product = db.session.scalar(select(KanbanProductDay).where(KanbanProductDay.product_id == products["p100"].id))
    assert (product.quantity, product.amount) == (2, Decimal("190.00"))

    second = make_order(customer, signed="2026-11-01 08:00", lines=[(products["p200"], 1, "200.00")])
    assert_consistent()
    assert db.session.get(KanbanCustomer, customer.id).first_order_day == date(2026, 11, 1)

    second.status = OrderStatus.CANCELLED  # cancelled: it leaves every figure, the first order day moves back
    assert_consistent()
    assert _sales(customer.store_id, rep.id, date(2026, 11, 1)).orders == 0
    assert db.session.get(KanbanCustomer, customer.id).first_order_day == date(2026, 11, 3)

    order.status, order.completed_at, order.received_at, order.rating = (
        OrderStatus.COMPLETED, at("2026-11-10 10:00"), at("2026-11-10 10:00"), 5)
    assert_consistent()
    day10 = _sales(customer.store_id, rep.id, date(2026, 11, 10))
    assert (day10.completed, day10.revisited, day10.ratings, day10.positive) == (1, 0, 1, 1)

    follow_ups.record_follow_up(customer, {"kind": "phone", "content": "How are the pallets?"}, actor=rep)
    db.session.flush()
    db.session.execute(update(follow_ups.FollowUp).values(occurred_at=at("2026-11-12 09:00")))
    # A follow-up written after the fact: the order is brought up to date by the next write that touches it.
    from crm.dashboard.kanban import services
    services.sync_orders(db.session.connection(), [order.id])
    assert_consistent()
    assert _sales(customer.store_id, rep.id, date(2026, 11, 10)).revisited == 1

    db.session.add(AfterSalesCase(store_id=order.store_id, order_id=order.id, customer_id=customer.id, owner_id=rep.id,
                                  type=CaseType.RETURN_REFUND, reason="broken", amount=Decimal("10.00"),
                                  status=CaseStatus.AWAITING_RETURN, decided_at=at("2026-11-11 10:00")))
    assert_consistent()
    assert _sales(customer.store_id, rep.id, date(2026, 11, 3)).returned == 1

    owners.release_to_pool([customer], "no answer", actor=org.a_manager)
    assert_consistent()
    assert db.session.scalar(select(KanbanChurn.owner_id).where(KanbanChurn.customer_id == customer.id)) == rep.id
    owned = db.session.scalars(select(KanbanOwned.delta).where(KanbanOwned.owner_id == rep.id)).all()
    assert sum(owned) == 0


def test_verify_reports_a_difference_and_rebuild_repairs_it(org, products):
    customer = make_customer(org.a_rep1)
    make_order(customer, signed="2026-11-03 10:00", lines=[(products["p100"], 1, "100.00")])
    db.session.commit()
    db.session.execute(update(KanbanSalesDay).values(orders=KanbanSalesDay.orders + 1))
    lines = rebuild.verify(db.session.connection())
    assert len(lines) == 1 and lines[0].startswith("sales ") and "expected (1," in lines[0] and "found (2," in lines[0]
    rebuild.rebuild(db.session.connection())
    assert rebuild.verify(db.session.connection()) == []


def test_first_order_days_move_both_ways_and_a_missing_summary_row_is_made(org, products):
    """An earlier order moves a customer's first order day down (the atomic LEAST), a cancelled first order
    moves it up (the recomputation under a lock), and a customer whose summary row is missing (written
    before the kanban existed) gets one when an order of theirs is signed."""
    p = products["p100"]
    customer = make_customer(org.a_rep1)
    later = make_order(customer, signed="2026-11-05 10:00", lines=[(p, 1, "100.00")])
    assert_consistent()
    earlier = make_order(customer, signed="2026-11-02 10:00", lines=[(p, 1, "100.00")])
    assert_consistent()
    assert db.session.get(KanbanCustomer, customer.id).first_order_day == date(2026, 11, 2)
    earlier.status = OrderStatus.CANCELLED
    assert_consistent()
    assert db.session.get(KanbanCustomer, customer.id).first_order_day == date(2026, 11, 5)

    other = make_customer(org.a_rep1)
    db.session.commit()
    db.session.execute(delete(KanbanCustomer).where(KanbanCustomer.customer_id == other.id))
    db.session.commit()
    make_order(other, signed="2026-11-04 10:00", lines=[(p, 2, "50.00")])
    assert_consistent()
    assert db.session.get(KanbanCustomer, other.id).first_order_day == date(2026, 11, 4)
    assert later.id and _sales(customer.store_id, org.a_rep1.id, date(2026, 11, 4)).amount == Decimal("100.00")


def test_the_chain_of_order_days_counts_buyers_exactly(org, products):
    """Buyers, returning buyers and repurchasers of whole stores counted from the chain of order days
    (`prev_day`, the second order day), worked out by hand, and equal to the grouping per customer; the
    chain follows a cancellation. Window W 10–16 Nov, previous P 3–9 Nov.
      d1: 1 Nov, 11 Nov, 14 Nov                   -> W: returning, repurchaser; P: none
      d2: 11 Nov by a_rep1 and 11 Nov by a_rep2    -> W: first-time buyer with two orders: repurchaser
      d3: 12 Nov, 20 Nov                           -> W: first-time buyer, one order in W: not a repurchaser
      d4: 5 Nov, 6 Nov                             -> P: first-time buyer and repurchaser; W: none
      d5: 4 Nov, then 13 Nov cancelled              -> P: first-time buyer; W: none
      d6: 10 Nov, 16 Nov (W's first and last days)  -> W: first-time buyer and repurchaser"""
    line = [(products["p100"], 1, "10.00")]
    d1, d2, d3, d4, d5, d6 = (make_customer(org.a_rep1, name=f"Chain {n}") for n in range(1, 7))
    for customer, days in ((d1, ["01", "11", "14"]), (d3, ["12", "20"]), (d4, ["05", "06"]), (d5, ["04"]),
                           (d6, ["10", "16"])):
        for day in days:
            make_order(customer, signed=f"2026-11-{day} 10:00", lines=line)
    make_order(d2, signed="2026-11-11 10:00", lines=line)
    make_order(d2, owner=org.a_rep2, signed="2026-11-11 11:00", lines=line)
    cancelled = make_order(d5, signed="2026-11-13 10:00", lines=line)
    db.session.commit()
    cancelled.status, cancelled.cancelled_at = OrderStatus.CANCELLED, at("2026-11-13 12:00")
    db.session.commit()
    assert rebuild.verify(db.session.connection()) == []
    chain = {(r.customer_id, r.day.day, r.owner_id): r.prev_day for r in db.session.scalars(
        select(KanbanCustomerDay).where(KanbanCustomerDay.customer_id.in_([d1.id, d2.id, d5.id]),
                                        KanbanCustomerDay.orders > 0))}
    assert chain == {(d1.id, 1, org.a_rep1.id): None, (d1.id, 11, org.a_rep1.id): date(2026, 11, 1),
                     (d1.id, 14, org.a_rep1.id): date(2026, 11, 11), (d2.id, 11, org.a_rep1.id): None,
                     (d2.id, 11, org.a_rep2.id): date(2026, 11, 11), (d5.id, 4, org.a_rep1.id): None}
    assert db.session.get(KanbanCustomer, d2.id).second_order_day == date(2026, 11, 11)
    assert db.session.get(KanbanCustomer, d3.id).second_order_day == date(2026, 11, 20)
    assert db.session.get(KanbanCustomer, d5.id).second_order_day is None
    filters = Filters(window=Window(date(2026, 11, 10), date(2026, 11, 16)))
    for actor in (org.hq_admin, org.a_manager):
        people = queries.people_of(actor, filters)
        got = db.session.execute(queries.buyers_both(actor, filters, people)).one()._asdict()
        assert got == {"buyers_0": 4, "returning_0": 1, "repurchasers_0": 3,
                       "buyers_1": 2, "returning_1": 0, "repurchasers_1": 1}
        assert got == db.session.execute(queries.buyers_by_customer(actor, filters, people)).one()._asdict()
        # The drill-downs list those customers, from the chain too.
        for figure, expected in (("buyers", {d1, d2, d3, d6}), ("repurchase_rate", {d1, d2, d6})):
            listed = drill.drill(actor, filters, figure)
            assert {c.id for c in listed.page(limit=100).items} == {c.id for c in expected}
            assert listed.count() == len(expected)
