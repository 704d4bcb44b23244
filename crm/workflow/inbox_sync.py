"""Keep `human_task` rows in step with the engine's READY user tasks after every step (guide §4.3):
new READY tasks get a row and their candidates; rows whose task is no longer READY are closed —
completed by the step's actor, or cancelled (timers, messages, completion conditions, termination).

Candidates come from the task's `spiffworkflow:properties`:
- `assignee`: a Python expression over the task data giving a user id (the task is assigned to them)
  or a list of user ids (they are candidates);
- `role`: one or more role keys (comma-separated): active holders of the role in the object's store;
- otherwise the lane name, read as a role key ("Supervisor" -> supervisor);
plus the multi-instance item when it names a user (an int, or a dict with `user_id`), and a list
`assignees` that a pre-script may put into the task data; `exclude`, an expression giving user ids
that may not take the task (segregation of duties), removes them from all of these. Also `priority` (0-2), and
the due date with its reminder and escalation (`due`, `remind`, `escalate_to`, `escalate_after`, or the older
`due_hours`: `crm.workflow.deadlines`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import column
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from crm.core import deferred
from crm.core import signals
from crm.core.clock import utcnow
from crm.extensions import db
from crm.org.models import User
from crm.workflow import deadlines
from crm.workflow import engine
from crm.workflow import sandbox
from crm.workflow.i18n import rendered_texts
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus


class _TextEnvironment(SandboxedEnvironment):
    """Jinja's sandbox (no internals, bounded `range`) with the diagram sandbox's size bounds on
    operators, and without the filters and string methods that pad text to a computed width."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return sandbox.guarded_binop(operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, (str, bytes)) and attr in sandbox.SIZED_TEXT_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


_jinja = _TextEnvironment(autoescape=False)
for _padding in ("center", "indent", "wordwrap", "format"):
    _jinja.filters.pop(_padding, None)
_role = table("role", column("id"), column("key"))
_user_role = table("user_role", column("user_id"), column("role_id"))

# The notification of a new task reads its recipients (address, language, their preference for the kind),
# who are the candidates read here anyway: the notification context registers the columns it needs
# (`read_recipients_with`), they come back with the candidates in the same statement, and `task_opened`
# hands them over (`recipients`: user id -> those columns), so the same users are not read twice.
RecipientColumns = Callable[[Select[Any], str], Select[Any]]
_recipient_columns: list[RecipientColumns] = []


def read_recipients_with(add_columns: RecipientColumns) -> None:
    """`add_columns(select of user ids, notification kind)`: the select with the columns to hand over."""
    _recipient_columns[:] = [add_columns]


def _users(stmt: Select[Any], kind: str, details: dict[int, tuple[Any, ...]]) -> set[int]:
    """The ids `stmt` selects; the registered recipient columns of each go into `details`."""
    if _recipient_columns:
        stmt = _recipient_columns[0](stmt, kind)
    ids = set()
    for row in db.session.execute(stmt):
        ids.add(row[0])
        details[row[0]] = tuple(row[1:])
    return ids


@lru_cache(maxsize=1024)
def _compiled(template: str) -> Template:
    return _jinja.from_string(template)


def render(template: str | None, data: dict[str, Any]) -> str | None:
    """Titles and instructions may use {{ }} over the task data; a broken template shows as written.
    Text without {{ is returned as is; compiled templates are cached (titles repeat across instances)."""
    if not template or "{" not in template:
        return template
    try:
        return _compiled(template).render(**data)
    except Exception:  # noqa: BLE001 — admin-written text: show it raw rather than fail the step
        return template


def _props(task: Any) -> dict[str, str]:
    return engine.task_properties(task.workflow.top_workflow, task)


def _user_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, str) and value.isdigit():
        return [int(value)]
    if isinstance(value, dict):
        return _user_ids(value.get("user_id", value.get("id")))
    if isinstance(value, (list, tuple, set)):
        return [uid for v in value for uid in _user_ids(v)]
    return []


