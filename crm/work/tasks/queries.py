"""Reads of work tasks: their branch of the one inbox (`crm.inbox.queries` merges it with the process
tasks), the badge's share, the open tasks of a record (the customer and order pages), the task page's
read model and the choices of the task form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import load_only

from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.work.tasks import discussion
from crm.work.tasks import services
from crm.work.tasks.models import WorkStatus
from crm.work.tasks.models import WorkSubtask
from crm.work.tasks.models import WorkTag
from crm.work.tasks.models import WorkTask
from crm.work.tasks.models import WorkTaskParticipant
from crm.work.tasks.models import WorkTaskSeries
from crm.work.tasks.models import WorkTaskTag
from crm.workflow.tasks.queries import TaskFilters
from crm.workflow.tasks.queries import day_window


def _mine(actor: Any) -> Any:
    participant = exists().where(WorkTaskParticipant.task_id == WorkTask.id, WorkTaskParticipant.user_id == actor.id)
    return or_(WorkTask.owner_id == actor.id, participant)


def inbox_select(actor: Any, filters: TaskFilters, now: datetime, tz: Any) -> Select[Any] | None:
    """The work tasks of an inbox view with its filters (None: the view lists none, e.g. group tasks)."""
    view = filters.view
    if view == "group" or filters.process or filters.kind == "process":
        return None
    stmt = visible(select(WorkTask), actor, WorkTask)
    if view in ("mine", "actionable"):  # a work task is never offered to claim: what I can act on is mine
        stmt = stmt.where(WorkTask.status == WorkStatus.OPEN, _mine(actor))
    elif view == "completed":
        stmt = stmt.where(WorkTask.status == WorkStatus.DONE, WorkTask.completed_by_id == actor.id)
    else:
        stmt = stmt.where(WorkTask.status == WorkStatus.OPEN)
    return _narrowed(stmt, filters, now, tz)


def inbox_selects(actor: Any, filters: TaskFilters, now: datetime, tz: Any) -> list[Select[Any]]:
    """The same rows as `inbox_select` as branches of the one inbox's UNION ALL. My tasks are two
    branches — owned, and taken part in (not owned) — so that each reads an index: "owner or participant"
    as one OR makes PostgreSQL scan every open task."""
    if filters.view not in ("mine", "actionable"):
        stmt = inbox_select(actor, filters, now, tz)
        return [] if stmt is None else [stmt]
    if filters.process or filters.kind == "process":
        return []
    base = visible(select(WorkTask), actor, WorkTask).where(WorkTask.status == WorkStatus.OPEN)
    joined = select(WorkTaskParticipant.task_id).where(WorkTaskParticipant.user_id == actor.id)
    return [_narrowed(base.where(WorkTask.owner_id == actor.id), filters, now, tz),
            _narrowed(base.where(WorkTask.owner_id != actor.id, WorkTask.id.in_(joined)), filters, now, tz)]


def _narrowed(stmt: Select[Any], filters: TaskFilters, now: datetime, tz: Any) -> Select[Any]:
    """The view's due window and the list's filters."""
    view = filters.view
    start, end = day_window(now, tz)
    if view == "overdue":
        stmt = stmt.where(WorkTask.due_at < now)
    elif view == "today":
        stmt = stmt.where(WorkTask.due_at >= now, WorkTask.due_at < end)
    if filters.due == "overdue":
        stmt = stmt.where(WorkTask.due_at < now)
    elif filters.due == "today":
        stmt = stmt.where(WorkTask.due_at >= now, WorkTask.due_at < end)
    elif filters.due == "week":
        stmt = stmt.where(WorkTask.due_at >= now, WorkTask.due_at < start + timedelta(days=7))
    elif filters.due == "later":
        stmt = stmt.where(WorkTask.due_at >= start + timedelta(days=7))
    elif filters.due == "none":
        stmt = stmt.where(WorkTask.due_at.is_(None))
    if filters.store_id:
        stmt = stmt.where(WorkTask.store_id == filters.store_id)
    if filters.object_type:
        stmt = stmt.where(WorkTask.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(WorkTask.object_id == filters.object_id)
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(WorkTask.title.ilike(pattern, escape="\\"))
    return stmt


def badge_selects(actor: Any) -> list[Select[Any]]:
    """The ids of the actor's open work tasks (owned, or taken part in): their share of the badge, as
    two index reads (owner; participant) rather than one OR."""
    owned = select(WorkTask.id).where(WorkTask.owner_id == actor.id, WorkTask.status == WorkStatus.OPEN)
    joined = (select(WorkTask.id).join(WorkTaskParticipant, WorkTaskParticipant.task_id == WorkTask.id)
              .where(WorkTaskParticipant.user_id == actor.id, WorkTask.owner_id != actor.id,
                     WorkTask.status == WorkStatus.OPEN))
    ctx = scope_context(actor)
    if ctx.store_filter is not None:
        owned = owned.where(WorkTask.store_id.in_(ctx.store_filter))
        joined = joined.where(WorkTask.store_id.in_(ctx.store_filter))
    return [owned, joined]


def due_counts(actor: Any, now: datetime, tz: Any) -> tuple[int, int]:
    """How many of the actor's open work tasks (owned, or taken part in) are overdue and due later today:
    the home page's "My work today", in one statement (the same rows as the inbox's "mine" with the due
    filter "overdue" or "today")."""
    _start, end = day_window(now, tz)
    stmt = (visible(select(func.count(case((WorkTask.due_at < now, 1))), func.count(case((WorkTask.due_at >= now, 1))))
                    .select_from(WorkTask), actor, WorkTask)
            .where(WorkTask.status == WorkStatus.OPEN, WorkTask.due_at < end, _mine(actor)))
    overdue, today = db.session.execute(stmt).one()
    return int(overdue or 0), int(today or 0)


# What the one inbox's list shows of a work task (`by_ids(listed_only=True)`): not the description.
LISTED = (WorkTask.id, WorkTask.store_id, WorkTask.title, WorkTask.priority, WorkTask.status, WorkTask.owner_id,
          WorkTask.due_on, WorkTask.due_time, WorkTask.due_at, WorkTask.object_type, WorkTask.object_id,
          WorkTask.completed_at, WorkTask.completed_by_id, WorkTask.created_at, WorkTask.lock_version)


def by_ids(ids: list[int], *, listed_only: bool = False) -> tuple[dict[int, WorkTask], dict[int, tuple[int, int]]]:
    """A page of tasks by id and their subtask progress (id -> (done, all), tasks with subtasks only), in
    one statement: the progress is two correlated counts on the subtask index. `listed_only`: the rows
    carry only `LISTED` (reading another column raises)."""
    if not ids:
        return {}, {}
    done = (select(func.count()).where(WorkSubtask.task_id == WorkTask.id, WorkSubtask.done)
            .correlate(WorkTask).scalar_subquery())
    total = select(func.count()).where(WorkSubtask.task_id == WorkTask.id).correlate(WorkTask).scalar_subquery()
    tasks: dict[int, WorkTask] = {}
    progress: dict[int, tuple[int, int]] = {}
    stmt = select(WorkTask, done, total).where(WorkTask.id.in_(ids))
    if listed_only:
        stmt = stmt.options(load_only(*LISTED, raiseload=True))
    for task, d, n in db.session.execute(stmt):
        tasks[task.id] = task
        if n:
            progress[task.id] = (int(d), int(n))
    return tasks, progress


def open_tasks_of(object_type: str, object_id: int, actor: Any, limit: int = 20) -> list[WorkTask]:
    """The open tasks about a record that the reader may see, soonest due first."""
    stmt = visible(select(WorkTask), actor, WorkTask).where(
        WorkTask.object_type == object_type, WorkTask.object_id == object_id, WorkTask.status == WorkStatus.OPEN)
    return list(db.session.scalars(stmt.order_by(WorkTask.due_at.is_(None), WorkTask.due_at, WorkTask.id).limit(limit)))


def user_names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {int(i): n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


# Choices of the task form --------------------------------------------------------------------------------------
def arrangeable_people(actor: Any) -> list[tuple[int, str]]:
    """Whom the actor may arrange work for: the active people of their data scope."""
    if not actor.can("work.task.arrange"):
        return []
    stmt = visible(select(User.id, User.name).where(User.active), actor, User)  # type: ignore[arg-type]
    return [(int(i), n) for i, n in db.session.execute(stmt.order_by(User.name, User.id).limit(500))]


def colleagues(store_id: int | None, unit_id: int) -> list[tuple[int, str]]:
    stmt = select(User.id, User.name).where(User.active)
    stmt = stmt.where(User.store_id == store_id) if store_id is not None else stmt.where(User.org_unit_id == unit_id)
    return [(int(i), n) for i, n in db.session.execute(stmt.order_by(User.name, User.id).limit(500))]


def tag_choices(store_id: int | None) -> list[tuple[int, str]]:
    if store_id is None:
        return []
    return [(int(i), n) for i, n in db.session.execute(
        select(WorkTag.id, WorkTag.name).where(WorkTag.store_id == store_id).order_by(WorkTag.name))]


def tags_of_scope(actor: Any) -> list[tuple[WorkTag, str]]:
    """The tags of the stores the actor sees, with their store's name (the tag page)."""
    stmt = visible(select(WorkTag, OrgUnit.name).join(OrgUnit, OrgUnit.id == WorkTag.store_id), actor, WorkTag)
    return [(t, n) for t, n in db.session.execute(stmt.order_by(OrgUnit.name, WorkTag.name))]


