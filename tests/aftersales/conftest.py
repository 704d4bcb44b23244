"""After-sales test support: the processes deployed, the `after_sales` chain (the requester's supervisor
approves), an order of store A paid, shipped and received, and the helpers that open a case and take its
steps from the inbox as each role does."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import services as approvals
from crm.extensions import db
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission
from tests.conftest import collect
from tests.finance.conftest import signed_order
from tests.sales.conftest import open_task


@pytest.fixture(autouse=True)
def _processes(request: pytest.FixtureRequest) -> None:
    if not request.node.get_closest_marker("committed"):
        request.getfixturevalue("quote_process")


@pytest.fixture
def after_sales_chain(org: Any) -> None:
    approval_chains.create_chain({"key": "after_sales", "name": "After-sales", "steps": [
        {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
    db.session.commit()


def ship(order: Any, staff: Any, org: Any, receive: bool = True) -> Any:
    """Take a paid prepay order out of the warehouse, ship it and (by default) confirm its receipt."""
    from crm.workflow import runtime

    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": ln.quantity} for ln in order.lines]},
                          actor_id=staff["warehouse"].id)
    runtime.complete_task(open_task(order, "op_delivery").id, {"carrier": "SF", "tracking_no": "SF1"},
                          actor_id=staff["logistics"].id)
    if receive:
        runtime.complete_task(open_task(order, "op_receipt").id, {"rating": 5}, actor_id=org.a_rep1.id)
    db.session.commit()
    db.session.refresh(order)
    return order


@pytest.fixture
def delivered(org: Any, products: Any, customers: Any, staff: Any) -> Any:
    """A prepay order of 10 × ¥95.00 = ¥950.00, paid in full, shipped and received (completed)."""
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    db.session.refresh(order)
    return ship(order, staff, org)


def open_case(order: Any, actor: Any, type_: str = "return_refund", quantity: int = 2, amount: str = "190.00",
              **extra: Any) -> Any:
    from crm.aftersales.cases import services

    lines = [{"order_line_id": order.lines[0].id, "quantity": quantity}] if quantity else []
    case = services.open_case(order.id, {"type": type_, "reason": "Two pallets arrived cracked", "amount": amount,
                                         "lines": lines, **extra}, actor=actor)
    db.session.commit()
    return case


def case_task(case: Any, bpmn_id: str | None = None) -> HumanTask:
    stmt = select(HumanTask).where(HumanTask.object_type == "after_sales", HumanTask.object_id == case.id,
                                   HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    if bpmn_id:
        stmt = stmt.where(HumanTask.bpmn_id == bpmn_id)
    found = list(db.session.scalars(stmt.order_by(HumanTask.id)))
    assert len(found) == 1, [(t.bpmn_id, t.status) for t in found]
    return found[0]


def step(case: Any, bpmn_id: str, actor: Any, data: dict[str, Any] | None = None) -> Any:
    """Complete the case's open task `bpmn_id` as `actor`, as the inbox does."""
    tasks.complete(case_task(case, bpmn_id).id, JsonSubmission(data or {}), actor=actor)
    db.session.commit()
    db.session.refresh(case)
    return case


def approve(case: Any, approver: Any, approved: bool = True, comment: str | None = None) -> Any:
    task = case_task(case)
    approvals.decide(task.id, approved=approved, comment=comment or ("ok" if approved else "no"), actor=approver)
    db.session.commit()
    db.session.refresh(case)
    return case


RETURN = {"return_shipment": {"carrier": "SF", "tracking_no": "SF-RET-1"}}
REFUND = {"refund": {"method": "bank_transfer", "reference": "RF-001", "paid_on": "2026-12-07"}}
SHIP = {"replacement": {"carrier": "ZTO", "tracking_no": "ZTO-9"}}


def inspection(*accepted: int, note: str = "One was fine") -> dict[str, Any]:
    return {"inspection": {"lines": [{"accepted": a} for a in accepted], "note": note}}
