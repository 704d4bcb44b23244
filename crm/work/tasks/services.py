"""Changes of work tasks. Every function takes the actor, checks everything before it writes, flushes
and never commits (the request or the job does).

Who may do what: anyone makes personal tasks; `work.task.arrange` lets a manager arrange work for the
people of their data scope (`visible(User)`); the owner, the participants and the creator of a task work
on it (complete it, tick its subtasks, comment, attach files); its owner and creator, or a manager who
may arrange work for its owner, edit it. `work.tag.manage` manages the tags of the stores in scope."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.extensions import db
from crm.integrations.webhooks.services import publish
from crm.notify.services import notify
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.opportunities.models import Opportunity
from crm.sales.orders.models import Order
from crm.sales.quotes.models import Quote
from crm.work.tasks.models import Priority
from crm.work.tasks.models import WorkStatus
from crm.work.tasks.models import WorkSubtask
from crm.work.tasks.models import WorkTag
from crm.work.tasks.models import WorkTask
from crm.work.tasks.models import WorkTaskParticipant
from crm.work.tasks.models import WorkTaskSeries
from crm.work.tasks.models import WorkTaskTag
from crm.work.tasks.schedule import due_moment
from crm.work.tasks.schedule import next_occurrence
from crm.work.tasks.schemas import SubtaskInput
from crm.work.tasks.schemas import TagInput
from crm.work.tasks.schemas import TaskInput

RELATED_MODELS: dict[str, type] = {"customer": Customer, "contact": Contact, "opportunity": Opportunity,
                                   "quote": Quote, "order": Order}
MAX_SUBTASKS = 50
BATCH = 500


def task_url(task_id: int) -> str:
    return f"/work/tasks/{task_id}"


# Reading one ------------------------------------------------------------------------------------------------
def get_task(task_id: Any, actor: User) -> WorkTask:
    return get_visible(WorkTask, task_id, actor)


def participant_ids(task: WorkTask) -> list[int]:
    return list(db.session.scalars(select(WorkTaskParticipant.user_id).where(WorkTaskParticipant.task_id == task.id)
                                   .order_by(WorkTaskParticipant.user_id)))


def is_involved(task: WorkTask, actor: User) -> bool:
    return actor.id in (task.owner_id, task.created_by_id) or actor.id in participant_ids(task)


def may_edit(task: WorkTask, actor: User) -> bool:
    if actor.id in (task.owner_id, task.created_by_id):
        return True
    return actor.can("work.task.arrange") and _in_scope(actor, [task.owner_id]) == [task.owner_id]


def _in_scope(actor: User, user_ids: list[int]) -> list[int]:
    """Of `user_ids`, the active people the actor's data scope covers (whom they may arrange work for)."""
    if not user_ids:
        return []
    found = set(db.session.scalars(visible(select(User.id).where(User.id.in_(user_ids), User.active), actor, User)))
    return [u for u in user_ids if u in found]


def may_see_related(object_type: str | None, object_id: int | None, user: User) -> bool:
    if object_type is None or object_id is None:
        return True
    model = RELATED_MODELS.get(object_type)
    if model is None:
        return False
    try:
        if model is Contact:
            contact = db.session.get(Contact, object_id)
            if contact is None:
                return False
            get_visible(Customer, contact.customer_id, user)
        else:
            get_visible(model, object_id, user)
    except NotFound:
        return False
    return True


def _related_store(object_type: str, object_id: int, actor: User) -> int | None:
    """The related record's store, or None when the actor may not see it (or it does not exist)."""
    if not may_see_related(object_type, object_id, actor):
        return None
    model = RELATED_MODELS[object_type]
    row = db.session.get(model, object_id)
    return getattr(row, "store_id", None)


