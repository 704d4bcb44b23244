"""Running instances: start, complete a user task, deliver a message, fire due timers. The admin's repair
operations (retry, suspend, resume, terminate) live in `crm.workflow.admin.repair` and use the same step.

One transaction per step (DESIGN §6): the instance row is locked (`SELECT … FOR UPDATE` on PostgreSQL;
`lock_version` checked on every database), the engine runs, service operators write domain rows in the
same session, the state is serialized, the inbox and message subscriptions are synced. The step runs in
a SAVEPOINT: any exception rolls back everything the step did, and the error is recorded on the
instance, which then raises `StepFailed` (an error answer that keeps that record: `keep_changes`). A
task completion that is its transaction's first write (`locks.untouched`) takes no savepoint: the
transaction itself is the step, rolled back whole on failure before the error is recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import StaleDataError

from crm.core import deferred
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import InvalidTransition
from crm.core.errors import PermissionDenied
from crm.extensions import db
from crm.workflow import engine
from crm.workflow import inbox_sync
from crm.workflow import locks
from crm.workflow.budget import DEFAULT_SECONDS
from crm.workflow.budget import StepTimeout
from crm.workflow.budget import budget
from crm.workflow.deploy import spec_for
from crm.workflow.models import HumanTask
from crm.workflow.models import InstanceStatus
from crm.workflow.models import MessageSubscription
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import ProcessSpec
from crm.workflow.models import UnmatchedMessage


class StepFailed(DomainError):
    """The process could not take the step; the step was rolled back and the error is recorded on the
    instance (admins see it and can retry). The web edge keeps that record (`keep_changes`)."""

    status = 409
    keep_changes = True
    default_message = _l("The process stopped with an error; nothing of this step was saved.")

    def __init__(self, instance_id: int, detail: str) -> None:
        super().__init__(_l("The process stopped with an error: %(detail)s", detail=detail))
        self.instance_id = instance_id
        self.detail = detail


# Loading and saving ---------------------------------------------------------------------------------------
def waiting_messages(object_type: str, object_id: int) -> set[str]:
    """The messages the running instances about this object wait for now (a read, without locks: what a
    page may offer; the service that acts asks `waits_for` again under the lock)."""
    return {name for instance in instances_of(object_type, object_id)
            if instance.status == InstanceStatus.RUNNING for name in _subscribed(instance)}


def waits_for(instances: list[ProcessInstance], message: str) -> bool:
    """Does any of these (locked) instances wait for `message`?"""
    return any(message in _subscribed(instance) for instance in instances)


def _load(instance: ProcessInstance) -> Any:
    wf = _take_prepared(instance)
    if wf is not None:
        return wf
    specs_json = None
    if not engine.knows_specs(instance.spec_sha256):
        specs_json = db.session.get_one(ProcessSpec, instance.spec_sha256).specs  # there: a foreign key
    wf = engine.load_state(instance.state, instance.spec_sha256, specs_json)
    _attach_context(wf, instance, None)
    return wf


def _attach_context(wf: Any, instance: ProcessInstance, actor_id: int | None) -> None:
    wf.crm_context = {
        "instance_id": instance.id,
        "process_key": instance.process_key,
        "object_type": instance.object_type,
        "object_id": instance.object_id,
        "store_id": instance.store_id,
        "actor_id": actor_id,
    }


def _ensure_spec(sha: str, text: str) -> None:
    # Always ask the database: the in-memory cache cannot know about a rolled-back insert.
    table = ProcessSpec.__table__
    insert = pg_insert(table) if locks.dialect() == "postgresql" else sqlite_insert(table)
    db.session.connection().execute(insert.values(sha256=sha, specs=text, created_at=utcnow()).on_conflict_do_nothing())
    engine.remember_specs(sha, text)


def _persist(instance: ProcessInstance, wf: Any, *, completed_guid: str | None, actor_id: int | None) -> None:
    instance.state = engine.dump_state(wf)
    where = engine.position(wf)
    instance.next_timer_at = where.next_timer_due
    instance.business_status = where.business_status
    if wf.is_completed():
        instance.status = InstanceStatus.COMPLETED
        instance.completed_at = utcnow()
        instance.next_timer_at = None
    elif instance.status == InstanceStatus.ERROR:
        instance.status = InstanceStatus.RUNNING
    instance.last_error = None
    instance.error_task_id = None
    instance.updated_at = utcnow()  # also bumps lock_version even if the state text is unchanged
    before = instance.waiting
    ready = where.ready_user_tasks
    tasks = sorted(str(t.id) for t in ready)
    messages = sorted(where.waiting_messages) if not wf.is_completed() else []
    # Set before the syncs flush, so the instance row is written once per step.
    instance.waiting = {"tasks": tasks, "messages": messages}
    if before is None or tasks != before.get("tasks") or completed_guid is not None:
        inbox_sync.sync(instance, ready, completed_guid=completed_guid, actor_id=actor_id,
                        open_guids=None if before is None else before.get("tasks"))
    if before is None or messages != before.get("messages"):
        _sync_subscriptions(instance, set(messages), known=None if before is None else before.get("messages"))


def _sync_subscriptions(instance: ProcessInstance, names: set[str], *, known: list[str] | None = None) -> None:
    """Make the instance's subscriptions exactly `names`. `known` are the names it had before this step
    (`process_instance.waiting`, written in the same transaction as the rows, like the open tasks), which
    spares reading them; without it (first step, after a migration) they are read."""
    if known is None:
        rows = {s.message_name: s for s in db.session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == instance.id)
        )}
        for name, row in rows.items():
            if name not in names:
                db.session.delete(row)
        existing = set(rows)
    else:
        existing = set(known)
        if existing - names:
            db.session.execute(delete(MessageSubscription).where(
                MessageSubscription.instance_id == instance.id,
                MessageSubscription.message_name.in_(sorted(existing - names))))
    added = [{"instance_id": instance.id, "message_name": name, "object_type": instance.object_type,
              "object_id": instance.object_id} for name in sorted(names - existing)]
    if added:  # plain inserts, like the history: nothing reads them back as objects in this transaction
        db.session.connection().execute(MessageSubscription.__table__.insert(), added)


def _event(instance_id: int, kind: str, actor_id: int | None = None, **details: Any) -> None:
    """Append to the instance's history in the current transaction (and savepoint): a plain insert, not an
    ORM object, queued with the step's other side writes (`crm.core.deferred`; a read of the history sends
    it first)."""
    deferred.defer_insert(db.session, _EVENTS, [_event_row(instance_id, kind, actor_id, **details)])


def _event_row(instance_id: int, kind: str, actor_id: int | None = None, **details: Any) -> dict[str, Any]:
    task_guid = details.pop("task_guid", None)
    bpmn_id = details.pop("bpmn_id", None)
    return {
        "instance_id": instance_id, "kind": kind, "actor_id": actor_id, "task_guid": task_guid, "bpmn_id": bpmn_id,
        "details": json.loads(json.dumps(details, default=str)), "occurred_at": utcnow(),
    }


_EVENTS = ProcessEvent.__table__

# What a step did to the diagram's elements, for the process analytics (crm.workflow.admin.analytics): not
# shown in the instance's history, which tells what happened to the instance, not each element it passed.
REACHED = "element_reached"  # the element began to wait (a user task opened, a catch event armed, …)
PASSED = "element_passed"  # the element completed; details.waited: seconds since it was reached, if it waited
WITHDRAWN = "element_withdrawn"  # a wait ended without completing (a boundary event, another path)
FLOW = "flow_taken"  # a gateway sent the instance on a path: bpmn_id the gateway, details.to the element it leads to
PASSAGE_KINDS = (REACHED, PASSED, WITHDRAWN, FLOW)


def _passage(instance_id: int, wf: Any, before: engine.Snapshot, first: dict[str, Any] | None = None) -> None:
    """Record the step's passage through the diagram in one multi-row insert (none when nothing moved),
    after `first`, the step's own history row, if any (one insert for both, queued)."""
    at = utcnow()
    moved = engine.passage(wf, before, at.timestamp())
    rows: list[dict[str, Any]] = [first] if first is not None else []

    def row(kind: str, guid: str, element: str, details: dict[str, Any]) -> None:
        rows.append({"instance_id": instance_id, "kind": kind, "actor_id": None, "task_guid": guid, "bpmn_id": element,
                     "details": details, "occurred_at": at})

    for guid, element in moved.reached:
        row(REACHED, guid, element, {})
    for guid, element, waited in moved.passed:
        row(PASSED, guid, element, {} if waited is None else {"waited": waited})
    for guid, element, waited in moved.withdrawn:
        row(WITHDRAWN, guid, element, {} if waited is None else {"waited": waited})
    for guid, element, target in moved.flows:
        row(FLOW, guid, element, {"to": target})
    deferred.defer_insert(db.session, _EVENTS, rows)


