"""The maintenance of the kanban's summary tables, in the writers' own transaction.

The choice (docs/architecture.md): the dashboard listens to the session's flushes (`after_flush`) instead
of being called by each writer. Orders, their lines, after-sales cases, follow-ups, customers and high-seas
moves are written by many services (orders, receipt, cancel, payments, after-sales, transfers, the
recycle sweep, merges, imports …); a flush listener sees every one of them, so no writer can forget the
call and no upstream context has to import the dashboard (DESIGN §4: upstream never learns about
downstream). The summaries are updated in the same transaction, so they are exactly as committed as the
rows they count.

An order's contribution is recomputed from its current rows (`order_fact`) and compared with the one
stored in `kanban_order_fact`: only the difference is applied, as increments (`INSERT … ON CONFLICT DO
UPDATE SET x = x + excluded.x`), so two transactions never lose each other's counts; the order's fact row
is locked (`FOR UPDATE`) while its difference is applied. Flushes only note what they touched; the work is
done once, in `before_commit` (a lifecycle step flushes many times). A customer's chain of order days and
first and second order days are recomputed from `kanban_customer_day` under a lock of the customer's summary
row (`rechain`)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.dashboard.kanban.chain import rechain
from crm.dashboard.kanban.models import SALES_COUNTS
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanDimDay
from crm.dashboard.kanban.models import KanbanOrderFact
from crm.dashboard.kanban.models import KanbanOwned
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.dashboard.kanban.models import KanbanStoreDimDay
from crm.dashboard.kanban.models import KanbanStoreProductDay
from crm.dashboard.kanban.models import KanbanStoreSalesDay
from crm.highseas.models import INTO_POOL
from crm.highseas.models import HighSeasMove
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.orders.models import OrderStatus

REVISIT_DAYS = 7
CENT = Decimal("0.01")
ENABLED_KEY = "kanban_maintenance"  # session.info flag: False switches the listener off (the rebuild, benchmarks)


def local_day(at: datetime | None) -> date | None:
    return at.astimezone(LOCAL_ZONE).date() if at is not None else None


# An order's contribution ------------------------------------------------------------------------------------
def _read_statement() -> Any:
    """The orders with their customer's province, their lines (one row each; none: one row of NULLs) and
    whether they have an approved return: one statement, built once (an expanding IN of the ids)."""
    o, c, line, cases = Order.__table__, Customer.__table__, OrderLine.__table__, AfterSalesCase.__table__
    returned = exists().where(cases.c.order_id == o.c.id, cases.c.type == CaseType.RETURN_REFUND,
                              cases.c.decided_at.is_not(None), cases.c.status != CaseStatus.REJECTED)
    return (select(o.c.id, o.c.store_id, o.c.owner_id, o.c.customer_id, o.c.status, o.c.signed_at, o.c.total,
                   o.c.terminal, o.c.completed_at, o.c.received_at, o.c.rating, o.c.paid_at, c.c.province,
                   line.c.product_id, line.c.quantity, line.c.unit_price, returned.label("returned"))
            .select_from(o.join(c, c.c.id == o.c.customer_id).outerjoin(line, line.c.order_id == o.c.id))
            .where(o.c.id.in_(bindparam("ids", expanding=True))).order_by(o.c.id))


READ = _read_statement()


def order_facts(conn: Connection, order_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """What each order contributes now (orders that no longer exist contribute nothing: {})."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    orders: dict[int, Any] = {}
    lines: dict[int, dict[int, list[Any]]] = defaultdict(dict)
    for r in conn.execute(READ, {"ids": ids}):
        orders.setdefault(r.id, r)
        if r.product_id is not None:
            slot = lines[r.id].setdefault(r.product_id, [0, Decimal("0.00")])
            slot[0] += r.quantity
            slot[1] += (Decimal(r.unit_price) * r.quantity).quantize(CENT)
    completed = {r.id: r for r in orders.values() if r.completed_at is not None and r.status == OrderStatus.COMPLETED}
    revisited = _revisited(conn, list(completed.values()))
    facts: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for r in orders.values():
        cancelled = r.status == OrderStatus.CANCELLED
        signed = local_day(r.signed_at) if not cancelled else None
        rated = local_day(r.received_at or r.completed_at) if r.rating is not None and not cancelled else None
        done = local_day(r.completed_at) if r.id in completed else None
        facts[r.id] = {
            "s": r.store_id, "o": r.owner_id, "c": r.customer_id,
            "sd": signed.isoformat() if signed else None, "amt": str(Decimal(r.total).quantize(CENT)),
            "ret": int(bool(r.returned)), "prov": (r.province or "")[:40], "term": str(r.terminal),
            "lines": sorted([p, q, str(a)] for p, (q, a) in lines.get(r.id, {}).items()),
            "cd": done.isoformat() if done else None, "rv": int(r.id in revisited),
            "rd": rated.isoformat() if rated else None, "rt": r.rating,
            "pd": local_day(r.paid_at).isoformat() if r.paid_at is not None else None,  # type: ignore[union-attr]
        }
    return facts


