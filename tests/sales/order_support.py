"""Fixtures and helpers of the order tests: store A's finance, warehouse and logistics people, approved
quotes, and driving the pipeline's tasks the way people do it (from their inbox)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.sales.orders import services as order_services
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import TaskStatus
from tests.factories import UserFactory
from tests.sales.quote_support import line
from tests.sales.quote_support import submitted


@pytest.fixture
def staff(org, roles):
    """Store A's back office (and one of store B, to show the inbox stays within the store)."""
    people = {
        "finance": UserFactory(name="A Finance", unit=org.units["store_a"], roles=[roles["finance"]]),
        "warehouse": UserFactory(name="A Warehouse", unit=org.units["store_a"], roles=[roles["warehouse"]]),
        "warehouse2": UserFactory(name="A Warehouse Two", unit=org.units["store_a"], roles=[roles["warehouse"]]),
        "logistics": UserFactory(name="A Logistics", unit=org.units["store_a"], roles=[roles["logistics"]]),
        "b_warehouse": UserFactory(name="B Warehouse", unit=org.units["store_b"], roles=[roles["warehouse"]]),
    }
    db.session.commit()
    return people


def approved_quote(org: Any, products: Any, customers: Any, price: str = "95.00", quantity: int = 10) -> Any:
    return submitted(org.a_rep1, customers["a"], line(products["p100"], price, quantity))


def order_from_quote(org: Any, quote: Any, mode: str = "prepay", **extra: Any) -> Any:
    order = order_services.create_from_quote(quote.id, {"payment_mode": mode, "terminal": "pc",
                                                        "ship_address": "宁波市北仑区 1 号", **extra}, actor=org.a_rep1)
    db.session.commit()
    return order


def open_task(order: Any, bpmn_id: str | None = None) -> HumanTask:
    stmt = select(HumanTask).where(HumanTask.object_type == "order", HumanTask.object_id == order.id,
                                   HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    if bpmn_id:
        stmt = stmt.where(HumanTask.bpmn_id == bpmn_id)
    tasks = list(db.session.scalars(stmt.order_by(HumanTask.id)))
    assert len(tasks) == 1, [(t.bpmn_id, t.status) for t in tasks]
    return tasks[0]


def candidates(task: HumanTask) -> set[int]:
    ids = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))
    return ids | ({task.assignee_id} if task.assignee_id else set())