def _step(
    instance: ProcessInstance,
    action: Callable[[Any], None],
    *,
    actor_id: int | None,
    completed_guid: str | None = None,
    event: tuple[str, dict[str, Any]] | None = None,
    alone: bool = False,
) -> ProcessInstance:
    """Run `action(wf)` + engine steps in a savepoint (or, `alone`, in the transaction itself when the step
    is its first write); record the error on the instance if anything fails."""
    instance_id = instance.id
    version = instance.lock_version
    savepoint: Any = _WholeTransaction() if alone and locks.untouched() else db.session.begin_nested()
    outermost = True
    try:
        with budget(step_budget_seconds()) as outermost:
            wf = _load(instance)
            _attach_context(wf, instance, actor_id)
            before = engine.snapshot(wf)
            action(wf)
            wf.do_engine_steps()
            _persist(instance, wf, completed_guid=completed_guid, actor_id=actor_id)
            db.session.flush()
            # After the flush: the history lists what the step's operators wrote first.
            _passage(instance_id, wf, before, None if event is None else _event_row(instance_id, event[0], actor_id,
                                                                                     **event[1]))
            # The step's side writes (closed tasks, their bells read, candidates, new bells, history): one
            # statement on PostgreSQL, inside the step's savepoint, so a failure here is the step's.
            deferred.flush_deferred(db.session)
        savepoint.commit()
        return instance
    except StepTimeout as exc:
        _rolled_back(savepoint)
        if not outermost:
            raise  # the outermost step (whose deadline this is) records it
        detail = engine.error_message(exc)
        _record_error(instance_id, detail, engine.error_task_id(exc), actor_id, event, engine.error_bpmn_id(exc),
                      version=version)
        raise StepFailed(instance_id, detail) from None
    except StaleDataError:
        _rolled_back(savepoint)
        raise Conflict(_l("Someone else moved this process on at the same moment. Reload and try again.")) from None
    except DomainError:
        _rolled_back(savepoint)
        raise
    except Exception as exc:  # noqa: BLE001 — anything the engine or an operator raises is the step's error
        _rolled_back(savepoint)
        detail = engine.error_message(exc)
        _record_error(instance_id, detail, engine.error_task_id(exc), actor_id, event, engine.error_bpmn_id(exc),
                      version=version)
        raise StepFailed(instance_id, detail) from exc