def contributes(fact: dict[str, Any] | None) -> bool:
    """Whether a fact adds anything to a summary (an order neither signed, completed, rated nor paid does not)."""
    return fact is not None and any(fact.get(k) for k in ("sd", "cd", "rd", "pd"))


def _revisited(conn: Connection, completed: list[Any]) -> set[int]:
    """Completed orders with a follow-up of their customer within REVISIT_DAYS after completion."""
    if not completed:
        return set()
    f = FollowUp.__table__
    out = set()
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for r in completed:
        by_customer[r.customer_id].append(r)
    visits: dict[int, list[datetime]] = defaultdict(list)
    low = min(r.completed_at for r in completed)
    for customer_id, at in conn.execute(select(f.c.customer_id, f.c.occurred_at).where(
            f.c.customer_id.in_(list(by_customer)), f.c.occurred_at > low)):
        visits[customer_id].append(at)
    for customer_id, orders in by_customer.items():
        for r in orders:
            end = r.completed_at + timedelta(days=REVISIT_DAYS)
            if any(r.completed_at < at <= end for at in visits.get(customer_id, ())):
                out.add(r.id)
    return out


# Increments -------------------------------------------------------------------------------------------------
Deltas = dict[tuple[Any, ...], list[Any]]


def _contributions(fact: dict[str, Any], sign: int, out: dict[str, Deltas]) -> None:
    if not fact:
        return
    s, o, c = fact["s"], fact["o"], fact["c"]

    def add(table: str, key: tuple[Any, ...], values: list[Any]) -> None:
        for name, k in ((table, key), *(((STORE_GRAIN[table], (key[0], *key[2:])),) if table in STORE_GRAIN else ())):
            slot = out[name].setdefault(k, [0] * len(values))
            for i, v in enumerate(values):
                slot[i] += sign * v

    zero = Decimal("0.00")
    if fact["sd"]:
        day, amount = date.fromisoformat(fact["sd"]), Decimal(fact["amt"])
        add("sales", (s, o, day), [1, amount, fact["ret"], 0, 0, 0, 0, 0])
        for product_id, quantity, line_amount in fact["lines"]:
            add("product", (s, o, day, product_id), [quantity, Decimal(line_amount)])
        add("dim", (s, o, day, "province", fact["prov"]), [1, amount])
        add("dim", (s, o, day, "terminal", fact["term"]), [1, amount])
        add("customer_day", (c, day, o, s), [1])
    if fact["cd"]:
        add("sales", (s, o, date.fromisoformat(fact["cd"])), [0, zero, 0, 1, fact["rv"], 0, 0, 0])
    if fact["rd"]:
        add("sales", (s, o, date.fromisoformat(fact["rd"])), [0, zero, 0, 0, 0, 1, int(fact["rt"] >= 4), 0])
    if fact.get("pd"):
        add("sales", (s, o, date.fromisoformat(fact["pd"])), [0, zero, 0, 0, 0, 0, 0, 1])


