"""Task actions as services: claim, unclaim, reassign, delegate, dates and priority, comments, drafts
(files: `task_files`; saved inbox filters: `task_filters`; the lists: `task_queries`).

Every action takes the actor explicitly, flushes and never commits (the request owns the transaction).
The task row is read again under a lock (`SELECT … FOR UPDATE` on PostgreSQL) so that two people acting
on one task at once are serialised: the first wins, the second gets a clear `Conflict`. Each action is
permission-checked and writes a `ProcessEvent`, so it shows in the instance history.

Who may do what:
- see a task: its assignee, its candidates, and users whose data scope covers it (`HumanTask.__visibility__`);
  anyone else gets `NotFound`, exactly like a missing task;
- claim: candidates of an unclaimed task; unclaim: the assignee (a delegate returns the task to whoever
  delegated it), or a manager;
- manager of a task: `process.admin`, or `task.reassign` together with a data scope covering the task,
  or being its assignee, one of its candidates of an unclaimed task, or a supervisor (up the chain) of
  them. Managers reassign, delegate, unclaim and set the due date and priority; the assignee may also
  delegate and set the follow-up date;
- comment: anyone who sees the task; attach files and save drafts: on open tasks, by those who may
  complete them (the assignee, or a candidate of an unclaimed task)."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.extensions import db
from crm.org.models import User
from crm.workflow import engine
from crm.workflow import locks
from crm.workflow import runtime
from crm.workflow.models import TASK_SCOPE
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import ProcessSpec
from crm.workflow.models import TaskAttachment
from crm.workflow.models import TaskComment
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import forms
from crm.workflow.tasks import reminders
from crm.workflow.tasks.forms import Form
from crm.workflow.tasks.forms import Posted

Errors = dict[str, list[str]]

KEEP: Any = object()  # "leave this value as it is" for set_dates
COMMENT_MAX = 4000


# Reading and locking --------------------------------------------------------------------------------------
def valid_id(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < value < 2**31:
        raise NotFound()
    return value


def get_task(task_id: Any, actor: User) -> HumanTask:
    """The task, if the actor may see it (assignee, candidate, or in their data scope); else NotFound."""
    return get_visible(HumanTask, valid_id(task_id), actor)


def task_for_completion(task_id: Any, actor: User) -> HumanTask:
    """The task a request is about to complete (or save a draft of), read once, under the completion's
    lock (`locks.lock_task`), if the actor may see it; else NotFound, as `get_task`. The task is
    theirs when they may complete it; any other task only if their data scope shows it."""
    task, _instance = locks.lock_task(valid_id(task_id), actor.id)
    if actor.active and locks.may_complete(task, actor.id):
        return task
    if db.session.scalar(visible(select(HumanTask.id).where(HumanTask.id == task.id), actor, HumanTask)) is None:
        raise NotFound()
    return task


def locked_task(task_id: Any, actor: User) -> HumanTask:
    """The task read again under a row lock (PostgreSQL), if the actor may see it."""
    stmt = visible(select(HumanTask).where(HumanTask.id == valid_id(task_id)), actor, HumanTask)
    stmt = stmt.execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=HumanTask)
    task: HumanTask | None = db.session.scalar(stmt)
    if task is None:
        raise NotFound()
    return task


def candidate_ids(task: HumanTask) -> list[int]:
    return list(db.session.scalars(
        select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id).order_by(HumanTaskCandidate.user_id)
    ))


def is_candidate(task: HumanTask, user: User) -> bool:
    return locks.is_candidate(task.id, user.id)


def can_complete(task: HumanTask, actor: User) -> bool:
    """The assignee, or a candidate of an unclaimed task: the runtime's rule (`locks.may_complete`)."""
    return task.is_open and locks.may_complete(task, actor.id)


def _supervises(actor: User, user_ids: Iterable[int]) -> bool:
    """Is the actor above any of these users in the supervisor chain?"""
    ids = [uid for uid in user_ids if uid and uid != actor.id]
    if not ids:
        return False
    chain = select(User.id).where(User.supervisor_id == actor.id).cte("below", recursive=True)
    below = aliased(User)
    chain = chain.union(select(below.id).where(below.supervisor_id == chain.c.id))
    return db.session.scalar(select(chain.c.id).where(chain.c.id.in_(ids)).limit(1)) is not None


def can_manage(task: HumanTask, actor: User) -> bool:
    """May reassign, delegate, unclaim for others and set the due date and priority of this task."""
    if actor.can("process.admin"):
        return True
    if not actor.can("task.reassign"):
        return False
    in_scope = db.session.scalar(
        select(HumanTask.id).where(HumanTask.id == task.id, scope_context(actor).clause(HumanTask, TASK_SCOPE))
    )
    if in_scope is not None:
        return True
    people = [task.assignee_id] if task.assignee_id else candidate_ids(task)
    if actor.id in people:  # their own (or their group's) task
        return True
    return _supervises(actor, [uid for uid in people if uid is not None])


