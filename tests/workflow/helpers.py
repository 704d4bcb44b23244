"""Small queries the process tests share (open inbox rows, candidates, history, effects)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus

OPEN = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def tasks(instance: ProcessInstance, *statuses: TaskStatus, bpmn_id: str | None = None) -> list[HumanTask]:
    """The instance's inbox rows (open ones unless statuses are given), oldest first."""
    stmt = select(HumanTask).where(HumanTask.instance_id == instance.id,
                                   HumanTask.status.in_(statuses or OPEN)).order_by(HumanTask.id)
    if bpmn_id is not None:
        stmt = stmt.where(HumanTask.bpmn_id == bpmn_id)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def one_task(instance: ProcessInstance, bpmn_id: str | None = None) -> HumanTask:
    found = tasks(instance, bpmn_id=bpmn_id)
    assert len(found) == 1, [(t.bpmn_id, t.status) for t in found]
    return found[0]


def candidates(task: HumanTask) -> set[int]:
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))


def kinds(instance: ProcessInstance) -> list[str]:
    return [e.kind for e in runtime.history(instance.id)]


def effects(instance: ProcessInstance) -> list[str]:
    """Labels the `test.record` operator recorded for the instance, in order."""
    return [e.details["label"] for e in runtime.history(instance.id) if e.kind == "test_effect"]


def count_events(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessEvent).where(ProcessEvent.kind == kind)) or 0


def data(instance: ProcessInstance) -> dict[str, Any]:
    """The data of the instance's last completed task (the workflow's data once it has ended)."""
    wf = runtime._load(reload(instance))
    return dict(wf.data) if wf.is_completed() else dict(wf.last_task.data if wf.last_task else {})


def reload(instance: ProcessInstance) -> ProcessInstance:
    db.session.refresh(instance)
    return instance