TABLES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    # name: (table, key columns, counted columns)
    "sales": (KanbanSalesDay.__table__, ("store_id", "owner_id", "day"), SALES_COUNTS),
    "product": (KanbanProductDay.__table__, ("store_id", "owner_id", "day", "product_id"), ("quantity", "amount")),
    "dim": (KanbanDimDay.__table__, ("store_id", "owner_id", "day", "dim", "value"), ("orders", "amount")),
    "customer_day": (KanbanCustomerDay.__table__, ("customer_id", "day", "owner_id", "store_id"), ("orders",)),
    "owned": (KanbanOwned.__table__, ("store_id", "owner_id", "day"), ("delta",)),
    "store_sales": (KanbanStoreSalesDay.__table__, ("store_id", "day"), SALES_COUNTS),
    "store_product": (KanbanStoreProductDay.__table__, ("store_id", "day", "product_id"), ("quantity", "amount")),
    "store_dim": (KanbanStoreDimDay.__table__, ("store_id", "day", "dim", "value"), ("orders", "amount")),
}
# A per-salesperson table's twin summed over the salespeople (its key without the owner, the key's second part).
STORE_GRAIN = {"sales": "store_sales", "product": "store_product", "dim": "store_dim"}


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(conn: Connection, name: str) -> Any:
    """The increment upsert of a summary table, built once per dialect (executemany: one statement)."""
    key = (conn.dialect.name, name)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        table, keys, counted = TABLES[name]
        unique = keys if name != "customer_day" else ("customer_id", "day", "owner_id")
        stmt = _insert(conn, table)
        stmt = _UPSERTS[key] = stmt.on_conflict_do_update(
            index_elements=list(unique), set_={col: table.c[col] + stmt.excluded[col] for col in counted})
    return stmt