def check_open(task: HumanTask) -> None:
    if not task.is_open:
        raise Conflict(_l("This task was already completed or cancelled."))


def _name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.name if user is not None else str(_l("someone else"))


def record_event(task: HumanTask, kind: str, actor: User, **details: Any) -> None:
    details = {"task_id": task.id, "title": task.title, **details}
    db.session.add(ProcessEvent(
        instance_id=task.instance_id, kind=kind, actor_id=actor.id, task_guid=task.task_guid, bpmn_id=task.bpmn_id,
        details=json.loads(json.dumps(details, default=str)), occurred_at=utcnow(),
    ))


def _add_candidate(task: HumanTask, user_id: int) -> None:
    if not db.session.get(HumanTaskCandidate, (task.id, user_id)):
        db.session.add(HumanTaskCandidate(task_id=task.id, user_id=user_id))


# Claim, unclaim, reassign, delegate -------------------------------------------------------------------------
def claim(task_id: Any, *, actor: User) -> HumanTask:
    task = locked_task(task_id, actor)
    check_open(task)
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None:
        raise Conflict(_l("%(name)s has already claimed this task.", name=_name(task.assignee_id)))
    if not is_candidate(task, actor):
        raise PermissionDenied(_l("Only the candidates of this task can claim it."))
    task.assignee_id = actor.id
    task.delegated_by_id = None
    task.status = TaskStatus.CLAIMED
    record_event(task, "claimed", actor)
    db.session.flush()
    return task


def unclaim(task_id: Any, *, actor: User) -> HumanTask:
    """Give the task back to its candidates; a delegate gives it back to whoever delegated it."""
    task = locked_task(task_id, actor)
    check_open(task)
    if task.assignee_id is None:
        raise InvalidTransition(_l("Nobody has claimed this task."))
    own = task.assignee_id == actor.id
    if not own and not can_manage(task, actor):
        raise PermissionDenied(_l("Only the assignee or their supervisor can release this task."))
    if own and task.delegated_by_id is not None:
        owner = task.delegated_by_id
        task.assignee_id, task.delegated_by_id = owner, None
        record_event(task, "delegation_returned", actor, to=owner)
        db.session.flush()
        return task
    others = [uid for uid in candidate_ids(task) if uid != task.assignee_id]
    if not others and not can_manage(task, actor):
        raise InvalidTransition(_l("Nobody else may take this task; ask your supervisor to reassign it."))
    previous = task.assignee_id
    task.assignee_id = None
    task.delegated_by_id = None
    task.status = TaskStatus.OPEN
    record_event(task, "unclaimed", actor, previous=previous)
    db.session.flush()
    return task


def _colleagues(task: HumanTask, actor: User) -> Any:
    """Active users a task may go to: the people of its store (the isolation boundary); a task of no
    store goes to people the actor may see."""
    stmt = select(User).where(User.active)
    if task.store_id is not None:
        return stmt.where(User.store_id == task.store_id)
    return visible(stmt, actor, User)


def assignable_users(task: HumanTask, actor: User) -> list[User]:
    return list(db.session.scalars(_colleagues(task, actor).order_by(User.name, User.id).limit(500)))


def _target(task: HumanTask, user_id: Any, actor: User) -> User:
    message = _l("Choose an active colleague of the task's store.")
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"user_id": message}) from None
    if not 0 < key < 2**31:
        raise ValidationFailed({"user_id": message})
    user: User | None = db.session.scalar(_colleagues(task, actor).where(User.id == key))
    if user is None:
        raise ValidationFailed({"user_id": message})
    return user


def reassign(task_id: Any, user_id: Any, *, actor: User) -> HumanTask:
    task = locked_task(task_id, actor)
    check_open(task)
    if not can_manage(task, actor):
        raise PermissionDenied(_l("Only a supervisor of the people on this task can reassign it."))
    user = _target(task, user_id, actor)
    if task.assignee_id == user.id:
        return task
    previous = task.assignee_id
    task.assignee_id = user.id
    task.delegated_by_id = None
    task.status = TaskStatus.CLAIMED
    _add_candidate(task, user.id)
    record_event(task, "reassigned", actor, previous=previous, to=user.id)
    db.session.flush()
    return task