# Writing --------------------------------------------------------------------------------------------------
def _people(values: dict[str, Any], actor: User, errors: dict[str, Any]) -> list[User]:
    """The owners of the new task(s): the chosen people (arranged), or the actor (personal)."""
    chosen = values.get("assignee_ids") or []
    if not chosen or chosen == [actor.id]:
        return [actor]
    if not actor.can("work.task.arrange"):
        errors["assignee_ids"] = str(_l("You may not arrange work for other people."))
        return []
    allowed = _in_scope(actor, chosen)
    if len(allowed) != len(chosen):
        errors["assignee_ids"] = str(_l("You may arrange work only for people in your scope."))
        return []
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(chosen)))}
    return [users[u] for u in chosen]


def _participants(ids: list[int], store_id: int | None, unit_id: int, errors: dict[str, Any]) -> list[int]:
    """Participants are active colleagues of the task's store (or of the owner's unit outside stores)."""
    if not ids:
        return []
    stmt = select(User.id).where(User.id.in_(ids), User.active)
    stmt = stmt.where(User.store_id == store_id) if store_id is not None else stmt.where(User.org_unit_id == unit_id)
    found = set(db.session.scalars(stmt))
    if len(found) != len(ids):
        errors["participant_ids"] = str(_l("Participants must be active colleagues of the task's store."))
    return [i for i in ids if i in found]


def _tags(ids: list[int], store_id: int | None, errors: dict[str, Any]) -> list[int]:
    if not ids:
        return []
    found = set(db.session.scalars(select(WorkTag.id).where(WorkTag.id.in_(ids), WorkTag.store_id == store_id)))
    if len(found) != len(ids):
        errors["tag_ids"] = str(_l("Choose tags of the task's store."))
    return [i for i in ids if i in found]


def _check_related(values: dict[str, Any], store_ids: set[int | None], actor: User, errors: dict[str, Any]) -> None:
    object_type, object_id = values.get("object_type"), values.get("object_id")
    if object_type is None or object_id is None:
        return
    store = _related_store(object_type, object_id, actor)
    if store is None or store_ids != {store}:
        errors["object_id"] = str(_l("No such record of the task's store that you may see."))


def _apply(task: WorkTask, values: dict[str, Any]) -> None:
    task.title = values["title"]
    task.description = values.get("description")
    task.priority = int(values.get("priority", Priority.NONE))
    task.due_on = values.get("due_on")
    task.due_time = values.get("due_time")
    old_remind = task.remind_at
    task.due_at = due_moment(task.due_on, task.due_time)
    task.remind_minutes = values.get("remind_minutes")
    task.remind_at = (task.due_at - timedelta(minutes=task.remind_minutes)
                      if task.due_at is not None and task.remind_minutes else None)
    if task.remind_at != old_remind:
        task.reminded_at = None
    task.object_type = values.get("object_type")
    task.object_id = values.get("object_id") if task.object_type else None


def _set_links(task_id: int, participants: list[int], tags: list[int]) -> None:
    db.session.execute(delete(WorkTaskParticipant).where(WorkTaskParticipant.task_id == task_id))
    db.session.execute(delete(WorkTaskTag).where(WorkTaskTag.task_id == task_id))
    if participants:
        db.session.execute(insert(WorkTaskParticipant), [{"task_id": task_id, "user_id": u} for u in participants])
    if tags:
        db.session.execute(insert(WorkTaskTag), [{"task_id": task_id, "tag_id": t} for t in tags])


