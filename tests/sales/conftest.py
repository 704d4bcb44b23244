"""Sales test support (the selling world's fixtures, `products`, `customers`, `quote_process` and `staff`, are
in tests/conftest.py: the export check uses them too): quotes and orders made through the services, and
the pipeline's tasks found the way people find them (from their inbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.extensions import db
from crm.sales.orders import services as order_services
from crm.sales.quotes import services as quote_services
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import TaskStatus


# Quotes ------------------------------------------------------------------------------------------------------
def line(product: Any, price: str, quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product.id, "quantity": quantity, "unit_price": price}


def quote(user: Any, customer: Any, *lines: dict[str, Any], **extra: Any) -> Any:
    q = quote_services.create_quote({"customer_id": customer.id, "lines": list(lines), **extra}, actor=user)
    db.session.commit()
    return q


def submitted(user: Any, customer: Any, *lines: dict[str, Any]) -> Any:
    q = quote(user, customer, *lines)
    q = quote_services.submit_quote(q.id, actor=user)
    db.session.commit()
    db.session.refresh(q)
    return q


def sell(user: Any, approved: Any) -> Any:
    """The approved quote made into an order the customer signed: its prices become transaction prices
    (the history shown beside quote lines)."""
    order = order_services.create_from_quote(approved.id, {"payment_mode": "arrears", "ship_address": "x"}, actor=user)
    runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=user.id)
    db.session.commit()
    return order


def sold(user: Any, customer: Any, *lines: dict[str, Any]) -> Any:
    q = submitted(user, customer, *lines)
    assert q.status.value == "approved", q.status
    return sell(user, q)


# Orders ------------------------------------------------------------------------------------------------------
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
