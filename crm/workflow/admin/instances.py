"""Instance admin: the filtered instance list, what the detail page shows (element states for the
diagram, task data, history), and the repair actions — suspend, resume, terminate, retry, reassign,
migrate — each permission-checked (`process.admin`) and written to the operation log.

Everything goes through `crm.auth.scopes.visible`: an instance is placed by its object's store, owned by
who started it, and visible to the people on one of its tasks; outside the scope it does not exist (404)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.audit import OperationLog
from crm.core.clock import utcnow
from crm.core.errors import DomainError
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.admin import migration
from crm.workflow.admin import repair
from crm.workflow.admin.definitions import live_instances_on_old_versions
from crm.workflow.i18n import translated
from crm.workflow.inbox_sync import render
from crm.workflow.labels import unrendered_free
from crm.workflow.models import HumanTask
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus
from crm.workflow.models import UnmatchedMessage
from crm.workflow.runtime import StepFailed
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.queries import user_names

ADMIN = "process.admin"
LIVE = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED)


# The list -------------------------------------------------------------------------------------------------
@dataclass
class InstanceFilters:
    process: str | None = None
    status: InstanceStatus | None = None
    store_id: int | None = None
    started_by_id: int | None = None
    started_from: date | None = None
    started_to: date | None = None
    has_error: bool = False

    @classmethod
    def from_args(cls, args: Any) -> InstanceFilters:
        """Read from a query string; anything malformed counts as absent."""
        process = (args.get("process") or "").strip()
        status = args.get("status") or ""
        return cls(
            process=process if re.fullmatch(r"[\w.-]{1,100}", process) else None,
            status=InstanceStatus(status) if status in {s.value for s in InstanceStatus} else None,
            store_id=_int(args.get("store_id")),
            started_by_id=_int(args.get("started_by_id")),
            started_from=_date(args.get("started_from")),
            started_to=_date(args.get("started_to")),
            has_error=(args.get("has_error") or "") in ("1", "true", "on", "yes"),
        )

    @property
    def is_filtered(self) -> bool:
        return any((self.process, self.status, self.store_id, self.started_by_id, self.started_from,
                    self.started_to, self.has_error))

    def query_args(self) -> dict[str, Any]:
        args = {"process": self.process, "status": self.status.value if self.status else None,
                "store_id": self.store_id, "started_by_id": self.started_by_id,
                "started_from": self.started_from.isoformat() if self.started_from else None,
                "started_to": self.started_to.isoformat() if self.started_to else None,
                "has_error": "1" if self.has_error else None}
        return {k: v for k, v in args.items() if v is not None}


def _int(raw: Any) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw or ""))
    except ValueError:
        return None


def _day_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def list_instances(actor: Any, filters: InstanceFilters, cursor: str | None, limit: int, *, tz: Any = UTC) -> Page[Any]:
    stmt = visible(select(ProcessInstance), actor, ProcessInstance)
    if filters.process:
        stmt = stmt.where(ProcessInstance.process_key == filters.process)
    if filters.status:
        stmt = stmt.where(ProcessInstance.status == filters.status)
    if filters.store_id:
        stmt = stmt.where(ProcessInstance.store_id == filters.store_id)
    if filters.started_by_id:
        stmt = stmt.where(ProcessInstance.started_by_id == filters.started_by_id)
    if filters.started_from:
        stmt = stmt.where(ProcessInstance.started_at >= _day_start(filters.started_from, tz))
    if filters.started_to:
        stmt = stmt.where(ProcessInstance.started_at < _day_start(filters.started_to + timedelta(days=1), tz))
    if filters.has_error:
        stmt = stmt.where(or_(ProcessInstance.status == InstanceStatus.ERROR, ProcessInstance.last_error.is_not(None)))
    return keyset_page(db.session, stmt, [SortKey(ProcessInstance.id, descending=True)], cursor=cursor, limit=limit)


def starter_choices(actor: Any, limit: int = 500) -> list[tuple[int, str]]:
    """People the actor may see, for the "started by" filter."""
    people = visible(select(User.id, User.name), actor, User)  # type: ignore[arg-type]  # visible() (crm.auth) is typed for one-column selects
    stmt = people.order_by(User.name, User.id).limit(limit)
    return [(int(i), str(n)) for i, n in db.session.execute(stmt)]


def get_instance(instance_id: Any, actor: Any) -> ProcessInstance:
    return get_visible(ProcessInstance, instance_id, actor)


def may_see_data(actor: Any) -> bool:
    """Raw task data is for process admins; everyone else sees the history only."""
    return bool(actor.can(ADMIN))


# The detail page --------------------------------------------------------------------------------------------
@dataclass
class ElementStates:
    completed: list[str]
    active: list[str]
    failed: list[str]
    tasks: list[dict[str, Any]]  # active tasks: bpmn id, name, state, data
    data: dict[str, Any]  # the workflow's data (the last completed task's, while running)
    problem: str | None = None
    # Element names by bpmn id, {{ }} filled from `data`: the history shows "Ship order SO…" for op_delivery.
    names: dict[str, str] = field(default_factory=dict)
    # Message names by the name of the element that catches them: "order_cancelled" reads "Cancelled".
    message_names: dict[str, str] = field(default_factory=dict)


def element_states(instance: ProcessInstance) -> ElementStates:
    """Which elements of the diagram completed, which are active and which failed, read from the saved
    state. Elements of sub-processes are included (the viewer ignores ids it does not show)."""
    try:
        wf = runtime._load(instance)
    except Exception as exc:  # noqa: BLE001 — a state that no longer loads is shown, not a 500
        return ElementStates([], [], [], [], {}, problem=f"{type(exc).__name__}: {exc}")
    completed: set[str] = set()
    active: set[str] = set()
    failed: set[str] = set()
    rows: list[dict[str, Any]] = []
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.COMPLETED):
            completed.add(bpmn_id)
        elif task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            active.add(bpmn_id)
            rows.append({"bpmn_id": bpmn_id, "name": translated(getattr(task.task_spec, "bpmn_name", None)) or bpmn_id,
                         "state": TaskState.get_name(task.state), "data": _jsonable(task.data)})
        elif task.has_state(TaskState.ERROR):
            failed.add(bpmn_id)
    if instance.last_error:
        failing = None
        if instance.error_task_id:
            try:
                from uuid import UUID

                found = wf.get_task_from_id(UUID(instance.error_task_id))
                failing = getattr(found.task_spec, "bpmn_id", None)
            except Exception:  # noqa: BLE001 — the failed step was rolled back; the task may not exist
                failing = None
        if failing is None:
            failing = db.session.scalar(
                select(ProcessEvent.bpmn_id).where(ProcessEvent.instance_id == instance.id, ProcessEvent.kind == "error")
                .order_by(ProcessEvent.id.desc()).limit(1)
            )
        if failing is None:
            match = re.search(r"\[([\w.-]+)\]", instance.last_error)
            failing = match.group(1) if match else None
        if failing:
            failed.add(failing)
            active.discard(failing)
    # The data of the last completed task; before the first step (a start that failed) the seed data.
    last = wf.last_task.data if wf.last_task is not None else wf.task_tree.data
    data = _jsonable(wf.data if wf.is_completed() else last)
    # A name whose {{ }} this data cannot fill (a sub-process's "Approve: {{ step.title }}") loses it.
    names = {ts.bpmn_id: unrendered_free(render(translated(ts.bpmn_name), data)) or ts.bpmn_id
             for spec in [wf.spec, *wf.subprocess_specs.values()] for ts in spec.task_specs.values()
             if getattr(ts, "bpmn_id", None) and getattr(ts, "bpmn_name", None)}
    message_names: dict[str, str] = {}
    for spec in [wf.spec, *wf.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            message = getattr(getattr(ts, "event_definition", None), "name", None)
            if isinstance(message, str) and getattr(ts, "bpmn_id", None) in names:
                message_names.setdefault(message, names[ts.bpmn_id])
    return ElementStates(sorted(completed - active - failed), sorted(active), sorted(failed), rows, data,
                         names=names, message_names=message_names)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def open_tasks(instance: ProcessInstance) -> list[HumanTask]:
    return list(db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id,
                                HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).order_by(HumanTask.id)
    ))


def history(instance: ProcessInstance, *, with_data: bool) -> list[ProcessEvent]:
    """The timeline; without `with_data` the form data and payloads are left out of the details."""
    events = runtime.history(instance.id)
    if with_data:
        return events
    hidden = {"data", "payload", "pending", "report"}
    for e in events:
        db.session.expunge(e)  # never written back: this copy loses its data
        e.details = {k: v for k, v in (e.details or {}).items() if k not in hidden}
    return events


# Repair actions ----------------------------------------------------------------------------------------------
def _require_admin(actor: Any) -> None:
    if not actor.can(ADMIN):
        raise PermissionDenied(_l("Repairing process instances needs the permission to monitor and repair them."))


def _audit(instance: ProcessInstance, action: str, actor: Any, note: str | None = None, **details: Any) -> None:
    db.session.add(OperationLog(
        occurred_at=utcnow(), actor_id=actor.id, object_type="process_instance", object_id=instance.id,
        store_id=instance.store_id, action=action, note=note,
        changes={k: {"type": "str", "old": None, "new": v} for k, v in details.items()},
    ))


def _admin_target(instance_id: Any, actor: Any) -> ProcessInstance:
    instance = get_instance(instance_id, actor)  # 404 outside the scope, before any permission answer
    _require_admin(actor)
    return instance


def suspend(instance_id: Any, *, actor: Any) -> ProcessInstance:
    instance = _admin_target(instance_id, actor)
    repair.suspend(instance.id, actor_id=actor.id)
    _audit(instance, "process_suspended", actor)
    db.session.flush()
    return instance


def resume(instance_id: Any, *, actor: Any) -> ProcessInstance:
    instance = _admin_target(instance_id, actor)
    repair.resume(instance.id, actor_id=actor.id)
    _audit(instance, "process_resumed", actor)
    db.session.flush()
    return instance


def terminate(instance_id: Any, reason: Any, *, actor: Any) -> ProcessInstance:
    instance = _admin_target(instance_id, actor)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed({"reason": _l("Say why the process is terminated.")})
    if len(text) > 1000:
        raise ValidationFailed({"reason": _l("The reason is too long (at most 1000 characters).")})
    repair.terminate(instance.id, actor_id=actor.id, reason=text)
    _audit(instance, "process_terminated", actor, note=text)
    db.session.flush()
    return instance


def retry(instance_id: Any, *, actor: Any) -> ProcessInstance:
    """Run a failed instance again. The audit entry is written first: a retry that fails again is
    recorded too (the step's own error is kept by `StepFailed`)."""
    instance = _admin_target(instance_id, actor)
    if instance.status != InstanceStatus.ERROR:
        repair.retry(instance.id, actor_id=actor.id)  # raises the clear InvalidTransition
    _audit(instance, "process_retried", actor, note=instance.last_error)
    db.session.flush()
    return repair.retry(instance.id, actor_id=actor.id)


def reassign(instance_id: Any, task_id: Any, user_id: Any, *, actor: Any) -> HumanTask:
    instance = _admin_target(instance_id, actor)
    task = db.session.scalar(select(HumanTask).where(HumanTask.id == _int(task_id), HumanTask.instance_id == instance.id))
    if task is None:
        raise ValidationFailed({"task_id": _l("Choose an open task of this process.")})
    previous = task.assignee_id
    task = tasks.reassign(task.id, user_id, actor=actor)
    names = user_names({previous or 0, task.assignee_id or 0})
    _audit(instance, "process_task_reassigned", actor, note=task.title, task=task.bpmn_id,
           previous=names.get(previous or 0, ""), to=names.get(task.assignee_id or 0, ""))
    db.session.flush()
    return task


def migration_preview(instance_id: Any, *, actor: Any) -> migration.MigrationPlan:
    instance = _admin_target(instance_id, actor)
    return migration.preview(instance)


def migrate(instance_id: Any, token: Any, *, actor: Any) -> tuple[ProcessInstance, migration.MigrationPlan]:
    instance = _admin_target(instance_id, actor)
    if not isinstance(token, str) or not token:
        raise ValidationFailed({"token": _l("Confirm the migration from its preview.")})
    instance, plan = migration.migrate(instance.id, token, actor_id=actor.id)
    _audit(instance, "process_migrated", actor, from_version=str(plan.from_version), to_version=str(plan.to_version))
    db.session.flush()
    return instance, plan


# Unmatched messages -----------------------------------------------------------------------------------------
def unmatched_messages(actor: Any, cursor: str | None, limit: int) -> Page[Any]:
    _require_admin(actor)
    stmt = visible(select(UnmatchedMessage), actor, UnmatchedMessage)
    return keyset_page(db.session, stmt, [SortKey(UnmatchedMessage.id, descending=True)], cursor=cursor, limit=limit)


# Moving many instances --------------------------------------------------------------------------------------
BULK_LIMIT = 50


def bulk_previews(key: str, actor: Any) -> list[tuple[ProcessInstance, migration.MigrationPlan]]:
    """The migration preview of every live instance of `key` (in the actor's scope) not on the current
    version, oldest first, at most BULK_LIMIT."""
    _require_admin(actor)
    return [(i, migration.preview(i)) for i in live_instances_on_old_versions(key, actor, BULK_LIMIT)]


def migrate_many(items: list[tuple[Any, Any]], *, actor: Any) -> tuple[list[int], dict[int, str]]:
    """Move each (instance id, preview token); one that cannot move (refused, changed since its preview)
    is left as it was and reported, the others move. Returns (moved ids, id -> reason)."""
    _require_admin(actor)
    moved: list[int] = []
    failed: dict[int, str] = {}
    for raw_id, token in items:
        instance_id = _int(raw_id)
        if instance_id is None:
            continue
        savepoint = db.session.begin_nested()
        try:
            migrate(instance_id, token, actor=actor)
        except DomainError as exc:
            savepoint.rollback()
            failed[instance_id] = str(exc.message) + "".join(f" {m}" for ms in exc.errors.values() for m in ms)
            continue
        savepoint.commit()
        moved.append(instance_id)
    return moved, failed


# Overlays and bulk retry per definition ---------------------------------------------------------------------
def element_counts(definition_id: int, actor: Any) -> dict[str, dict[str, int]]:
    """For a version's diagram: per element, how many live instances (in the actor's scope) wait there at
    an open user task ("active") and how many failed there ("failed")."""
    counts: dict[str, dict[str, int]] = {}
    live = visible(select(ProcessInstance.id).where(ProcessInstance.definition_id == definition_id,
                                                    ProcessInstance.status.in_(LIVE)), actor, ProcessInstance)
    stmt = (select(HumanTask.bpmn_id, func.count(func.distinct(HumanTask.instance_id)))
            .where(HumanTask.instance_id.in_(live.scalar_subquery()),
                   HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
            .group_by(HumanTask.bpmn_id))
    for bpmn_id, n in db.session.execute(stmt):
        counts.setdefault(bpmn_id, {})["active"] = int(n)
    failing = visible(select(ProcessInstance.id).where(ProcessInstance.definition_id == definition_id,
                                                       ProcessInstance.status == InstanceStatus.ERROR),
                      actor, ProcessInstance)
    last_error = (select(func.max(ProcessEvent.id)).where(ProcessEvent.kind == "error",
                                                          ProcessEvent.instance_id.in_(failing.scalar_subquery()))
                  .group_by(ProcessEvent.instance_id))
    failed = (select(ProcessEvent.bpmn_id, func.count()).where(ProcessEvent.id.in_(last_error.scalar_subquery()),
                                                               ProcessEvent.bpmn_id.is_not(None))
              .group_by(ProcessEvent.bpmn_id))
    for failed_at, n in db.session.execute(failed):
        if failed_at is not None:  # always (the query leaves NULL out); tells the type checker
            counts.setdefault(failed_at, {})["failed"] = int(n)
    return counts


def failed_instances(key: str, actor: Any, limit: int = BULK_LIMIT) -> list[ProcessInstance]:
    stmt = select(ProcessInstance).where(ProcessInstance.process_key == key,
                                         ProcessInstance.status == InstanceStatus.ERROR)
    return list(db.session.scalars(visible(stmt, actor, ProcessInstance).order_by(ProcessInstance.id).limit(limit)))


def retry_many(key: str, *, actor: Any) -> tuple[list[int], dict[int, str]]:
    """Retry every failed instance of `key` in the actor's scope (at most BULK_LIMIT at a time); each in
    its own savepoint, so one failing again does not undo the others. Returns (ids now running, id ->
    the new error)."""
    _require_admin(actor)
    fixed: list[int] = []
    failed: dict[int, str] = {}
    for instance in failed_instances(key, actor):
        savepoint = db.session.begin_nested()
        try:
            retry(instance.id, actor=actor)
        except StepFailed as exc:
            savepoint.commit()  # the retry's audit entry and the new error are kept
            failed[instance.id] = exc.detail
            continue
        except DomainError as exc:
            savepoint.rollback()
            failed[instance.id] = str(exc.message)
            continue
        savepoint.commit()
        fixed.append(instance.id)
    return fixed, failed