def delegate(task_id: Any, user_id: Any, *, actor: User) -> HumanTask:
    """Hand a claimed task to someone else, keeping its owner: the delegate completes it or returns it."""
    task = locked_task(task_id, actor)
    check_open(task)
    if task.assignee_id is None:
        raise InvalidTransition(_l("Only a claimed task can be delegated; claim it first."))
    if task.assignee_id != actor.id and not can_manage(task, actor):
        raise PermissionDenied(_l("Only the assignee or their supervisor can delegate this task."))
    user = _target(task, user_id, actor)
    if user.id == task.assignee_id:
        raise ValidationFailed({"user_id": _l("The task is already assigned to %(name)s.", name=user.name)})
    owner = task.delegated_by_id or task.assignee_id
    previous = task.assignee_id
    task.assignee_id = user.id
    task.delegated_by_id = owner if owner != user.id else None
    _add_candidate(task, user.id)
    record_event(task, "delegated", actor, previous=previous, to=user.id, owner=owner)
    db.session.flush()
    return task


# Dates and priority ---------------------------------------------------------------------------------------
def set_dates(
    task_id: Any, *, actor: User, due_at: Any = KEEP, follow_up_at: Any = KEEP, priority: Any = KEEP
) -> HumanTask:
    """Due date and priority: managers of the task. Follow-up date (a personal reminder): the assignee
    or a manager. Dates are aware datetimes or None (cleared)."""
    task = locked_task(task_id, actor)
    check_open(task)
    manager = can_manage(task, actor)
    if (due_at is not KEEP or priority is not KEEP) and not manager:
        raise PermissionDenied(_l("Only a supervisor of the people on this task can change its due date or priority."))
    if follow_up_at is not KEEP and not manager and task.assignee_id != actor.id:
        raise PermissionDenied(_l("Only the assignee can set a follow-up date."))
    errors: dict[str, Any] = {}
    for field, value in (("due_at", due_at), ("follow_up_at", follow_up_at)):
        if value is not KEEP and value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            errors[field] = _l("Enter a date and time.")
    if priority is not KEEP and (isinstance(priority, bool) or priority not in (0, 1, 2)):
        errors["priority"] = _l("Choose a priority from the list.")
    if errors:
        raise ValidationFailed(errors)
    changes: dict[str, Any] = {}
    for field, value in (("due_at", due_at), ("follow_up_at", follow_up_at), ("priority", priority)):
        if value is KEEP or getattr(task, field) == value:
            continue
        changes[field] = {"old": getattr(task, field), "new": value}
        setattr(task, field, value)
    if "due_at" in changes:
        reminders.rearm(task)  # the reminder and escalations start again from the new due date
    if changes:
        record_event(task, "task_updated", actor, changes=changes)
    db.session.flush()
    return task