def _rows(deltas: dict[str, Deltas]) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's non-zero increments as (key…, counts…) tuples, in key order (no deadlocks between two
    writers touching the same rows)."""
    return {name: [(*key, *values) for key, values in sorted(changes.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
                   if any(values)] for name, changes in deltas.items()}


def apply(conn: Connection, deltas: dict[str, Deltas]) -> None:
    """Add the increments (zero ones skipped) with one upsert per table."""
    for name, rows in _rows(deltas).items():
        if rows:
            table, keys, counted = TABLES[name]
            conn.execute(_upsert(conn, name), [dict(zip(keys + counted, row, strict=True)) for row in rows])


def _pg_types(table: Any, columns: Iterable[str]) -> list[str]:
    from sqlalchemy.dialects import postgresql

    return [table.c[col].type.compile(dialect=postgresql.dialect()) for col in columns]


def _pg_write_sql() -> str:
    """PostgreSQL: every write of a synchronisation in one statement, the same text whatever the number of
    rows (arrays unnested), so it is parsed and planned once per connection. The customers' first order
    days come first (the main query reads them; the other data-modifying CTEs then run in their order):
    the lock order of the old separate statements, customer before the summaries."""
    ctes = []
    for name, (table, keys, counted) in TABLES.items():
        cols = keys + counted
        unique = keys if name != "customer_day" else ("customer_id", "day", "owner_id")
        arrays = ", ".join(f"%({name}_{col})s::{typ}[]" for col, typ in zip(cols, _pg_types(table, cols), strict=True))
        sets = ", ".join(f"{col} = {table.name}.{col} + excluded.{col}" for col in counted)
        ctes.append(f"w_{name} AS (INSERT INTO {table.name} ({', '.join(cols)}) SELECT * FROM unnest({arrays}) "
                    f"ON CONFLICT ({', '.join(unique)}) DO UPDATE SET {sets})")
    fact = KanbanOrderFact.__table__.name
    ctes.append(f"w_fact AS (INSERT INTO {fact} (order_id, fact) SELECT i, j::jsonb FROM unnest("
                f"%(fact_id)s::integer[], %(fact_json)s::text[]) AS v(i, j) ON CONFLICT (order_id) DO UPDATE SET "
                f"fact = excluded.fact)")
    customer = KanbanCustomer.__table__.name
    first = (f"w_first AS (UPDATE {customer} AS k SET first_order_day = CASE WHEN k.first_order_day IS NULL OR "
             f"k.first_order_day > v.day THEN v.day ELSE k.first_order_day END FROM unnest(%(first_id)s::integer[], "
             f"%(first_day)s::date[]) AS v(customer_id, day) WHERE k.customer_id = v.customer_id "
             f"RETURNING k.customer_id)")
    return "WITH " + ", ".join([first, *ctes]) + " SELECT count(*) FROM w_first"


PG_WRITE: list[str] = []


def _write(conn: Connection, facts: list[tuple[int, dict[str, Any]]], deltas: dict[str, Deltas],
           first: dict[int, date]) -> None:
    """Store the orders' facts and add the increments; on PostgreSQL also bring the customers' first order
    day down to `first` where it is later, which locks their summary rows before `rechain`."""
    rows = _rows(deltas)
    if conn.dialect.name != "postgresql":  # one writer at a time: no lock to take
        if facts:
            conn.execute(_fact_upsert(conn), [{"order_id": i, "fact": f} for i, f in facts])
        for name, table_rows in rows.items():
            if table_rows:
                _, keys, counted = TABLES[name]
                conn.execute(_upsert(conn, name), [dict(zip(keys + counted, row, strict=True)) for row in table_rows])
        return
    if not PG_WRITE:
        PG_WRITE.append(_pg_write_sql())
    params: dict[str, Any] = {"fact_id": [i for i, _ in facts], "fact_json": [json.dumps(f) for _, f in facts],
                              "first_id": sorted(first), "first_day": [first[c] for c in sorted(first)]}
    for name, (_, keys, counted) in TABLES.items():
        cols = keys + counted
        table_rows = rows.get(name, [])
        for n, col in enumerate(cols):
            params[f"{name}_{col}"] = [row[n] for row in table_rows]
    conn.exec_driver_sql(PG_WRITE[0], params)


def _fact_upsert(conn: Connection) -> Any:
    key = (conn.dialect.name, "fact")
    stmt = _UPSERTS.get(key)
    if stmt is None:
        stmt = _insert(conn, KanbanOrderFact.__table__)
        stmt = _UPSERTS[key] = stmt.on_conflict_do_update(index_elements=["order_id"], set_={"fact": stmt.excluded.fact})
    return stmt


OLD_FACTS = select(KanbanOrderFact.__table__.c.order_id, KanbanOrderFact.__table__.c.fact).where(
    KanbanOrderFact.__table__.c.order_id.in_(bindparam("ids", expanding=True))).order_by(KanbanOrderFact.__table__.c.order_id)
OLD_FACTS_LOCKED = OLD_FACTS.with_for_update()


def sync_orders(conn: Connection, order_ids: Iterable[int], new: Iterable[int] = ()) -> None:
    """Bring the summaries in line with these orders' current rows (`new`: orders inserted by this
    transaction, which have no stored fact yet)."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    fresh = set(new)
    known = [i for i in ids if i not in fresh]
    old: dict[int, Any] = {}
    if known:  # their stored facts, locked while the difference is applied
        old = dict(conn.execute(OLD_FACTS_LOCKED if conn.dialect.name == "postgresql" else OLD_FACTS, {"ids": known}).all())
    now = order_facts(conn, ids)
    deltas: dict[str, Deltas] = defaultdict(dict)
    facts: list[tuple[int, dict[str, Any]]] = []
    for i in ids:
        before, after = old.get(i) or {}, now.get(i) or {}
        if (before if contributes(before) else {}) == (after if contributes(after) else {}):
            continue
        _contributions(before, -1, deltas)
        _contributions(after, +1, deltas)
        facts.append((i, after))
    if not facts:
        return
    # A customer whose orders changed has their chain of order days (`prev_day`), first and second order
    # days recomputed from their `kanban_customer_day` rows, under a lock of their summary row taken before
    # (so a concurrent writer of the same customer waits and then recomputes with this one's rows): one who
    # only gains orders is locked by the write's own LEAST update of the first order day, one who loses some
    # (a cancellation, a day changed) by a FOR UPDATE first.
    first: dict[int, date] = {}
    losing: set[int] = set()
    for (customer_id, day, _owner, _store), (n,) in deltas.get("customer_day", {}).items():
        if n > 0:
            first[customer_id] = min(day, first.get(customer_id, day))
        elif n < 0:
            losing.add(customer_id)
    changed = set(first) | losing
    for customer_id in losing:
        first.pop(customer_id, None)
    customer_table = KanbanCustomer.__table__
    if losing:
        ensure_customers(conn, losing)
        if conn.dialect.name == "postgresql":
            conn.execute(select(customer_table.c.customer_id).where(customer_table.c.customer_id.in_(sorted(losing)))
                         .order_by(customer_table.c.customer_id).with_for_update())
    _write(conn, facts, deltas, first)
    if rechain(conn, changed) < len(changed):  # summary rows missing: customers from before the kanban existed
        ensure_customers(conn, changed)
        rechain(conn, changed)


