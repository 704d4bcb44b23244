"""A settlement's "Verify all" pressed by two finance users at the same moment, on PostgreSQL with real
commits: one verifies every line, the other is told nothing is left, and `order_paid` goes out once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.models import Role
from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments.models import PaymentStatus
from crm.finance.settlements import services
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from crm.workflow.models import ProcessEvent
from tests.conftest import requires_postgres
from tests.sales.orders.test_races import _order
from tests.sales.orders.test_races import race
from tests.sales.orders.test_races import world  # noqa: F401 — the fixture

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


def test_two_finance_users_press_verify_all_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        first, second = _order(ids, "prepay"), _order(ids, "prepay")  # ¥950.00 each
        role = db.session.scalar(select(Role).where(Role.key == "salesperson"))
        role.permissions = sorted({*role.permission_list, "finance.view"})  # the recorder: neither verifier
        db.session.commit()
        settlement = services.record_settlement(
            {"payer": "Tmall", "reference": "TM-RACE", "amount": "1050.00",
             "lines": [{"order_id": first, "amount": "950.00"}, {"order_id": second, "amount": "100.00"}]},
            [("statement.png", io.BytesIO(VOUCHER))], actor=db.session.get(User, ids["rep"]))
        db.session.commit()
        settlement_id = settlement.id
        db.session.remove()

    def verify_all(actor: Any) -> Any:
        return services.verify_all(settlement_id, actor=actor)

    outcomes = race(app, [(verify_all, ids["f1"]), (verify_all, ids["f2"])])
    assert outcomes[0] == "ok" and outcomes[1].startswith("refused"), outcomes
    assert "No line of this settlement waits for verification" in outcomes[1], outcomes
    with app.app_context():
        assert {p.status for p in services.lines_of(settlement_id)} == {PaymentStatus.VERIFIED}
        order = db.session.get(Order, first)
        assert order.paid_amount == order.total and order.status == OrderStatus.PENDING_OUTBOUND
        assert db.session.get(Order, second).paid_amount == 100
        instance_ids = [i.id for i in runtime.instances_of("order", first)]
        assert db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
            ProcessEvent.instance_id.in_(instance_ids), ProcessEvent.kind == "message_received")) == 1
        db.session.remove()