# The task page -----------------------------------------------------------------------------------------------
@dataclass
class TaskPage:
    task: WorkTask
    participant_ids: list[int]
    tags: list[tuple[int, str]]
    subtasks: list[WorkSubtask]
    comments: list[Any]
    attachments: list[Any]
    recurrence: str | None
    names: dict[int, str]
    can_edit: bool
    can_work: bool


def task_page(task: WorkTask, actor: Any) -> TaskPage:
    participants = services.participant_ids(task)
    comments = discussion.comments(task)
    attachments = discussion.attachments(task)
    tags = [(int(i), n) for i, n in db.session.execute(
        select(WorkTag.id, WorkTag.name).join(WorkTaskTag, WorkTaskTag.tag_id == WorkTag.id)
        .where(WorkTaskTag.task_id == task.id).order_by(WorkTag.name))]
    recurrence = db.session.scalar(select(WorkTaskSeries.recurrence).where(WorkTaskSeries.id == task.series_id)) \
        if task.series_id else None
    people = {task.owner_id, task.created_by_id or 0, task.completed_by_id or 0, *participants,
              *(c.author_id or 0 for c in comments), *(a.uploaded_by_id or 0 for a in attachments)}
    involved = actor.id in (task.owner_id, task.created_by_id) or actor.id in participants
    return TaskPage(task=task, participant_ids=participants, tags=tags, subtasks=services.subtasks(task),
                    comments=comments, attachments=attachments,
                    recurrence=recurrence.value if recurrence is not None else None, names=user_names(people),
                    can_edit=task.is_open and services.may_edit(task, actor),
                    can_work=involved or services.may_edit(task, actor))