def ensure_customers(conn: Connection, customer_ids: Iterable[int]) -> None:
    """The customers' summary rows (created by the customer's insert; this covers rows written before the
    kanban existed)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    table, c = KanbanCustomer.__table__, Customer.__table__
    have = set(conn.scalars(select(table.c.customer_id).where(table.c.customer_id.in_(ids))))
    missing = [i for i in ids if i not in have]
    if missing:
        rows = conn.execute(select(c.c.id, c.c.store_id, c.c.owner_id, c.c.created_at).where(c.c.id.in_(missing)))
        values = [{"customer_id": r.id, "store_id": r.store_id, "owner_id": r.owner_id,
                   "created_day": local_day(r.created_at), "first_order_day": None, "second_order_day": None}
                  for r in rows]
        if values:
            conn.execute(_insert(conn, table).on_conflict_do_nothing(), values)


# The flush listener -----------------------------------------------------------------------------------------
def _history(obj: Any, key: str) -> tuple[Any, Any] | None:
    hist = inspect(obj).attrs[key].history
    if not hist.has_changes():
        return None
    return (hist.deleted[0] if hist.deleted else None), (hist.added[0] if hist.added else None)


IDLE = ("signed_at", "completed_at", "paid_at", "rating")  # an order with none of these contributes nothing
PENDING_KEY = "kanban_pending"  # session.info: what this transaction's flushes touched, synced before commit


def after_flush(session: Session, flush_context: Any) -> None:
    """Note what the flush touched (cheap: no SQL); `before_commit` brings the summaries up to date once per
    transaction, however many flushes it had."""
    if session.info.get(ENABLED_KEY) is False:
        return
    pending = session.info.get(PENDING_KEY)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, Order | OrderLine | AfterSalesCase | FollowUp | Customer | HighSeasMove):
            continue
        if pending is None:
            pending = session.info[PENDING_KEY] = {"orders": set(), "new_orders": {}, "new_customers": [],
                                                   "owner_moves": [], "resync": set(), "visits": [], "churn": []}
        if isinstance(obj, Order):
            pending["orders"].add(obj.id)
            if obj in session.new:  # idle: neither signed, completed, rated nor paid (no defaults: NULL)
                pending["new_orders"][obj.id] = all(inspect(obj).dict.get(k) is None for k in IDLE)
            elif obj.id in pending["new_orders"]:
                pending["new_orders"][obj.id] = False  # written again in this transaction
        elif isinstance(obj, OrderLine | AfterSalesCase):
            pending["orders"].add(obj.order_id)
        elif isinstance(obj, FollowUp):
            pending["visits"].append((obj.customer_id, obj.occurred_at or utcnow()))
        elif isinstance(obj, Customer):
            if obj in session.new:
                pending["new_customers"].append({"customer_id": obj.id, "store_id": obj.store_id,
                                                 "owner_id": obj.owner_id,
                                                 "created_day": local_day(obj.created_at or utcnow())})
            elif obj not in session.deleted:
                owner = _history(obj, "owner_id")
                if owner is not None and owner[0] != owner[1]:
                    pending["owner_moves"].append((obj.store_id, owner[0], owner[1]))
                if _history(obj, "province") is not None:
                    pending["resync"].add(obj.id)
        elif (isinstance(obj, HighSeasMove) and obj in session.new and obj.kind in INTO_POOL
              and obj.from_owner_id is not None):
            pending["churn"].append({"customer_id": obj.customer_id, "store_id": obj.store_id,
                                     "owner_id": obj.from_owner_id, "day": local_day(obj.at or utcnow())})


def before_commit(session: Session) -> None:
    """Flush what is left, then apply everything this transaction touched, in it."""
    if session.info.get(ENABLED_KEY) is False:
        session.info.pop(PENDING_KEY, None)
        return
    session.flush()
    pending = session.info.pop(PENDING_KEY, None)
    if pending:
        # An order this transaction inserted has no stored fact; one that is neither signed, completed,
        # rated nor paid (as its object in the session says) contributes nothing: no statement at all.
        pending["orders"] -= {i for i, idle in pending["new_orders"].items() if idle}
        apply_pending(session.connection(), pending)



def forget_pending(session: Session, transaction: Any) -> None:
    """The transaction ended without a commit (rolled back): what it touched is gone with it. A savepoint's
    end keeps the outer transaction's notes."""
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


