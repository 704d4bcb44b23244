"""Races on PostgreSQL with real commits: orders of one customer signed at the same moment by two
salespeople, on different days. Each commit recomputes the customer's chain of order days (`chain.rechain`); the one that
commits second must see the first's rows, or both would take their row for the customer's first and HQ
would count the customer twice. The write's update of the customer's summary row makes the second wait."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from crm.dashboard.kanban import rebuild
from crm.extensions import db
from crm.sales.catalog import services as product_services
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.dashboard.kanban.conftest import make_order
from tests.factories import make_customer

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]
ROUNDS = 4


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, _roles: Any) -> dict[str, Any]:
        product = product_services.create_product({"sku": "RACE-K", "name": "Race pallet", "list_price": "10"},
                                                  actor=org.hq_admin)
        customers = [make_customer(org.a_rep1, name=f"Race {i}") for i in range(ROUNDS)]
        db.session.flush()
        return {"product": product.id, "customers": [c.id for c in customers],
                "reps": [org.a_rep1.id, org.a_rep2.id]}

    with committed_app(tmp_path, "crm_kanban_race", setup) as (_url, app, ids):
        yield app, ids


def test_two_signings_of_one_customer_at_once_keep_the_chain_exact(world):
    from crm.customers.models import Customer
    from crm.org.models import User
    from crm.sales.catalog.models import Product

    app, ids = world
    errors: list[str] = []
    for customer_id in ids["customers"]:
        barrier = threading.Barrier(2)

        def sign(owner_id: int, day: int, customer_id: int = customer_id, barrier: threading.Barrier = barrier) -> None:
            with app.app_context():
                try:
                    customer = db.session.get(Customer, customer_id)
                    product = db.session.get(Product, ids["product"])
                    make_order(customer, owner=db.session.get(User, owner_id), signed=f"2026-11-{day:02d} 12:00",
                               lines=[(product, 1, "10.00")])
                    barrier.wait()  # both orders flushed: the maintenance of both runs in their commits
                    db.session.commit()
                except BaseException as exc:  # noqa: BLE001 — reported to the test
                    errors.append(repr(exc))
                    db.session.rollback()
                finally:
                    db.session.remove()

        # Different days and salespeople: no summary row in common (not even the store's row of the day), so
        # only the lock of the customer's summary row orders the two recomputations.
        threads = [threading.Thread(target=sign, args=(owner, day)) for owner, day in zip(ids["reps"], (5, 6), strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    with app.app_context():
        assert rebuild.verify(db.session.connection()) == []
