"""Finance test support: an order of store A waiting for its money (pay before delivery, signed), the
money helpers (`record_collection`, `decide_collection`, `collect`) are in tests/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote


def signed_order(org: Any, products: Any, customers: Any, mode: str = "prepay", price: str = "95.00",
                 quantity: int = 10) -> Any:
    """An order of store A's first salesperson over price × quantity, signed: a prepay one waits for its
    money (`order_paid`)."""
    order = order_from_quote(org, approved_quote(org, products, customers, price, quantity), mode)
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    db.session.refresh(order)
    return order


@pytest.fixture(autouse=True)
def _processes(request: pytest.FixtureRequest) -> None:
    """The diagrams of processes/ deployed (and the discount audit's chain), in the suite's database; a
    `committed` module (races) deploys them in its own."""
    if not request.node.get_closest_marker("committed"):
        request.getfixturevalue("quote_process")


@pytest.fixture
def waiting(org: Any, products: Any, customers: Any, staff: Any) -> Any:
    """A prepay order of ¥950.00 waiting for its money."""
    return signed_order(org, products, customers)