def _role_holders(role_keys: list[str], store_id: int | None, kind: str = "task_assigned",
                  details: dict[int, tuple[Any, ...]] | None = None) -> set[int]:
    if not role_keys:
        return set()
    stmt = (
        select(User.id)
        .join(_user_role, _user_role.c.user_id == User.id)
        .join(_role, _role.c.id == _user_role.c.role_id)
        .where(_role.c.key.in_(role_keys), User.active)
    )
    if store_id is not None:
        stmt = stmt.where(User.store_id == store_id)
    return _users(stmt, kind, {} if details is None else details)


role_holders = _role_holders  # the due-date job escalates to a role's holders in the task's store


def _mi_item(task: Any) -> Any:
    parent_spec = getattr(task.parent, "task_spec", None) if task.parent is not None else None
    item = getattr(parent_spec, "input_item", None)
    if item is None:
        return None
    return task.data.get(item.bpmn_id)


def _excluded(task: Any, props: dict[str, str]) -> set[int]:
    """Users the task's `exclude` expression keeps off it (four eyes: the recorder of a collection does
    not verify it). An expression that fails excludes nobody; the operator checks the rule again."""
    expr = props.get("exclude")
    if not expr:
        return set()
    try:
        return set(_user_ids(engine.script_engine().evaluate(task, expr)))
    except Exception:  # noqa: BLE001 — see above
        return set()


def resolve(task: Any, instance: ProcessInstance,
            details: dict[int, tuple[Any, ...]] | None = None) -> tuple[int | None, set[int], Any]:
    """(assignee, candidates, multi-instance item) for a READY user task; `details` gets the registered
    recipient columns of the users read."""
    props = _props(task)
    details = {} if details is None else details
    kind = props.get("notify_kind") or "task_assigned"
    candidates: set[int] = set()
    assignee: int | None = None
    expr = props.get("assignee")
    if expr:
        try:
            ids = _user_ids(engine.script_engine().evaluate(task, expr))
        except Exception:  # noqa: BLE001 — a bad expression leaves the task to its role / lane
            ids = []
        if len(ids) == 1:
            assignee = ids[0]
        candidates.update(ids)
    roles = [r.strip() for r in (props.get("role") or "").split(",") if r.strip()]
    lane = task.task_spec.lane
    if not roles and lane:
        roles = [lane.strip().lower().replace(" ", "_")]
    holders = _role_holders(roles, instance.store_id, kind, details)
    item = _mi_item(task)
    item_users = _user_ids(item)
    if len(item_users) == 1 and assignee is None:
        assignee = item_users[0]
    candidates.update(item_users)
    candidates.update(_user_ids(task.data.get("assignees")))
    if assignee is not None:
        candidates.add(assignee)
    unchecked = candidates - holders
    if unchecked:  # only users that exist and are active (an expression may name anyone); holders are
        unchecked = _users(select(User.id).where(User.id.in_(unchecked), User.active), kind, details)
    candidates = (holders | unchecked) - _excluded(task, props)
    if assignee is not None and assignee not in candidates:
        assignee = None
    return assignee, candidates, item