def step_budget_seconds() -> float | None:
    """PROCESS_STEP_BUDGET_SECONDS (0 or less: no limit); the default outside an app (scripts, tests)."""
    if not has_app_context():
        return DEFAULT_SECONDS
    value = current_app.config.get("PROCESS_STEP_BUDGET_SECONDS", DEFAULT_SECONDS)
    return float(value) if value else None


class _WholeTransaction:
    """The step's savepoint when the step is its transaction's first write: nothing to release on success
    (the request commits), the whole transaction to roll back on failure (nothing else was in it)."""

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        db.session.rollback()


def _rolled_back(savepoint: Any) -> None:
    """Roll the step's savepoint back, and forget what this transaction remembers having locked: PostgreSQL
    releases the row locks taken inside a savepoint that is rolled back (an operator of the step may have
    locked another instance), so the next `_lock` or `lock_task` must read and lock again."""
    savepoint.rollback()
    locks.forget()


def _record_error(
    instance_id: int, detail: str, task_id: str | None, actor_id: int | None, event: tuple[str, dict[str, Any]] | None,
    bpmn_id: str | None = None, *, version: int | None = None,
) -> None:
    # Read again under the lock: a step without a savepoint rolled its whole transaction back, locks
    # included, so another worker may have moved the instance on meanwhile; the error is then not its own.
    instance = locks.lock_instance(instance_id)
    if version is not None and instance.lock_version != version:
        raise Conflict(_l("Someone else moved this process on at the same moment. Reload and try again."))
    instance.status = InstanceStatus.ERROR
    instance.last_error = detail
    instance.error_task_id = task_id
    _event(instance_id, "error", actor_id, message=detail, during=event[0] if event else None, bpmn_id=bpmn_id,
           **({"pending": event[1]} if event else {}))
    db.session.flush()


