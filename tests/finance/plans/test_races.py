"""A plan edit and a verification of the same order at once, on PostgreSQL with real commits: both take
the order's lock, so either the edit comes first and the verification allocates over the new
instalments, or the verification comes first and the edit, which would move the money just verified, is
refused; either way every instalment's `collected` is what the verified collections give."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.finance.payments import services as payment_services
from crm.finance.plans import services as plan_services
from crm.finance.plans.allocation import shares
from crm.finance.plans.allocation import verified_collections
from crm.finance.plans.models import Instalment
from crm.org.models import User
from crm.sales.orders.models import Order
from tests.conftest import requires_postgres
from tests.conftest import verification_task
from tests.finance.payments.test_races import _recorded
from tests.finance.payments.test_races import _verify
from tests.sales.orders.test_races import _order
from tests.sales.orders.test_races import race
from tests.sales.orders.test_races import world  # noqa: F401 — the fixture

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


def test_a_plan_edit_and_a_verification_at_once(world: Any) -> None:  # noqa: F811
    app, ids = world
    with app.app_context():
        order_id = _order(ids, "prepay")  # ¥950.00
        plan = plan_services.save_plan(order_id, {"instalments": [
            {"amount": "300", "due_on": "2027-01-10"}, {"amount": "650", "due_on": "2027-02-10"}]},
            actor=db.session.get(User, ids["rep"]))
        db.session.commit()
        first, second = [(i.id, i.amount) for i in plan.instalments]
        payment_id = _recorded(order_id, ids["rep"], "200.00")
        task_id = verification_task(db.session.get(payment_services.Payment, payment_id)).id
        db.session.remove()

    def edit(actor: Any) -> None:  # the second instalment first: it would take the 200 if verified after
        plan_services.save_plan(order_id, {"instalments": [
            {"id": first[0], "amount": "300", "due_on": "2027-03-10"},
            {"id": second[0], "amount": "650", "due_on": "2027-02-10"}]}, actor=actor)

    outcomes = race(app, [(_verify(task_id), ids["f1"]), (edit, ids["rep"])])
    assert outcomes[0] == "ok" and (outcomes[1] == "ok" or "move verified collections" in outcomes[1]), outcomes
    with app.app_context():
        order = db.session.get(Order, order_id)
        instalments = list(db.session.scalars(select(Instalment).where(Instalment.order_id == order_id)))
        expected = shares(instalments, verified_collections(order_id))
        assert {i.id: i.collected for i in instalments} == expected
        assert sum(i.collected for i in instalments) == order.paid_amount == 200
        db.session.remove()