# Comments ---------------------------------------------------------------------------------------------------
def add_comment(task_id: Any, body: Any, *, actor: User) -> TaskComment:
    task = get_task(task_id, actor)
    errors: dict[str, str] = {}
    text = check_text(body if isinstance(body, str) else None, errors, "body", max_length=COMMENT_MAX)
    if errors:
        raise ValidationFailed(errors)
    comment = TaskComment(task_id=task.id, instance_id=task.instance_id, author_id=actor.id, body=text,
                          created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    record_event(task, "commented", actor, comment_id=comment.id, text=text[:500])
    db.session.flush()
    return comment


def comments(task: HumanTask) -> list[TaskComment]:
    return list(db.session.scalars(select(TaskComment).where(TaskComment.task_id == task.id).order_by(TaskComment.id)))


def delete_comment(task_id: Any, comment_id: Any, *, actor: User) -> None:
    task = get_task(task_id, actor)
    comment = db.session.get(TaskComment, valid_id(comment_id))
    if comment is None or comment.task_id != task.id:
        raise NotFound()
    if comment.author_id != actor.id and not actor.can("process.admin"):
        raise PermissionDenied(_l("Only its author can delete a comment."))
    db.session.delete(comment)
    record_event(task, "comment_deleted", actor, comment_id=comment.id)
    db.session.flush()


# Drafts -----------------------------------------------------------------------------------------------------
def save_draft(task_id: Any, data: dict[str, Any], *, actor: User) -> HumanTask:
    """Keep form data without completing the task (the assignee, or a candidate of an unclaimed task)."""
    task = locked_task(task_id, actor)
    check_open(task)
    if not can_complete(task, actor):
        raise PermissionDenied(_l("This task is not yours to work on; claim it first."))
    task.draft = json.loads(json.dumps(data, default=str))
    record_event(task, "draft_saved", actor)
    db.session.flush()
    return task


def task_properties(task: HumanTask) -> dict[str, str]:
    """The `spiffworkflow:properties` of the task's element, read from its instance's spec (no workflow
    is restored): e.g. `kind` = "approval" for the approval process's decision tasks."""
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    if not engine.knows_specs(instance.spec_sha256):
        spec = db.session.get(ProcessSpec, instance.spec_sha256)
        if spec is None:
            return {}
        engine.remember_specs(instance.spec_sha256, spec.specs)
    return engine.element_properties(instance.spec_sha256, task.process_key, task.bpmn_id)


def task_kind(task: HumanTask) -> str | None:
    """What kind of work the task is, as its diagram says (`kind` property), e.g. "approval". Instances
    started on an approval.bpmn from before the property said `approval` = "true"."""
    props = task_properties(task)
    return props.get("kind") or ("approval" if props.get("approval") == "true" else None)


def task_data(task: HumanTask, *, for_completion: bool = False) -> dict[str, Any]:
    """A copy of the engine's data of a READY task (nothing saved). Empty when the task is no longer
    READY in the engine.

    `for_completion`: the caller is about to complete the task in this transaction; the task and its
    instance are read under the lock the completion takes anyway (so the form is validated against the
    data the step will see), and the workflow is deserialized once for both."""
    from uuid import UUID

    instance: ProcessInstance | None
    if for_completion:
        task, instance = locks.lock_task(task.id)
        wf = runtime.prepared_workflow(instance)
    else:
        instance = db.session.get(ProcessInstance, task.instance_id)
        if instance is None:
            return {}
        specs_json = None
        if not engine.knows_specs(instance.spec_sha256):
            spec = db.session.get(ProcessSpec, instance.spec_sha256)
            if spec is None:
                return {}
            specs_json = spec.specs
        wf = engine.load_state(instance.state, instance.spec_sha256, specs_json)
    try:
        spiff_task = wf.get_task_from_id(UUID(task.task_guid))
    except Exception:  # noqa: BLE001 — the task is gone from the engine (completed, cancelled)
        return {}
    data: dict[str, Any] = json.loads(json.dumps(spiff_task.data, default=str))
    return data


# Completing a task: the one path of the task page and the API ------------------------------------------------
class Submission(Protocol):
    """What a request hands in to complete a task: the page's posted form, or the API's JSON."""

    def parse(self, form: Form, data: dict[str, Any], draft: dict[str, Any] | None,
              attachment_ids: Callable[[], set[int]]) -> tuple[dict[str, Any], dict[str, Any] | None, Errors]:
        """(the task data to complete with, the values as typed for a re-render or None, errors)."""
        ...


@dataclass(frozen=True)
class FormSubmission:
    """A posted HTML form; `store` keeps an uploaded file as a task attachment and returns its id."""

    posted: Posted
    store: Callable[..., int] | None = None

    def parse(self, form: Form, data: dict[str, Any], draft: dict[str, Any] | None,
              attachment_ids: Callable[[], set[int]]) -> tuple[dict[str, Any], dict[str, Any] | None, Errors]:
        return forms.parse_form(form, self.posted, data, draft, self.store)


@dataclass(frozen=True)
class JsonSubmission:
    """An API body: the form's values as JSON; file fields name attachments of the task by id."""

    body: Any

    def parse(self, form: Form, data: dict[str, Any], draft: dict[str, Any] | None,
              attachment_ids: Callable[[], set[int]]) -> tuple[dict[str, Any], dict[str, Any] | None, Errors]:
        values, errors = forms.parse_json(form, self.body, data, attachment_ids() if form.has_files else set())
        return values, None, errors


class FormRefused(ValidationFailed):
    """The submission does not fit the task's form: errors per field, and the values as typed."""

    def __init__(self, errors: Errors, raw: dict[str, Any] | None) -> None:
        super().__init__(errors)
        self.raw = raw


@dataclass(frozen=True)
class Completion:
    task: HumanTask  # the completed task
    title: str  # its title as the actor read it before completing


def complete(task_id: Any, submission: Submission, *, actor: User) -> Completion:
    """Complete a task with a submission, as its assignee or a candidate of an unclaimed task: the task
    is read under the completion's lock, the submission is checked against the task's form and the data
    the step will see, and the process runs on to its next wait (`runtime.complete_task`, one step).
    Refusals are DomainErrors: NotFound (not visible), Conflict (already done, claimed by someone else),
    FormUnavailable (broken form files), FormRefused (per field), StepFailed (the process stopped; its
    error is kept on the instance). Every refusal carries `raw`, the values as typed, when there are."""
    task = task_for_completion(task_id, actor)
    if not task.is_open:
        raise Conflict(_l("This task was already completed or cancelled."))
    data = task_data(task, for_completion=True)
    form = forms.load_form(task.form_schema, task.form_uischema, data)
    values: dict[str, Any] = {}
    raw: dict[str, Any] | None = None
    if form is not None:
        values, raw, errors = submission.parse(form, data, task.draft, lambda: _attachment_ids(task))
        if errors:
            raise FormRefused(errors, raw)
    title = task.shown_title
    try:
        runtime.complete_task(task.id, values, actor_id=actor.id)
    except DomainError as exc:
        exc.raw = raw  # the page shows the form again as typed
        raise
    return Completion(task, title)


def _attachment_ids(task: HumanTask) -> set[int]:
    return set(db.session.scalars(select(TaskAttachment.id).where(TaskAttachment.task_id == task.id)))
