"""Counted-work guards of the kanban (issue 22, item 7): the SQL statements of the store manager's kanban
page and of one order's summary maintenance, counted like tests/test_counted_work.py (counts, never
times; a change on purpose updates the count here, in the same commit, saying why)."""

from __future__ import annotations

import time_machine

from crm.dashboard.kanban import rebuild
from crm.extensions import db
from crm.sales.orders.models import OrderStatus
from tests.conftest import assert_statements
from tests.conftest import statements
from tests.dashboard.kanban.conftest import at
from tests.dashboard.kanban.conftest import make_order
from tests.dashboard.kanban.test_views import ARGS


def test_the_store_managers_kanban_page(org, world, login_as):
    client = login_as(org.a_manager)
    assert client.get(f"/kanban/?{ARGS}").status_code == 200  # warm the caches
    with statements() as seen:
        resp = client.get(f"/kanban/?{ARGS}")
    assert resp.status_code == 200
    # The scope (2), every card of both windows (1), the trend of both windows (1), products and categories
    # with their names (2), provinces and terminals (1), the salesperson ranking with names (1), the
    # filters' stores and departments (1) and people (1), the digest choice (1), the navigation's badges
    # (3), SAVEPOINT and RELEASE: 16 (34 before issue 22's third pass). PostgreSQL +1: `SET LOCAL
    # plan_cache_mode` (crm.core.db.custom_plans: the windows' statements planned for their own ranges).
    assert_statements(seen, {"postgresql": 17, "sqlite": 16})


def test_one_orders_maintenance(org, world, products):
    """An order written (contracting: it counts nowhere yet), then signed: the statements of each commit,
    which applies the maintenance (the order's own writes were flushed before)."""
    order = make_order(world["c1"], lines=[(products["p100"], 2, "10.00")], signed=None)
    with statements() as created:
        db.session.commit()
    # Nothing to count: not even a read (the order's object in the session says it is not signed).
    assert_statements(created, 1)  # RELEASE SAVEPOINT
    with time_machine.travel(at("2026-11-06 12:00"), tick=False):
        order.status, order.signed_at = OrderStatus.PENDING_COLLECTION, at("2026-11-06 12:00")
        db.session.flush()
        with statements() as signed:
            db.session.commit()
    # The stored fact (locked on PostgreSQL), the order with its lines, province and return in one read,
    # then on PostgreSQL one statement writes the fact, the sales, product, province/terminal and
    # customer-day increments and locks the customer's summary row (SQLite: one upsert per table), then the
    # customer's chain of order days and first and second order days (`rechain`: PostgreSQL one statement,
    # SQLite two); + RELEASE SAVEPOINT. (Before the chain: 4 and 9.) SQLite +3: the per-store twins of the
    # sales, product and province/terminal rows (PostgreSQL writes them in its one statement).
    assert_statements(signed, {"postgresql": 5, "sqlite": 13})
    assert rebuild.verify(db.session.connection()) == []