def create_tasks(data: Loaded | dict[str, Any], *, actor: User) -> list[WorkTask]:
    """A personal task, or work arranged for the chosen people: one task each, or one shared task (the
    first is its owner, the others participants). Everyone it was arranged for is notified."""
    loaded = load_input(TaskInput(), data)
    values, errors = loaded.values, dict(loaded.errors)
    owners = _people(values, actor, errors) if "assignee_ids" not in errors else []
    shared = bool(values.get("shared")) and len(owners) > 1
    groups = [(owners[0], [u.id for u in owners[1:]])] if shared else [(u, []) for u in owners]
    stores = {u.store_id for u in owners}
    extra: list[int] = []
    if owners and "participant_ids" not in errors:
        if len(stores) > 1 and values.get("participant_ids"):
            errors["participant_ids"] = str(_l("Participants need the people arranged for to be of one store."))
        else:
            extra = _participants(values.get("participant_ids") or [], owners[0].store_id, owners[0].org_unit_id, errors)
    tags: list[int] = []
    if owners and values.get("tag_ids") and "tag_ids" not in errors:
        if len(stores) > 1:
            errors["tag_ids"] = str(_l("Tags need the people arranged for to be of one store."))
        else:
            tags = _tags(values["tag_ids"], owners[0].store_id, errors)
    if owners and "object_id" not in errors and "object_type" not in errors:
        _check_related(values, stores, actor, errors)
    if shared and "participant_ids" not in errors and len(stores) > 1:
        errors["shared"] = str(_l("A shared task needs people of one store."))
    if errors:
        raise ValidationFailed(errors)
    series = None
    if values.get("recurrence") is not None:
        series = WorkTaskSeries(store_id=owners[0].store_id, recurrence=values["recurrence"],
                                anchor_day=values["due_on"].day, created_by_id=actor.id)
        db.session.add(series)
    made: list[WorkTask] = []
    for owner, others in groups:
        task = WorkTask(store_id=owner.store_id, unit_id=owner.org_unit_id, owner_id=owner.id, created_by_id=actor.id,
                        arranged=owner.id != actor.id or bool(others), status=WorkStatus.OPEN)
        _apply(task, values)
        if series is not None:
            if len(groups) > 1:  # every person's task is its own series
                series = WorkTaskSeries(store_id=owner.store_id, recurrence=values["recurrence"],
                                        anchor_day=values["due_on"].day, created_by_id=actor.id)
                db.session.add(series)
            db.session.flush()
            task.series_id, task.occurrence_on = series.id, task.due_on
        db.session.add(task)
        db.session.flush()
        people = [u for u in dict.fromkeys([*others, *extra]) if u != owner.id]
        _set_links(task.id, people, tags)
        made.append(task)
        _announce_task("task.created", task)
        told = [u for u in [owner.id, *people] if u != actor.id]
        if told:
            notify(told, "work_task_arranged", _l("%(name)s arranged work for you: %(title)s", name=actor.name,
                                                   title=task.title), url=task_url(task.id), store_id=task.store_id)
    db.session.flush()
    return made


def update_task(task_id: Any, data: Loaded | dict[str, Any], *, actor: User) -> WorkTask:
    """Edit a task's fields, participants, tags and related record (not its owner or its recurrence)."""
    task = get_task(task_id, actor)
    if not may_edit(task, actor):
        raise PermissionDenied()
    if not task.is_open:
        raise InvalidTransition(_l("This task is closed."))
    loaded = load_input(TaskInput(), data)
    values, errors = loaded.values, dict(loaded.errors)
    errors.pop("recurrence", None)
    participants = _participants(values.get("participant_ids") or [], task.store_id, task.unit_id, errors) \
        if "participant_ids" not in errors else []
    tags = _tags(values.get("tag_ids") or [], task.store_id, errors) if "tag_ids" not in errors else []
    if "object_id" not in errors and "object_type" not in errors:
        _check_related(values, {task.store_id}, actor, errors)
    if errors:
        raise ValidationFailed(errors)
    _apply(task, values)
    _flush()
    _set_links(task.id, [p for p in participants if p != task.owner_id], tags)
    db.session.flush()
    return task


def _announce(event: str, task_id: int, store_id: int | None, unit_id: int, **fields: Any) -> None:
    """The `task.created` / `task.completed` webhook of a work task (crm.integrations), in its transaction."""
    publish(event, {"task_id": task_id, "kind": "work", **fields}, store_id=store_id, unit_id=unit_id)


