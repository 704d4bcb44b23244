"""Write-behind for side writes that nothing reads back at once (issue 26): a process step's candidates,
bells and history rows, the bells of closed tasks marked read, the closed tasks themselves. They are queued
on the session (`defer_insert`, `defer`) and sent by `flush_deferred`: on PostgreSQL as **one** statement
(each write a data-modifying CTE: `WITH d0 AS (INSERT …), d1 AS (UPDATE …) SELECT 1`), on SQLite one
statement per write, in order.

What keeps it correct:
- *Nothing queued is lost or written late.* The queue is sent before the transaction (or a savepoint)
  commits (`before_commit`), and before any statement run through the session that reads or writes a table
  the queue writes, or writes a table the queue reads (`do_orm_execute`: selects, lazy loads, `session.get`,
  ORM-enabled DML; a text statement always sends it). An ORM flush that writes such a table sends it first
  (`before_flush`). Core statements sent on `session.connection()` directly bypass the check: their callers
  must not read the queued tables (the step path writes only new rows that way).
- *Nothing queued survives a rollback.* A savepoint that begins sends what the queue holds first (on the
  connection, before the SAVEPOINT), so the queue only ever holds writes of the innermost open transaction;
  when a savepoint or the transaction ends the queue is dropped (after a commit it is empty already).
- *One statement means one snapshot.* The CTEs of a PostgreSQL statement all see the database as it was
  before the statement, not each other's writes. So a write that reads a table an earlier queued write
  changes (an UPDATE of a table the queue inserted into, a subquery over it) sends the queue first: queued
  in order, the writes have the effect they would have had one by one. Two writes that only insert may
  share a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import ARRAY
from sqlalchemy import Table
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import object_mapper
from sqlalchemy.sql.util import find_tables

_KEY = "crm_deferred"


@dataclass(frozen=True)
class _Write:
    statement: Any  # a Core INSERT (with `rows`), UPDATE or DELETE
    rows: list[dict[str, Any]] | None
    writes: str  # the table it writes
    reads: frozenset[str]  # the tables it reads (an UPDATE or DELETE reads its own)


def _queue(session: Any) -> list[_Write]:
    queue: list[_Write] | None = session.info.get(_KEY)
    if queue is None:
        queue = session.info[_KEY] = []
    return queue


def pending(session: Any) -> bool:
    """Does the session hold queued writes (a write of the transaction not sent yet)?"""
    return bool(session.info.get(_KEY))


def defer_insert(session: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """Queue an INSERT of `rows` (dicts of one set of keys) into `table`; their ids are never known."""
    if not rows:
        return
    keys = rows[0].keys()
    if any(row.keys() != keys for row in rows):
        raise ValueError(f"rows for {table.name} with different columns: queue them separately")
    _add(session, _Write(table.insert(), list(rows), table.name, frozenset()))


def defer(session: Any, statement: Any, *, reads: Iterable[Table] | None = None) -> None:
    """Queue a Core UPDATE or DELETE (no RETURNING: nothing comes back). `reads`: the tables its subqueries
    read, when the caller names them (the step's hot path: finding them in the statement costs more than
    the statement's own round trip saves); otherwise they are found in the statement."""
    if reads is None:
        tables = {t.name for t in find_tables(statement, include_crud=True, include_aliases=True)}
    else:
        tables = {t.name for t in reads} | {statement.table.name}
    _add(session, _Write(statement, None, statement.table.name, frozenset(tables)))


def _add(session: Any, write: _Write) -> None:
    # The transaction's connection now (not at the flush): a savepoint that begins later finds the root
    # transaction holding one, to send the queue on before its SAVEPOINT (`_savepoint_begins`).
    session.connection()
    queue = _queue(session)
    if write.reads & {w.writes for w in queue}:
        _send(session.connection(), queue)  # it must see what they write: not in the same snapshot
    queue.append(write)


def flush_deferred(session: Any) -> None:
    """Send the queued writes now (one statement on PostgreSQL)."""
    queue = session.info.get(_KEY)
    if queue:
        _send(session.connection(), queue)


def _send(connection: Any, queue: list[_Write]) -> None:
    writes = list(queue)
    queue.clear()  # first: a failed statement must not be sent again by the rollback's commit hooks
    if connection.dialect.name != "postgresql" or len(writes) == 1:
        for w in writes:
            if w.rows is None:
                connection.execute(w.statement)
            else:
                connection.execute(w.statement, w.rows)
        return
    ctes: list[Any] = []
    arrays: dict[str, list[Any]] = {}
    for i, w in enumerate(writes):
        if w.rows is None:
            ctes.append(w.statement.cte(f"deferred_{i}"))
            continue
        keys = tuple(w.rows[0])
        ctes.append(_insert_from_arrays(w.statement.table, keys, i))
        arrays.update({f"deferred_{i}_{k}": [row[k] for row in w.rows] for k in keys})
    connection.execute(select(literal(1)).add_cte(*ctes), arrays)


@lru_cache(maxsize=256)
def _insert_from_arrays(table: Table, keys: tuple[str, ...], position: int) -> Any:
    """`deferred_<position> AS (INSERT INTO t (a, b) SELECT * FROM unnest(:deferred_<position>_a, …))`: one
    array parameter per column, each typed as the column (its bind processing applies to every item: JSON,
    aware datetimes, enums as their values). Built once per table, columns and place in the statement, whose
    text then depends on those only, not on the number of rows (a multi-row VALUES is compiled again on
    every call, and is limited to 65 535 parameters)."""
    arrays = [bindparam(f"deferred_{position}_{k}", type_=ARRAY(table.c[k].type)) for k in keys]
    rows = func.unnest(*arrays).table_valued(*keys).render_derived()
    return table.insert().from_select(list(keys), select(*rows.c)).cte(f"deferred_{position}")


def _touches(statement: Any, queue: list[_Write]) -> bool:
    """Would `statement` see or change what the queue has not written yet?"""
    if isinstance(statement, TextClause):
        return True
    tables = {t.name for t in find_tables(statement, include_crud=True, include_aliases=True)}
    written = {w.writes for w in queue}
    return bool(tables & written) or (statement.is_dml and bool(tables & set().union(*(w.reads for w in queue))))


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    queue = state.session.info.get(_KEY)
    if queue and _touches(state.statement, queue):
        _send(state.session.connection(), queue)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    queue = session.info.get(_KEY)
    if not queue:
        return
    tables = {t.name for obj in chain(session.new, session.dirty, session.deleted)
              for t in object_mapper(obj).tables}
    if tables & set(chain((w.writes for w in queue), *(w.reads for w in queue))):
        _send(session.connection(), queue)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush_deferred(session)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_begins(session: Session, transaction: Any) -> None:
    queue = session.info.get(_KEY)
    if queue and transaction.nested:
        # On the connection as it is: the savepoint's SAVEPOINT is sent when it first uses it, after this.
        _send(next(iter(session.get_transaction().connections)), queue)  # type: ignore[union-attr]


@event.listens_for(Session, "after_transaction_end")
def _transaction_ends(session: Session, transaction: Any) -> None:
    # Committed: sent already (before_commit). Rolled back or closed: what it queued is gone with it.
    if transaction.nested or transaction.parent is None:
        session.info.pop(_KEY, None)