def sync(
    instance: ProcessInstance,
    ready_tasks: list[Any],
    *,
    completed_guid: str | None,
    actor_id: int | None,
    open_guids: list[str] | None = None,
) -> None:
    """Close the rows of tasks that are no longer READY and add rows for new READY tasks.

    `open_guids` are the tasks the instance was waiting on before this step (`process_instance.waiting`,
    written in the same transaction as the rows, so it names exactly the open rows); without it the
    open rows are read. The new rows are inserted at once (their ids are wanted); the closing updates and
    the candidates are queued (`crm.core.deferred`) and go out with the step's other side writes."""
    ready = {str(t.id): t for t in ready_tasks}
    now = utcnow()
    if open_guids is None:
        open_guids = list(db.session.scalars(
            select(HumanTask.task_guid).where(
                HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])
            )
        ))
    gone = [guid for guid in open_guids if guid not in ready]
    if completed_guid in gone:  # before its row is closed: a receiver may read it
        signals.task_completed.send(None, instance=instance, task_guid=completed_guid, completed_by_id=actor_id)
    if gone:
        _close(instance, gone, completed_guid, actor_id, now)
    known = set(open_guids)
    new_rows: list[tuple[dict[str, Any], set[int], dict[str, str]]] = []
    details: dict[int, tuple[Any, ...]] = {}
    with db.session.no_autoflush:  # candidates are resolved before anything is written
        for guid, task in ready.items():
            if guid in known:
                continue
            new_rows.append(_new_row(instance, task, guid, now, details))
    if not new_rows:
        return
    # Plain inserts (ids returned in order), like the history: the rows are read back by query when needed
    # (the inbox, the completion's answer), never as objects of this step, and the step's pending changes
    # (instance, business object) go out with its one flush instead of a flush of their own here.
    ids = db.session.connection().execute(
        _TASK_INSERT.returning(_TASK_TABLE.c.id, sort_by_parameter_order=True), [row for row, _u, _p in new_rows]
    ).scalars().all()
    candidates = [{"task_id": task_id, "user_id": uid}
                  for task_id, (_row, users, _props) in zip(ids, new_rows, strict=True) for uid in sorted(users)]
    deferred.defer_insert(db.session, HumanTaskCandidate.__table__, candidates)
    if signals.task_created.receivers:
        for task_id, (row, _users, _props) in zip(ids, new_rows, strict=True):
            signals.task_created.send(None, task_id=task_id, completed_by_id=None,
                                      **{k: row[k] for k in _ANNOUNCED})
    for task_id, (row, users, props) in zip(ids, new_rows, strict=True):
        # Notifications ("a new task for you"); a task may opt out (`notify: false`) or name its kind.
        if (users or row["assignee_id"]) and str(props.get("notify", "")).lower() != "false":
            told = [row["assignee_id"]] if row["assignee_id"] else sorted(users)
            signals.task_opened.send(
                None, task_id=task_id, title=row["title"], texts=row["texts"], user_ids=told,
                recipients={uid: details[uid] for uid in told if uid in details},
                store_id=row["store_id"], object_type=row["object_type"], object_id=row["object_id"],
                kind=props.get("notify_kind") or "task_assigned",
            )


_ANNOUNCED = ("instance_id", "process_key", "bpmn_id", "title", "store_id", "object_type", "object_id", "assignee_id")


def texts_of(task: Any) -> dict[str, Any] | None:
    """The task's title and instructions in the app's other languages (`human_task.texts`)."""
    ts = task.task_spec
    ext = getattr(ts, "extensions", None) or {}
    return rendered_texts(ts.bpmn_name, ext.get("instructionsForEndUser") or ts.documentation, task.data, render)


_TASK_TABLE = HumanTask.__table__
_TASK_INSERT = _TASK_TABLE.insert()
_OPEN = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def _close(instance: ProcessInstance, gone: list[str], completed_guid: str | None, actor_id: int | None,
           now: Any) -> None:
    """Close the open rows of the tasks in `gone`: the completed one, and the others cancelled. One UPDATE,
    queued (crm.core.deferred) with the step's other side writes: nothing in the step reads the closed rows
    back. The receivers of `tasks_closed` get the closing rows as a select to read before they close
    (queued before the UPDATE; in one PostgreSQL statement every part reads the same snapshot)."""
    tasks = _TASK_TABLE
    open_now = (tasks.c.instance_id == instance.id, tasks.c.status.in_(_OPEN), tasks.c.task_guid.in_(gone))
    signals.tasks_closed.send(None, tasks=select(tasks.c.id).where(*open_now))
    # Completing a group task claims it implicitly: the completer becomes its assignee (only the assignee or
    # a candidate of an unclaimed task may complete it, so an existing assignee is the completer).
    completed = {"status": TaskStatus.COMPLETED, "completed_by_id": actor_id,
                 **({"assignee_id": actor_id} if actor_id else {})}
    cancelled: dict[str, Any] = {"status": TaskStatus.CANCELLED}
    values: dict[str, Any] = {"completed_at": now, "draft": None}
    if completed_guid not in gone:
        values.update(cancelled)
    elif len(gone) == 1:
        values.update(completed)
    else:  # both kinds in the one statement: each column by the row's task
        done = tasks.c.task_guid == completed_guid
        for key, value in completed.items():
            otherwise = literal(cancelled[key], tasks.c[key].type) if key in cancelled else tasks.c[key]
            values[key] = case((done, literal(value, tasks.c[key].type)), else_=otherwise)
    deferred.defer(db.session, update(tasks).where(*open_now).values(**values), reads=[tasks])
    for guids, kind in (([g for g in gone if g == completed_guid], completed),
                        ([g for g in gone if g != completed_guid], cancelled)):
        if guids:
            _closed_in_session(instance.id, set(guids), {"completed_at": now, "draft": None, **kind})