def _announce_task(event: str, task: WorkTask) -> None:
    _announce(event, task.id, task.store_id, task.unit_id, title=task.title, status=task.status.value,
              owner_id=task.owner_id, created_by_id=task.created_by_id, due_at=task.due_at,
              completed_at=task.completed_at, completed_by_id=task.completed_by_id,
              object_type=task.object_type, object_id=task.object_id)


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None


def complete(task_id: Any, *, actor: User) -> WorkTask:
    """Done (by its owner, a participant or its creator); a recurring task's next occurrence is made."""
    task = get_task(task_id, actor)
    if not is_involved(task, actor):
        raise PermissionDenied()
    # Lock the row and read it again: the recurrence job may be making the next occurrence of this very
    # task; waiting for it (instead of failing on the version) leaves one next occurrence and a done task.
    db.session.refresh(task, with_for_update=True)
    if not task.is_open:
        raise InvalidTransition(_l("This task is already done."))
    now = utcnow()
    task.status, task.completed_at, task.completed_by_id = WorkStatus.DONE, now, actor.id
    _flush()
    _announce_task("task.completed", task)
    if task.series_id is not None and task.next_made_at is None:
        make_next(task, now)
    return task


def reopen(task_id: Any, *, actor: User) -> WorkTask:
    task = get_task(task_id, actor)
    if not is_involved(task, actor):
        raise PermissionDenied()
    if task.status != WorkStatus.DONE:
        raise InvalidTransition(_l("This task is not done."))
    task.status, task.completed_at, task.completed_by_id = WorkStatus.OPEN, None, None
    _flush()
    return task


def cancel(task_id: Any, *, actor: User) -> WorkTask:
    task = get_task(task_id, actor)
    if not may_edit(task, actor):
        raise PermissionDenied()
    if not task.is_open:
        raise InvalidTransition(_l("This task is closed."))
    task.status = WorkStatus.CANCELLED
    _flush()
    return task


# Recurrence -------------------------------------------------------------------------------------------------
def make_next(task: WorkTask, now: datetime) -> int | None:
    """The occurrence after `task` (its copy on the series' next day, open, subtasks not done), made once:
    the insert skips when the series has that day already (another request or the job made it). Returns
    the new task's id, or None when it existed."""
    series = db.session.get(WorkTaskSeries, task.series_id)
    task.next_made_at = now
    _flush()
    if series is None or task.due_on is None:
        return None
    day = next_occurrence(task.occurrence_on or task.due_on, series.recurrence, series.anchor_day, local_today())
    due_at = due_moment(day, task.due_time)
    row = {
        "store_id": task.store_id, "unit_id": task.unit_id, "title": task.title, "description": task.description,
        "priority": task.priority, "status": WorkStatus.OPEN.value, "owner_id": task.owner_id,
        "created_by_id": task.created_by_id, "arranged": task.arranged, "due_on": day, "due_time": task.due_time,
        "due_at": due_at, "remind_minutes": task.remind_minutes,
        "remind_at": (due_at - timedelta(minutes=task.remind_minutes))
        if due_at is not None and task.remind_minutes else None,
        "object_type": task.object_type, "object_id": task.object_id, "series_id": series.id,
        "occurrence_on": day, "lock_version": 1, "created_at": now, "updated_at": now,
    }
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(WorkTask).values(row).on_conflict_do_nothing(
        index_elements=["series_id", "occurrence_on"]).returning(WorkTask.id)
    try:
        new_id = db.session.scalar(stmt)
    except IntegrityError:  # pragma: no cover - the conflict clause covers it
        return None
    if new_id is None:
        return None
    people = participant_ids(task)
    tags = list(db.session.scalars(select(WorkTaskTag.tag_id).where(WorkTaskTag.task_id == task.id)))
    _set_links(new_id, people, tags)
    _announce("task.created", int(new_id), task.store_id, task.unit_id, title=task.title, status=WorkStatus.OPEN.value,
              owner_id=task.owner_id, created_by_id=task.created_by_id, due_at=due_at, completed_at=None,
              completed_by_id=None, object_type=task.object_type, object_id=task.object_id)
    subtasks = db.session.execute(select(WorkSubtask.title, WorkSubtask.position)
                                  .where(WorkSubtask.task_id == task.id)).all()
    if subtasks:
        db.session.execute(insert(WorkSubtask), [{"task_id": new_id, "title": t, "position": p, "done": False}
                                                 for t, p in subtasks])
    return int(new_id)


