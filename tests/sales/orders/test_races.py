"""Races on PostgreSQL with real commits: two warehouse users confirm the same outbound at once (one wins,
the other is told the task is gone); two finance users record the whole amount at once (one collection;
the verification races are in tests/finance/payments/test_races.py)."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.core.errors import DomainError
from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments import services as payment_services
from crm.finance.payments.models import Payment
from crm.org.models import User
from crm.sales.catalog import services as product_services
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.sales.quotes import services as quote_services
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.conftest import committed_app
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.factories import make_customer
from tests.sales.conftest import open_task

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        deploy_directory(PROCESS_DIR)
        approval_chains.create_chain({"key": "discount_audit", "steps": [
            {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
        product = product_services.create_product({"sku": "RACE-O", "name": "Race pallet", "list_price": "100"},
                                                  actor=org.hq_admin)
        customer = make_customer(org.a_rep1)
        store = org.units["store_a"]
        people = {key: UserFactory(name=key, unit=store, roles=[roles[role]]) for key, role in (
            ("w1", "warehouse"), ("w2", "warehouse"), ("f1", "finance"), ("f2", "finance"))}
        db.session.flush()
        return {"rep": org.a_rep1.id, "product": product.id, "customer": customer.id,
                **{k: u.id for k, u in people.items()}}

    with committed_app(tmp_path, "crm_order_race", setup) as (_url, app, ids):
        yield app, ids


def race(app: Any, calls: list[tuple[Any, int]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(fn: Any, user_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                barrier.wait()
                fn(actor)
                db.session.commit()
                outcomes.append("ok")
            except DomainError as exc:
                db.session.rollback()
                outcomes.append(f"refused: {exc.message}")
            except BaseException as exc:  # noqa: BLE001 — reported to the test
                db.session.rollback()
                outcomes.append(f"error: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return sorted(outcomes)


def _order(ids: dict[str, Any], mode: str) -> int:
    rep = db.session.get(User, ids["rep"])
    quote = quote_services.create_quote({"customer_id": ids["customer"], "lines": [
        {"product_id": ids["product"], "quantity": 10, "unit_price": "95.00"}]}, actor=rep)
    quote_services.submit_quote(quote.id, actor=rep)
    order = order_services.create_from_quote(quote.id, {"payment_mode": mode, "ship_address": "x"}, actor=rep)
    db.session.commit()
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=rep.id)
    db.session.commit()
    return order.id


def test_two_warehouse_users_confirm_the_same_outbound_at_once(world: Any) -> None:
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "arrears")
        task_id = open_task(db.session.get(Order, order_id), "op_outbound").id
        db.session.remove()

    def confirm(quantity: int) -> Any:
        return lambda actor: runtime.complete_task(task_id, {"picked": [{"quantity": quantity}]}, actor_id=actor.id)

    outcomes = race(app, [(confirm(10), ids["w1"]), (confirm(9), ids["w2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    assert "already completed" in outcomes[1] or "same moment" in outcomes[1], outcomes
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.PENDING_DELIVERY
        assert order.lines[0].picked_quantity in (9, 10)
        db.session.remove()


def test_two_finance_users_record_the_whole_amount_at_once(world: Any) -> None:
    """Recording locks the order: the second recorder is told all of it already waits for verification."""
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "prepay")
        db.session.remove()

    def record(actor: Any) -> None:
        payment_services.record_collection(order_id, {"amount": "950.00", "method": "bank_transfer"},
                                           [("slip.png", io.BytesIO(VOUCHER))], actor=actor)

    outcomes = race(app, [(record, ids["f1"]), (record, ids["f2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 1
        db.session.remove()


def test_cancelling_while_the_warehouse_confirms_outbound(world: Any) -> None:
    """Either the cancellation wins (the outbound task is gone) or the outbound does (too late to cancel);
    never both, never a deadlock."""
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "arrears")
        task_id = open_task(db.session.get(Order, order_id), "op_outbound").id
        db.session.remove()
    outbound = lambda actor: runtime.complete_task(task_id, {"picked": [{"quantity": 10}]}, actor_id=actor.id)  # noqa: E731
    cancel = lambda actor: order_services.cancel_order(order_id, {"reason": "race"}, actor=actor)  # noqa: E731
    outcomes = race(app, [(outbound, ids["w1"]), (cancel, ids["rep"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status in (OrderStatus.CANCELLED, OrderStatus.PENDING_DELIVERY)
        db.session.remove()
