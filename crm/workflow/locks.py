"""Row locks a transaction takes on process instances and tasks, and what it remembers of them.

Every step locks its instance (PostgreSQL `FOR UPDATE`) for the rest of the transaction; a service locks
the instances of its business object before the object itself, in the same order. What a transaction has
locked is remembered (tied to the session's current root transaction, so nothing outlives it) and not
read again; a rolled-back step forgets it (`forget`), because PostgreSQL releases the locks taken inside
a rolled-back savepoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.core import deferred
from crm.core.errors import NotFound
from crm.extensions import db
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessInstance

_NAMES = ("crm_locked_instances", "crm_locked_tasks", "crm_may_complete", "crm_locked_objects")


def dialect() -> str:
    return db.session.get_bind().dialect.name


def memo(name: str) -> dict[Any, Any]:
    """A dict kept in the session for its current root transaction only."""
    root = db.session().get_transaction()
    held = db.session.info.get(name)
    if held is None or held[0] is not root:
        held = (root, {})
        db.session.info[name] = held
    return held[1]


# Has the session's current transaction written anything yet? A step that is its transaction's first write
# needs no savepoint of its own: on failure the whole transaction is rolled back, which undoes exactly the
# step (`runtime._step`). Statements other than reads and savepoint handling count as writes.
_NOT_WRITES = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "select", "savepoint", "release", "rollback")


@event.listens_for(Session, "after_begin")
def _transaction_began(_session: Any, _transaction: Any, connection: Any) -> None:
    connection.info["crm_wrote"] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if not statement.startswith(_NOT_WRITES):
        conn.info["crm_wrote"] = True


def untouched() -> bool:
    """True when the session's transaction has written nothing yet, flushed or pending, and is not inside
    a savepoint of a caller's (which may roll back to it and go on)."""
    session = db.session()
    if session.in_nested_transaction() or session.new or session.dirty or session.deleted or deferred.pending(session):
        return False
    return not session.connection().info.get("crm_wrote", True)


def forget() -> None:
    """Forget what this transaction remembers having locked (after a savepoint rollback)."""
    for name in _NAMES:
        memo(name).clear()


def lock_instance(instance_id: int) -> ProcessInstance:
    """The instance, read under a row lock (PostgreSQL) held to the end of the transaction. An instance
    this transaction has locked already is not read again: nobody else can have changed it since."""
    held: dict[int, ProcessInstance] = memo("crm_locked_instances")
    instance = held.get(instance_id)
    if instance is not None and instance in db.session:
        return instance
    stmt = select(ProcessInstance).where(ProcessInstance.id == instance_id).execution_options(populate_existing=True)
    if dialect() == "postgresql":
        stmt = stmt.with_for_update()
    instance = db.session.scalar(stmt)
    if instance is None:
        raise NotFound()
    held[instance_id] = instance
    return instance


def lock_instances_of(object_type: str, object_id: int) -> list[ProcessInstance]:
    """Every instance about this business object, locked (PostgreSQL) for the rest of the transaction,
    oldest first. A service locks them before the object itself, in the order every step takes its
    locks (the instance, then what its operators write), and a message it sends next in the same
    transaction does not read them again."""
    stmt = (select(ProcessInstance)
            .where(ProcessInstance.object_type == object_type, ProcessInstance.object_id == object_id)
            .order_by(ProcessInstance.id).execution_options(populate_existing=True))
    if dialect() == "postgresql":
        stmt = stmt.with_for_update()
    instances = list(db.session.scalars(stmt))
    held = memo("crm_locked_instances")
    for instance in instances:
        held[instance.id] = instance
    memo("crm_locked_objects")[(object_type, object_id)] = instances
    return instances


def locked_instances_of(object_type: str | None, object_id: int | None) -> list[ProcessInstance] | None:
    """Every instance about this object when this transaction locked them all (`lock_instances_of`, and
    none started since: `runtime.start` forgets the object), else None."""
    return memo("crm_locked_objects").get((object_type, object_id))


def forget_object(object_type: str | None, object_id: int | None) -> None:
    memo("crm_locked_objects").pop((object_type, object_id), None)


def lock_task(task_id: int, actor_id: int | None = None) -> tuple[HumanTask, ProcessInstance]:
    """The task and its instance, read again under a row lock on both (PostgreSQL) for the rest of the
    transaction: claims, completions and timers of the same instance wait for it. With `actor_id`, whether
    they are a candidate is read in the same statement (for `may_complete`)."""
    locked: dict[int, tuple[HumanTask, ProcessInstance]] = memo("crm_locked_tasks")
    if task_id in locked:
        return locked[task_id]  # held here: the identity map keeps weak refs
    stmt = (
        select(HumanTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.id == task_id)
        .execution_options(populate_existing=True)
    )
    if actor_id is not None:
        stmt = stmt.add_columns(
            exists().where(HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == actor_id))
    if dialect() == "postgresql":
        # The instance only, as every step does (locking the task row too could deadlock with a timer
        # step that holds the instance and closes the task). The engine re-checks the task is READY.
        stmt = stmt.with_for_update(of=ProcessInstance)
    row: Any = db.session.execute(stmt).first()
    if row is None:
        raise NotFound()
    locked[task_id] = (row[0], row[1])
    memo("crm_locked_instances")[row[1].id] = row[1]
    if actor_id is not None:
        task = row[0]
        memo("crm_may_complete")[(task.id, actor_id, task.assignee_id)] = (
            task.assignee_id == actor_id if task.assignee_id is not None else bool(row[2]))
    return row[0], row[1]


def is_candidate(task_id: int, user_id: int) -> bool:
    return db.session.scalar(
        select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task_id, HumanTaskCandidate.user_id == user_id)
    ) is not None


def may_complete(task: HumanTask, actor_id: int) -> bool:
    """The assignee, or a candidate of an unclaimed task. Asked of a task locked by `lock_task` (its
    candidates cannot change under the lock), so the answer is kept for the rest of the transaction:
    the request that reads the task to complete it and the completion ask once."""
    checked: dict[tuple[int, int, int | None], bool] = memo("crm_may_complete")
    key = (task.id, actor_id, task.assignee_id)
    if key not in checked:
        checked[key] = (task.assignee_id == actor_id if task.assignee_id is not None
                        else is_candidate(task.id, actor_id))
    return checked[key]
