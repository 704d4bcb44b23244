"""`flask crm kanban rebuild` and `verify`: the summaries recomputed from the raw rows (orders and their
lines, after-sales cases, follow-ups, customers, high-seas moves, and the operation log for who owned a
customer when), written over the tables or compared with them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from crm.core.audit import OperationLog
from crm.customers.models import Customer
from crm.dashboard.kanban import chain
from crm.dashboard.kanban import services
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanOrderFact
from crm.highseas.models import INTO_POOL
from crm.highseas.models import HighSeasMove
from crm.sales.orders.models import Order

BATCH = 2000
Summary = dict[str, dict[Any, tuple[Any, ...]]]


def _norm(values: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(Decimal(v).quantize(services.CENT) if isinstance(v, Decimal | float) else int(v) for v in values)


def _order_batches(conn: Connection) -> Iterator[list[int]]:
    last = 0
    o = Order.__table__
    while True:
        ids = list(conn.scalars(select(o.c.id).where(o.c.id > last).order_by(o.c.id).limit(BATCH)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def recompute(conn: Connection, *, on_facts: Callable[[dict[int, dict[str, Any]]], None] | None = None) -> Summary:
    """Every summary table's non-zero rows, from the raw rows (`on_facts` receives each batch of orders'
    contributions)."""
    deltas: dict[str, services.Deltas] = defaultdict(dict)
    for ids in _order_batches(conn):
        facts = services.order_facts(conn, ids)
        for fact in facts.values():
            services._contributions(fact, +1, deltas)
        if on_facts is not None:
            on_facts(facts)
    owned, created_owner = _ownership(conn)
    deltas["owned"] = owned
    out: Summary = {name: {key: _norm(v) for key, v in rows.items() if any(v)} for name, rows in deltas.items()}
    for name in services.TABLES:
        out.setdefault(name, {})
    out["chain"], first, second = chain.chains(out["customer_day"])
    c = Customer.__table__
    out["customer"] = {r.id: (r.store_id, created_owner.get(r.id, r.owner_id), services.local_day(r.created_at),
                              first.get(r.id), second.get(r.id))
                       for r in conn.execute(select(c.c.id, c.c.store_id, c.c.owner_id, c.c.created_at))}
    m = HighSeasMove.__table__
    out["churn"] = {(r.customer_id, services.local_day(r.at), r.from_owner_id, r.store_id): ()
                    for r in conn.execute(select(m.c.customer_id, m.c.at, m.c.from_owner_id, m.c.store_id).where(
                        m.c.kind.in_(list(INTO_POOL)), m.c.from_owner_id.is_not(None)))}
    return out


def _ownership(conn: Connection) -> tuple[services.Deltas, dict[int, int | None]]:
    """Owned-customer changes per store × owner × day, replayed from the operation log (a customer without a
    log entry counts for its current owner from its creation day); and each customer's owner at creation."""
    c, log = Customer.__table__, OperationLog.__table__
    customers = {r.id: r for r in conn.execute(select(c.c.id, c.c.store_id, c.c.owner_id, c.c.created_at))}
    deltas: services.Deltas = {}
    created_owner: dict[int, int | None] = {}
    logged: set[int] = set()

    def add(store_id: int, owner: Any, day: date | None, d: int) -> None:
        if owner is None or day is None:
            return
        slot = deltas.setdefault((store_id, int(owner), day), [0])
        slot[0] += d

    stmt = select(log.c.object_id, log.c.action, log.c.changes, log.c.occurred_at).where(
        log.c.object_type == Customer.__tablename__).order_by(log.c.id)
    for object_id, action, changes, at in conn.execute(stmt):
        row = customers.get(object_id)
        if row is None:
            continue
        if action == "created":
            logged.add(object_id)
            owner = (changes.get("owner_id") or {}).get("new")
            created_owner[object_id] = owner
            add(row.store_id, owner, services.local_day(row.created_at), +1)
        elif action == "updated" and "owner_id" in changes and object_id in logged:
            add(row.store_id, changes["owner_id"].get("old"), services.local_day(at), -1)
            add(row.store_id, changes["owner_id"].get("new"), services.local_day(at), +1)
    for customer_id, row in customers.items():
        if customer_id not in logged:
            add(row.store_id, row.owner_id, services.local_day(row.created_at), +1)
    return deltas, created_owner


