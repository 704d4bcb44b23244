"""Make-ups' test support: the `make_up` chain (the requester's supervisor approves), requesting a make-up
as a user would, and the supervisor's decision in the approval queue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import services as approvals
from crm.extensions import db
from crm.finance.makeups import services
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus


@pytest.fixture
def make_up_chain(org: Any) -> None:
    approval_chains.create_chain({"key": "make_up", "name": "Make-up", "steps": [
        {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
    db.session.commit()


def request(order: Any, actor: Any, amount: str = "120.00", **extra: Any) -> Any:
    make_up = services.request_make_up(order.id, {"amount": amount, "kind": "freight",
                                                  "reason": "Freight to the second warehouse", **extra}, actor=actor)
    db.session.commit()
    return make_up


def approval_task(make_up: Any) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == make_up.instance_id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))).one()


def decide(make_up: Any, approver: Any, approved: bool = True, comment: str | None = None) -> None:
    approvals.decide(approval_task(make_up).id, approved=approved, comment=comment or ("ok" if approved else "no"),
                     actor=approver)
    db.session.commit()
    db.session.refresh(make_up)
