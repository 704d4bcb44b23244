"""Verification races on PostgreSQL with real commits (the order world of tests/sales/orders/test_races.py):
two verifications that together reach the total at the same moment send `order_paid` once; two finance
users verifying the same collection: one wins, the other is told it is done."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments import services as payment_services
from crm.finance.payments.models import PaymentStatus
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from crm.workflow.models import ProcessEvent
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission
from tests.conftest import requires_postgres
from tests.conftest import verification_task
from tests.sales.orders.test_races import _order
from tests.sales.orders.test_races import race
from tests.sales.orders.test_races import world  # noqa: F401 — the fixture

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


def _recorded(order_id: int, recorder_id: int, amount: str) -> int:
    payment = payment_services.record_collection(order_id, {"amount": amount, "method": "bank_transfer"},
                                                 [("slip.png", io.BytesIO(VOUCHER))],
                                                 actor=db.session.get(User, recorder_id))
    db.session.commit()
    return payment.id


def _verify(task_id: int) -> Any:
    return lambda actor: tasks.complete(task_id, JsonSubmission({"verification": {"decision": "verify"}}), actor=actor)


def test_two_verifications_reaching_the_total_at_once_send_order_paid_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "prepay")  # ¥950.00, waiting for its money
        first = _recorded(order_id, ids["rep"], "500.00")
        second = _recorded(order_id, ids["rep"], "450.00")
        tasks_ = [verification_task(db.session.get(payment_services.Payment, pid)).id for pid in (first, second)]
        db.session.remove()
    outcomes = race(app, [(_verify(tasks_[0]), ids["f1"]), (_verify(tasks_[1]), ids["f2"])])
    assert outcomes == ["ok", "ok"], outcomes
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.paid_amount == order.total and order.status == OrderStatus.PENDING_OUTBOUND
        instance_ids = [i.id for i in runtime.instances_of("order", order_id)]
        assert db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
            ProcessEvent.instance_id.in_(instance_ids), ProcessEvent.kind == "message_received")) == 1
        db.session.remove()


def test_two_finance_users_verify_the_same_collection_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "prepay")
        payment_id = _recorded(order_id, ids["rep"], "950.00")
        task_id = verification_task(db.session.get(payment_services.Payment, payment_id)).id
        db.session.remove()
    outcomes = race(app, [(_verify(task_id), ids["f1"]), (_verify(task_id), ids["f2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    assert "already completed" in outcomes[1] or "same moment" in outcomes[1], outcomes
    with app.app_context():
        payment = db.session.get(payment_services.Payment, payment_id)
        order = db.session.get(Order, order_id)
        assert payment.status == PaymentStatus.VERIFIED and order.paid_amount == order.total
        assert order.status == OrderStatus.PENDING_OUTBOUND
        db.session.remove()