# Public API ----------------------------------------------------------------------------------------------
def start(
    key: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    store_id: int | None = None,
    data: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> ProcessInstance:
    """A new instance of the current version of `key`, run to its first wait. The instance row exists
    even when that first step fails (status error, retry from the admin)."""
    with db.session.no_autoflush:  # the deployed definitions do not depend on the caller's pending rows
        definition, spec, subprocess_specs = spec_for(key)
    seed = dict(data or {})
    seed.setdefault("initiator_id", actor_id)
    if object_id is not None:
        seed.setdefault("object_id", object_id)
    wf = engine.new_workflow(spec, subprocess_specs, seed)
    # The spec part depends only on the spec objects, which `spec_for` shares for one set of current
    # versions (a new deployment makes new ones): serialize and hash it once per spec, not per start.
    cached = spec.__dict__.get("_crm_specs_of")
    if cached is None:
        cached = spec.__dict__["_crm_specs_of"] = engine.specs_of(wf)
    sha, text = cached
    _ensure_spec(sha, text)
    instance = ProcessInstance(
        definition_id=definition.id, process_key=key, object_type=object_type, object_id=object_id,
        store_id=store_id, status=InstanceStatus.RUNNING, spec_sha256=sha, state=engine.dump_state(wf),
        started_by_id=actor_id, started_at=utcnow(),
        # Nothing open and no subscriptions yet: the first step need not read the (empty) task and
        # subscription rows to compare against.
        waiting={"tasks": [], "messages": []},
    )
    db.session.add(instance)
    db.session.flush()
    locks.forget_object(object_type, object_id)  # a caller's "every instance about it" no longer is
    _event(instance.id, "created", actor_id, version=definition.version)
    return _step(instance, lambda wf: None, actor_id=actor_id)


# A request that completes a task first reads the task's data to validate its form: the workflow is
# deserialized once for both and handed to the step if the instance's lock_version is still the same.
def prepared_workflow(instance: ProcessInstance) -> Any:
    """The instance's workflow for reading (a task's data), kept for this transaction's next step of the
    instance so it is not deserialized twice. Callers must not change it."""
    wf = _load(instance)
    locks.memo("crm_prepared_workflows")[instance.id] = (instance.lock_version, wf)
    return wf


def _take_prepared(instance: ProcessInstance) -> Any:
    kept = locks.memo("crm_prepared_workflows").pop(instance.id, None)
    if kept is None or kept[0] != instance.lock_version:
        return None
    return kept[1]



def _check_open(task: HumanTask, instance: ProcessInstance) -> None:
    if not task.is_open:
        raise Conflict(_l("This task was already completed or cancelled."))
    if instance.status == InstanceStatus.SUSPENDED:
        raise InvalidTransition(_l("The process is suspended; its tasks cannot be completed now."))
    if instance.status == InstanceStatus.TERMINATED:
        raise InvalidTransition(_l("The process was terminated."))


def complete_task(task_id: int, data: dict[str, Any], *, actor_id: int) -> ProcessInstance:
    """Complete a user task with (already validated) form data. The actor must be its assignee, or a
    candidate of an unclaimed task."""
    task, instance = locks.lock_task(task_id)
    _check_open(task, instance)
    if not locks.may_complete(task, actor_id):
        if task.assignee_id is not None:
            raise Conflict(_l("This task is claimed by someone else."))
        raise PermissionDenied(_l("This task is not yours to complete."))
    guid = task.task_guid

    def action(wf: Any) -> None:
        from uuid import UUID

        from SpiffWorkflow.util.task import TaskState

        spiff_task = wf.get_task_from_id(UUID(guid))
        if spiff_task.state != TaskState.READY or not spiff_task.task_spec.manual:
            raise Conflict(_l("This task was already completed or cancelled."))
        variable = getattr(spiff_task.task_spec, "variable", None)
        # Assign, never DeepMerge: the library's merge corrupts edited lists (guide §3.3).
        spiff_task.data.update({variable: data} if variable else data)
        spiff_task.run()

    return _step(instance, action, actor_id=actor_id, completed_guid=guid, alone=True,
                 event=("task_completed", {"task_guid": guid, "bpmn_id": task.bpmn_id, "data": data}))


def send_message(
    name: str,
    object_type: str | None,
    object_id: int | None,
    payload: dict[str, Any] | None = None,
    *,
    actor_id: int | None = None,
    store_id: int | None = None,
    broadcast: bool = False,
) -> list[int]:
    """Deliver a message to every instance waiting for it about that object. Returns their ids; a
    message nobody waits for is stored as unmatched (visible to admins), never dropped — unless it is a
    `broadcast`: a notice the application sends to whoever listens (`follow_up_recorded` on every
    follow-up, awaited only while a high-seas claim waits for its return visit), for which nobody
    listening is the normal case, not a lost message. A delivery that
    fails is recorded on its instance (retry delivers it again); `StepFailed` is raised once every waiting
    instance has had the message."""
    payload = dict(payload or {})
    locked = locks.locked_instances_of(object_type, object_id)
    if locked is not None:  # the caller locked every instance about the object: their `waiting` says who waits
        instance_ids = sorted(i.id for i in locked if name in _subscribed(i))
    else:
        instance_ids = list(db.session.scalars(
            select(MessageSubscription.instance_id).where(
                MessageSubscription.message_name == name,
                MessageSubscription.object_type == object_type,
                MessageSubscription.object_id == object_id,
            ).distinct().order_by(MessageSubscription.instance_id)
        ))
    delivered: list[int] = []
    held = False
    failed: StepFailed | None = None
    for instance_id in instance_ids:
        instance = locks.lock_instance(instance_id)
        if name not in _subscribed(instance):
            continue
        if instance.status in (InstanceStatus.SUSPENDED, InstanceStatus.ERROR):
            # Kept on the instance and delivered when it runs again (resume, or a retry that succeeds).
            _event(instance_id, "message_held", actor_id, message=name, payload=payload)
            db.session.flush()
            held = True
            continue
        if instance.status != InstanceStatus.RUNNING:
            continue
        try:
            _step(instance, lambda wf: engine.deliver_message(wf, name, payload), actor_id=actor_id,
                  event=("message_received", {"message": name, "payload": payload}))
        except StepFailed as exc:
            # Recorded on that instance with the message, for its retry; the other instances still get it.
            failed = failed or exc
            continue
        delivered.append(instance_id)
    if failed is not None:
        raise failed
    if not delivered and not held and not broadcast:
        db.session.add(UnmatchedMessage(message_name=name, object_type=object_type, object_id=object_id,
                                        store_id=store_id, payload=payload, sent_by_id=actor_id, received_at=utcnow()))
        db.session.flush()
    return delivered


def _subscribed(instance: ProcessInstance) -> set[str]:
    """The messages a (locked, freshly read) instance waits for: its `waiting` names exactly its
    subscription rows (same transaction); read them only when it is unset (before the first step
    persisted, after a migration)."""
    if instance.waiting is not None and "messages" in instance.waiting:
        return set(instance.waiting["messages"])
    return set(db.session.scalars(
        select(MessageSubscription.message_name).where(MessageSubscription.instance_id == instance.id)
    ))


def fire_due_timers(limit: int = 200) -> int:
    """Run the instances whose next timer is due; returns how many were taken. On PostgreSQL the rows
    are taken with FOR UPDATE SKIP LOCKED, so concurrent schedulers never take the same instance."""
    stmt = (
        select(ProcessInstance)
        # Strictly before now, as the engine decides (a timer fires once its due time < now): at the exact
        # instant the engine fires nothing, and the history would show a timer that did not fire.
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at < utcnow())
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    if locks.dialect() == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    instances = list(db.session.scalars(stmt))
    for instance in instances:
        due = instance.next_timer_at
        if due is None:
            continue
        try:
            _step(instance, lambda wf: wf.refresh_timers(), actor_id=None,
                  event=("timer_fired", {"due_at": due.isoformat()}))
        except (StepFailed, Conflict):
            continue  # recorded on the instance; the others go on
    return len(instances)


def history(instance_id: int) -> list[ProcessEvent]:
    """The instance's history as people read it (the analytics' passage rows left out)."""
    return list(db.session.scalars(
        select(ProcessEvent).where(ProcessEvent.instance_id == instance_id, ProcessEvent.kind.not_in(PASSAGE_KINDS))
        .order_by(ProcessEvent.id)
    ))


def instances_of(object_type: str, object_id: int) -> list[ProcessInstance]:
    return list(db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.object_type == object_type, ProcessInstance.object_id == object_id)
        .order_by(ProcessInstance.id)
    ))