def current(conn: Connection) -> Summary:
    """The summary tables' non-zero rows as they are."""
    out: Summary = {}
    for name, (table, keys, counted) in services.TABLES.items():
        rows = conn.execute(select(*[table.c[k] for k in keys], *[table.c[k] for k in counted]))
        out[name] = {tuple(r[:len(keys)]): _norm(r[len(keys):]) for r in rows if any(r[len(keys):])}
    d = KanbanCustomerDay.__table__
    out["chain"] = {(r.customer_id, r.day, r.owner_id): (r.prev_day,)
                    for r in conn.execute(select(d.c.customer_id, d.c.day, d.c.owner_id, d.c.prev_day).where(d.c.orders > 0))}
    k = KanbanCustomer.__table__
    out["customer"] = {r.customer_id: (r.store_id, r.owner_id, r.created_day, r.first_order_day, r.second_order_day)
                       for r in conn.execute(select(k))}
    ch = KanbanChurn.__table__
    out["churn"] = {(r.customer_id, r.day, r.owner_id, r.store_id): () for r in conn.execute(select(ch))}
    return out


def diff(expected: Summary, actual: Summary, *, limit: int = 50) -> list[str]:
    """Human-readable differences (at most `limit`), empty when the summaries agree."""
    lines: list[str] = []
    for name in sorted(expected.keys() | actual.keys()):
        a, b = expected.get(name, {}), actual.get(name, {})
        for key in sorted(a.keys() | b.keys(), key=lambda k: tuple(str(x) for x in (k if isinstance(k, tuple) else (k,)))):
            if a.get(key) != b.get(key):
                lines.append(f"{name} {key}: expected {a.get(key)} found {b.get(key)}")
                if len(lines) >= limit:
                    return lines
    return lines


def rebuild(conn: Connection) -> dict[str, int]:
    """Replace the summary tables by the recomputation; returns the number of rows per table."""
    f = KanbanOrderFact.__table__
    conn.execute(f.delete())

    def write_facts(facts: dict[int, dict[str, Any]]) -> None:
        _insert_rows(conn, f, [{"order_id": i, "fact": fact} for i, fact in facts.items() if fact])

    summary = recompute(conn, on_facts=write_facts)
    for name, (table, keys, counted) in services.TABLES.items():
        conn.execute(table.delete())
        rows = [{**dict(zip(keys, key, strict=True)), **dict(zip(counted, values, strict=True))}
                for key, values in summary[name].items()]
        if name == "customer_day":
            for row in rows:
                row["prev_day"] = summary["chain"][(row["customer_id"], row["day"], row["owner_id"])][0]
        _insert_rows(conn, table, rows)
    k = KanbanCustomer.__table__
    conn.execute(k.delete())
    rows = [{"customer_id": cid, "store_id": s, "owner_id": o, "created_day": d, "first_order_day": f,
             "second_order_day": f2} for cid, (s, o, d, f, f2) in summary["customer"].items()]
    _insert_rows(conn, k, rows)
    ch = KanbanChurn.__table__
    conn.execute(ch.delete())
    rows = [{"customer_id": cid, "day": d, "owner_id": o, "store_id": s} for (cid, d, o, s) in summary["churn"]]
    _insert_rows(conn, ch, rows)
    return {name: len(values) for name, values in summary.items() if name != "chain"}


def _insert_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: PostgreSQL's COPY (a million rows in seconds), elsewhere an executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns)])
    finally:
        cursor.close()


def verify(conn: Connection) -> list[str]:
    return diff(recompute(conn), current(conn))