# Subtasks ---------------------------------------------------------------------------------------------------
def add_subtask(task_id: Any, data: Loaded | dict[str, Any], *, actor: User) -> WorkSubtask:
    task = get_task(task_id, actor)
    if not is_involved(task, actor) and not may_edit(task, actor):
        raise PermissionDenied()
    loaded = load_input(SubtaskInput(), data)
    errors = dict(loaded.errors)
    count = db.session.scalar(select(func.count()).select_from(WorkSubtask).where(WorkSubtask.task_id == task.id)) or 0
    if count >= MAX_SUBTASKS:
        errors["title"] = str(_l("A task has at most %(n)d subtasks.", n=MAX_SUBTASKS))
    if errors:
        raise ValidationFailed(errors)
    sub = WorkSubtask(task_id=task.id, title=loaded.values["title"], position=count)
    db.session.add(sub)
    db.session.flush()
    return sub


def set_subtask(task_id: Any, subtask_id: Any, done: bool, *, actor: User) -> WorkSubtask:
    task = get_task(task_id, actor)
    if not is_involved(task, actor) and not may_edit(task, actor):
        raise PermissionDenied()
    sub = db.session.get(WorkSubtask, row_id(subtask_id))
    if sub is None or sub.task_id != task.id:
        raise NotFound()
    sub.done, sub.done_at, sub.done_by_id = done, utcnow() if done else None, actor.id if done else None
    db.session.flush()
    return sub


def subtasks(task: WorkTask) -> list[WorkSubtask]:
    return list(db.session.scalars(select(WorkSubtask).where(WorkSubtask.task_id == task.id)
                                   .order_by(WorkSubtask.position, WorkSubtask.id)))


def row_id(raw: Any) -> int:
    """An id from a URL or a form, or NotFound (never a 500 on garbage, never a 403 that leaks)."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < value < 2**31:
        raise NotFound()
    return value


# Tags -------------------------------------------------------------------------------------------------------
def create_tag(data: Loaded | dict[str, Any], *, actor: User) -> WorkTag:
    if not actor.can("work.tag.manage"):
        raise PermissionDenied()
    loaded = load_input(TagInput(), data)
    errors = dict(loaded.errors)
    store_id = loaded.values.get("store_id") or actor.store_id
    if "store_id" not in errors:
        if store_id is None:
            errors["store_id"] = str(_l("Choose a store."))
        else:
            try:
                unit = get_visible(OrgUnit, store_id, actor)
                if not unit.is_store:
                    raise NotFound()
            except NotFound:
                errors["store_id"] = str(_l("Choose a store of your scope."))
    if not errors and db.session.scalar(select(WorkTag.id).where(WorkTag.store_id == store_id,
                                                                 WorkTag.name == loaded.values["name"])):
        errors["name"] = str(_l("The store has this tag already."))
    if errors:
        raise ValidationFailed(errors)
    tag = WorkTag(store_id=store_id, name=loaded.values["name"], created_at=utcnow())
    db.session.add(tag)
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(_l("The store has this tag already.")) from None
    return tag


def delete_tag(tag_id: Any, *, actor: User) -> None:
    if not actor.can("work.tag.manage"):
        raise PermissionDenied()
    tag = get_visible(WorkTag, tag_id, actor)
    db.session.delete(tag)
    db.session.flush()
