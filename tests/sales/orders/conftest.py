"""Order test support: what the order tests, pages and services alike, do to an order through the
services (cancel it, sign it, collect its money through finance) and read back (its status); the selling world and
the quote and order helpers are in the parents' conftest.py."""

from __future__ import annotations

from typing import Any

from crm.extensions import db
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from tests.conftest import collect
from tests.sales.conftest import open_task


def _status(order: Any) -> OrderStatus:
    db.session.refresh(order)
    return order.status


def _cancel(org: Any, order: Any, reason: str = "客户改主意了") -> Any:
    order_services.cancel_order(order.id, {"reason": reason}, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(order)
    return order


def _sign(org: Any, order: Any) -> None:
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()


def _pay_service(staff: Any, order: Any) -> None:
    """The full amount due, recorded by one finance user and verified by another."""
    collect(order, staff["finance"], staff["finance2"])