def apply_pending(conn: Connection, pending: dict[str, Any]) -> None:
    orders: set[int] = pending["orders"]
    if pending["new_customers"]:
        customers_created(conn, pending["new_customers"])
    if pending["owner_moves"]:
        today = local_day(utcnow())
        deltas: dict[str, Deltas] = {"owned": {}}
        for store_id, old, new in pending["owner_moves"]:
            for owner, d in ((old, -1), (new, +1)):
                if owner is not None:
                    slot = deltas["owned"].setdefault((store_id, owner, today), [0])
                    slot[0] += d
        apply(conn, deltas)
    if pending["churn"]:
        conn.execute(_insert(conn, KanbanChurn.__table__).on_conflict_do_nothing(), pending["churn"])
    o = Order.__table__
    if pending["resync"]:
        orders.update(conn.scalars(select(o.c.id).where(o.c.customer_id.in_(sorted(pending["resync"])))))
    for customer_id, at in pending["visits"]:  # a follow-up may be the return visit of orders completed before
        orders.update(conn.scalars(select(o.c.id).where(
            o.c.customer_id == customer_id, o.c.completed_at.is_not(None),
            and_(o.c.completed_at >= at - timedelta(days=REVISIT_DAYS), o.c.completed_at < at))))
    orders.discard(None)  # type: ignore[arg-type]
    sync_orders(conn, orders, new=pending["new_orders"])


def customers_created(conn: Connection, values: list[dict[str, Any]]) -> None:
    conn.execute(_insert(conn, KanbanCustomer.__table__).on_conflict_do_nothing(),
                 [{**v, "first_order_day": None, "second_order_day": None} for v in values])
    deltas: dict[str, Deltas] = {"owned": {}}
    for v in values:
        if v["owner_id"] is not None:
            slot = deltas["owned"].setdefault((v["store_id"], v["owner_id"], v["created_day"]), [0])
            slot[0] += 1
    apply(conn, deltas)
