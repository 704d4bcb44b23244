"""Queries the approval tests share."""

from __future__ import annotations

from sqlalchemy import select

from crm.approvals import services
from crm.approvals.models import ApprovalRequest
from crm.extensions import db
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus


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
