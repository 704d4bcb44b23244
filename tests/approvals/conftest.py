"""Approval test support: a test-only approvable type `test_expense` (kept in memory: id -> fields), the
`wf_expense` process that calls `approval`, chains built through the services, and helpers to decide and to
read requests and their open tasks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import services
from crm.approvals.models import ApprovalRequest
from crm.approvals.registry import Approvable
from crm.approvals.registry import Field
from crm.approvals.registry import register_approvable
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus

DATA = Path(__file__).parent / "data"
EXPENSES: dict[int, dict[str, Any]] = {}


def _load(object_id: int, actor: Any) -> dict[str, Any] | None:
    expense = EXPENSES.get(object_id)
    if expense is None:
        return None
    if actor is not None and not actor.is_super_admin and actor.store_id not in (None, expense["store_id"]):
        return None
    return expense


register_approvable(Approvable(
    object_type="test_expense", label="Expense", load=_load,
    values=lambda e: {"amount": e["amount"], "category": e["category"]},
    summary=lambda e: {"title": f"Expense {e['id']}: {e['category']}",
                       "lines": [["Amount", e["amount"]], ["Category", e["category"]]]},
    fields=(Field("amount", "Amount", "number"), Field("category", "Category", "string")),
))


@pytest.fixture
def expense_process(app, org):
    deploy_directory(PROCESS_DIR)
    deploy_directory(DATA)
    db.session.commit()


@pytest.fixture
def chain(org):
    """chain(steps, key="expense", store=None): a chain created by the HQ super admin."""

    def _chain(steps: list[dict[str, Any]], key: str = "expense", store: Any = None) -> Any:
        c = approval_chains.create_chain({"key": key, "steps": steps, "store_id": store.id if store else None},
                                  actor=org.hq_admin)
        db.session.commit()
        return c

    return _chain


@pytest.fixture
def submit(org, expense_process):
    """submit(by_user, amount=..., category=...): an expense in the user's store, its process started."""
    counter = iter(range(1000, 100000))

    def _submit(user: Any, amount: str = "1000", category: str = "travel", picks: dict | None = None,
                store: Any = None) -> Any:
        expense_id = next(counter)
        store_id = store.id if store is not None else user.store_id
        EXPENSES[expense_id] = {"id": expense_id, "store_id": store_id, "amount": Decimal(amount),
                                "category": category}
        data = {"approval_chain": "expense"}
        if picks:
            data["approval_picks"] = picks
        instance = runtime.start("wf_expense", object_type="test_expense", object_id=expense_id,
                                 store_id=store_id, data=data, actor_id=user.id)
        db.session.commit()
        return instance

    return _submit


def step(rule: str, mode: str = "single", **extra: Any) -> dict[str, Any]:
    return {"title": extra.pop("title", rule), "rule": rule, "mode": mode, **extra}


# Queries the approval tests share --------------------------------------------------------------------------
def request_of(instance: ProcessInstance) -> ApprovalRequest:
    return db.session.scalars(select(ApprovalRequest).where(ApprovalRequest.instance_id == instance.id)
                              .execution_options(populate_existing=True)).one()


def open_tasks(instance: ProcessInstance) -> dict[int, HumanTask]:
    """assignee id -> open approval task."""
    rows = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
        .order_by(HumanTask.id).execution_options(populate_existing=True))
    return {t.assignee_id: t for t in rows}


def decide(instance: ProcessInstance, user, approved: bool = True, comment: str | None = None):
    task = open_tasks(instance)[user.id]
    request = services.decide(task.id, approved=approved, comment=comment or ("ok" if approved else "no"), actor=user)
    db.session.commit()
    return request


def status(instance: ProcessInstance) -> str:
    db.session.refresh(instance)
    return instance.status.value