def tag_ids_of(task: WorkTask) -> list[int]:
    return list(db.session.scalars(select(WorkTaskTag.tag_id).where(WorkTaskTag.task_id == task.id)))



def list_work(actor: Any, filters: TaskFilters, cursor: str | None, limit: int, *, now: datetime, tz: Any) -> Page[Any]:
    """One keyset page of the actor's work tasks alone (the work-task API); the one inbox merges them with
    the process tasks in `crm.inbox.merged`."""
    stmt = inbox_select(actor, filters, now, tz)
    assert stmt is not None  # a work-only filter always has a work branch
    if filters.view == "completed":
        keys = [SortKey(WorkTask.completed_at, descending=True), SortKey(WorkTask.id, descending=True)]
    elif filters.view in ("overdue", "today") or filters.sort == "due":
        stmt = stmt.where(WorkTask.due_at.is_not(None))  # keyset keys are never NULL: undated tasks are left out
        keys = [SortKey(WorkTask.due_at), SortKey(WorkTask.id)]
    elif filters.sort == "oldest":
        keys = [SortKey(WorkTask.created_at), SortKey(WorkTask.id)]
    elif filters.sort == "priority":
        keys = [SortKey(WorkTask.priority, descending=True), SortKey(WorkTask.id, descending=True)]
    else:
        keys = [SortKey(WorkTask.created_at, descending=True), SortKey(WorkTask.id, descending=True)]
    return keyset_page(db.session, stmt, keys, cursor=cursor, limit=limit)