def _closed_in_session(instance_id: int, guids: set[str], values: dict[str, Any]) -> None:
    """What the queued close will write, set on the task rows this session has loaded (the completed task,
    read under the completion's lock, is answered to the caller), as committed values: not changes of the
    session's own to flush. A row whose columns are expired is left alone: it is read again when used, after
    the queue is sent."""
    for obj in list(db.session.identity_map.values()):
        loaded = vars(obj)
        if (isinstance(obj, HumanTask) and loaded.get("instance_id") == instance_id
                and loaded.get("task_guid") in guids and loaded.get("status") in _OPEN):
            for key, value in values.items():
                set_committed_value(obj, key, value)


def _new_row(instance: ProcessInstance, task: Any, guid: str, now: Any,
             details: dict[int, tuple[Any, ...]]) -> tuple[dict[str, Any], set[int], dict[str, str]]:
    """The `human_task` row of a new READY task (column values), its candidates and its properties."""
    ts = task.task_spec
    ext = getattr(ts, "extensions", None) or {}
    props = _props(task)
    assignee, candidates, item = resolve(task, instance, details)
    due = deadlines.deadline(props, lambda expr: engine.script_engine().evaluate(task, expr), now)
    if due.policy is not None and props.get("exclude"):
        due.policy["exclude"] = sorted(_excluded(task, props))  # nor is the task escalated to them
    try:
        priority = max(0, min(2, int(props.get("priority") or 0)))
    except ValueError:
        priority = 0
    row = dict(
        instance_id=instance.id,
        task_guid=guid,
        process_key=task.workflow.spec.name,
        bpmn_id=ts.bpmn_id,
        title=(render(ts.bpmn_name, task.data) or ts.bpmn_id)[:300],
        instructions=render(ext.get("instructionsForEndUser") or ts.documentation, task.data),
        texts=texts_of(task),
        form_schema=ext.get("formJsonSchemaFilename"),
        form_uischema=ext.get("formUiSchemaFilename"),
        lane=ts.lane,
        store_id=instance.store_id,
        object_type=instance.object_type,
        object_id=instance.object_id,
        assignee_id=assignee,
        status=TaskStatus.CLAIMED if assignee else TaskStatus.OPEN,
        priority=priority,
        due_at=due.due_at,
        remind_at=due.remind_at,
        escalate_at=due.escalate_at,
        escalation_level=0,
        due_policy=due.policy,
        created_at=now,
        item=item if isinstance(item, (dict, list, int, str)) and not isinstance(item, bool) else None,
    )
    return row, candidates, props


def close_all(instance: ProcessInstance) -> None:
    """Cancel every open task of the instance (termination)."""
    now = utcnow()
    for row in db.session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])
        )
    ):
        row.status = TaskStatus.CANCELLED
        row.completed_at = now
        row.draft = None  # like a task cancelled by the engine: unsent form data goes with it
