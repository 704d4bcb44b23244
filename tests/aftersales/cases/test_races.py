"""After-sales races on PostgreSQL with real commits (the order world of tests/sales/orders/test_races.py):
two warehouse users inspecting the same return, two finance users refunding the same case, two cases
opened on the same order line at once — one wins each time."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.aftersales.cases import services
from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.auth.models import Role
from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments import services as payment_services
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.workflow import runtime
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission
from tests.aftersales.conftest import REFUND
from tests.aftersales.conftest import RETURN
from tests.aftersales.conftest import case_task
from tests.aftersales.conftest import inspection
from tests.conftest import requires_postgres
from tests.conftest import verification_task
from tests.factories import UserFactory
from tests.sales.conftest import open_task
from tests.sales.orders.test_races import _order
from tests.sales.orders.test_races import race
from tests.sales.orders.test_races import world  # noqa: F401 — the fixture

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


def _delivered(ids: dict[str, Any]) -> int:
    """A prepay order of ¥950.00, paid (recorded by f1, verified by f2) and out of the warehouse."""
    order_id = _order(ids, "prepay")
    payment = payment_services.record_collection(order_id, {"amount": "950.00", "method": "bank_transfer"},
                                                 [("slip.png", io.BytesIO(VOUCHER))],
                                                 actor=db.session.get(User, ids["f1"]))
    db.session.commit()
    tasks.complete(verification_task(payment).id, JsonSubmission({"verification": {"decision": "verify"}}),
                   actor=db.session.get(User, ids["f2"]))
    db.session.commit()
    order = db.session.get(Order, order_id)
    logistics = UserFactory(name="Logistics", unit=db.session.get(User, ids["w1"]).org_unit,
                            roles=[db.session.scalars(select(Role).where(Role.key == "logistics")).one()])
    db.session.commit()
    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 10}]}, actor_id=ids["w1"])
    runtime.complete_task(open_task(order, "op_delivery").id, {"carrier": "SF", "tracking_no": "1"},
                          actor_id=logistics.id)
    db.session.commit()
    return order_id


def _case(ids: dict[str, Any], order_id: int, type_: str, quantity: int, amount: str) -> AfterSalesCase:
    order = db.session.get(Order, order_id)
    lines = [{"order_line_id": order.lines[0].id, "quantity": quantity}] if quantity else []
    case = services.open_case(order_id, {"type": type_, "reason": "race", "amount": amount, "lines": lines},
                              actor=db.session.get(User, ids["rep"]))
    db.session.commit()
    return case


def _complete(task_id: int, data: dict[str, Any]) -> Any:
    return lambda actor: tasks.complete(task_id, JsonSubmission(data), actor=actor)


def test_two_warehouse_users_inspect_the_same_return_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _delivered(ids)
        case = _case(ids, order_id, "return_refund", 2, "190.00")  # no chain: approved at once
        tasks.complete(case_task(case, "as_return").id, JsonSubmission(RETURN), actor=db.session.get(User, ids["rep"]))
        db.session.commit()
        case_id, task_id = case.id, case_task(case, "as_inspect").id
        db.session.remove()
    outcomes = race(app, [(_complete(task_id, inspection(2)), ids["w1"]), (_complete(task_id, inspection(1)), ids["w2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        case = db.session.get(AfterSalesCase, case_id)
        assert case.status == CaseStatus.AWAITING_REFUND and case.lines[0].accepted_quantity in (1, 2)
        assert case.refund_amount == Decimal("95.00") * case.lines[0].accepted_quantity
        db.session.remove()


def test_two_finance_users_refund_the_same_case_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _delivered(ids)
        case = _case(ids, order_id, "refund_only", 0, "300.00")
        case_id, task_id = case.id, case_task(case, "as_refund").id
        db.session.remove()
    outcomes = race(app, [(_complete(task_id, REFUND), ids["f1"]), (_complete(task_id, REFUND), ids["f2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        case = db.session.get(AfterSalesCase, case_id)
        order = db.session.get(Order, order_id)
        refunds = db.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.order_id == order_id, Payment.kind == PaymentKind.REFUND))
        assert case.status == CaseStatus.COMPLETED and refunds == 1
        assert order.refunded_amount == Decimal("300.00")
        db.session.remove()


def test_two_cases_on_the_same_line_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _delivered(ids)
        line_id = db.session.get(Order, order_id).lines[0].id
        db.session.remove()

    def open_one(type_: str) -> Any:
        return lambda actor: services.open_case(order_id, {"type": type_, "reason": "race", "amount": "",
                                                           "lines": [{"order_line_id": line_id, "quantity": 1}]},
                                                actor=actor)

    outcomes = race(app, [(open_one("reissue"), ids["rep"]), (open_one("exchange"), ids["rep"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AfterSalesCase).where(
            AfterSalesCase.order_id == order_id)) == 1
        assert db.session.get(Order, order_id).after_sales_open == 1
        db.session.remove()
