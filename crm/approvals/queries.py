"""Reads: the approval queue (open decision tasks of the user, with their request), requests decided by
the user, one request within scope, chains, and the requests of an object (for its page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select

from crm.approvals.models import ApprovalChain
from crm.approvals.models import ApprovalDecision
from crm.approvals.models import ApprovalRequest
from crm.approvals.models import RequestStatus
from crm.approvals.services import APPROVAL_TASK_PROCESSES
from crm.approvals.services import DECISION_TASKS
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import User
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import TaskStatus
from crm.workflow.models import title_columns


@dataclass
class QueueFilters:
    chain_key: str | None = None
    store_id: int | None = None
    object_type: str | None = None
    q: str | None = None  # free text: subject, requester, object title


def _search(q: str, *subjects: Any) -> Any:
    """The request's object title and kind (its `summary`, as the queue shows them), the requester's name, or
    a subject column of the row (the decision task's title in the pending view) contains `q`, any case.
    A contains search over the user's own queue or scope: the other filters and the scope bound the rows."""
    requesters = select(User.id).where(User.name.icontains(q, autoescape=True))
    return or_(
        ApprovalRequest.summary["title"].as_string().icontains(q, autoescape=True),
        ApprovalRequest.summary["type_label"].as_string().icontains(q, autoescape=True),
        ApprovalRequest.submitter_id.in_(requesters),
        *(column.icontains(q, autoescape=True) for column in subjects),
    )


def _filtered(stmt: Any, f: QueueFilters, *subjects: Any) -> Any:
    if f.q:
        stmt = stmt.where(_search(f.q, *subjects))
    if f.chain_key:
        stmt = stmt.where(ApprovalRequest.chain_key == f.chain_key)
    if f.store_id:
        stmt = stmt.where(ApprovalRequest.store_id == f.store_id)
    if f.object_type:
        stmt = stmt.where(ApprovalRequest.object_type == f.object_type)
    return stmt


def pending(user: Any, filters: QueueFilters | None = None, *, cursor: str | None = None, limit: int = 50) -> Any:
    """Open approval tasks the user may decide, newest first: rows (task, request)."""
    f = filters or QueueFilters()
    mine = or_(HumanTask.assignee_id == user.id, exists().where(
        HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == user.id))
    stmt = (
        select(HumanTask, ApprovalRequest)
        .join(ApprovalRequest, (ApprovalRequest.instance_id == HumanTask.instance_id)
              & (ApprovalRequest.status == RequestStatus.PENDING))
        .where(HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]),
               HumanTask.process_key.in_(APPROVAL_TASK_PROCESSES), HumanTask.bpmn_id.in_(DECISION_TASKS), mine)
    )
    return keyset_page(db.session, _filtered(stmt, f, *title_columns()), [SortKey(HumanTask.id, descending=True)], cursor=cursor,
                       limit=limit, scalars=False)


def decided_by(user: Any, filters: QueueFilters | None = None, *, cursor: str | None = None, limit: int = 50) -> Any:
    """The user's decisions, newest first: rows (decision, request)."""
    stmt = (select(ApprovalDecision, ApprovalRequest)
            .join(ApprovalRequest, ApprovalRequest.id == ApprovalDecision.request_id)
            .where(ApprovalDecision.decided_by_id == user.id))
    return keyset_page(db.session, _filtered(stmt, filters or QueueFilters()),
                       [SortKey(ApprovalDecision.id, descending=True)], cursor=cursor, limit=limit, scalars=False)


def requests_in_scope(user: Any, filters: QueueFilters | None = None, status: str | None = None, *,
                      cursor: str | None = None, limit: int = 50) -> Any:
    stmt = visible(select(ApprovalRequest), user, ApprovalRequest)
    if status in {s.value for s in RequestStatus}:
        stmt = stmt.where(ApprovalRequest.status == status)
    return keyset_page(db.session, _filtered(stmt, filters or QueueFilters()),
                       [SortKey(ApprovalRequest.id, descending=True)], cursor=cursor, limit=limit)


def request_for(request_id: int, user: Any) -> ApprovalRequest:
    return get_visible(ApprovalRequest, request_id, user)


def requests_of(object_type: str, object_id: int, user: Any) -> list[ApprovalRequest]:
    """The approvals of one object the user may see (the object page's status block)."""
    return list(db.session.scalars(
        visible(select(ApprovalRequest), user, ApprovalRequest)
        .where(ApprovalRequest.object_type == object_type, ApprovalRequest.object_id == object_id)
        .order_by(ApprovalRequest.id.desc())
    ))


def open_task_of(request: ApprovalRequest, user: Any) -> HumanTask | None:
    """The user's open decision task on this request, if any."""
    if request.instance_id is None:
        return None
    return db.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == request.instance_id, HumanTask.bpmn_id.in_(DECISION_TASKS),
            HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]),
            or_(HumanTask.assignee_id == user.id, exists().where(
                HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == user.id)))
        .limit(1))


@dataclass
class TaskDecision:
    """What an approval task's decision form shows: the request (its summary was copied onto it for its
    approvers) and who asked."""

    request: ApprovalRequest
    submitter: str | None


def decision_for_task(task: HumanTask) -> TaskDecision | None:
    """The approval request an approval task decides (the newest of the task's instance), for the generic
    task page; the page has already checked that the reader may see the task."""
    request = db.session.scalar(select(ApprovalRequest).where(ApprovalRequest.instance_id == task.instance_id)
                                .order_by(ApprovalRequest.id.desc()).limit(1))
    if request is None:
        return None
    submitter = db.session.scalar(select(User.name).where(User.id == request.submitter_id)) \
        if request.submitter_id else None
    return TaskDecision(request, submitter)


def chains() -> list[ApprovalChain]:
    return list(db.session.scalars(select(ApprovalChain).order_by(ApprovalChain.key, ApprovalChain.store_id.is_not(None),
                                                                  ApprovalChain.store_id)))
