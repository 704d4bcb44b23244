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
done once, in `before_commit` (a lifecycle step flushes many times). A customer's first order day is recomputed from
`kanban_customer_day` under a lock of the customer's summary row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_
from sqlalchemy import func
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
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanDimDay
from crm.dashboard.kanban.models import KanbanOrderFact
from crm.dashboard.kanban.models import KanbanOwned
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
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
def order_facts(conn: Connection, order_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """What each order contributes now (orders that no longer exist contribute nothing: {})."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    o, c = Order.__table__, Customer.__table__
    rows = conn.execute(select(o.c.id, o.c.store_id, o.c.owner_id, o.c.customer_id, o.c.status, o.c.signed_at,
                               o.c.total, o.c.terminal, o.c.completed_at, o.c.received_at, o.c.rating, o.c.paid_at,
                               c.c.province).join(c, c.c.id == o.c.customer_id).where(o.c.id.in_(ids))).all()
    line = OrderLine.__table__
    lines: dict[int, dict[int, list[Any]]] = defaultdict(dict)
    for order_id, product_id, quantity, price in conn.execute(
            select(line.c.order_id, line.c.product_id, line.c.quantity, line.c.unit_price)
            .where(line.c.order_id.in_(ids))):
        slot = lines[order_id].setdefault(product_id, [0, Decimal("0.00")])
        slot[0] += quantity
        slot[1] += (Decimal(price) * quantity).quantize(CENT)
    case = AfterSalesCase.__table__
    returned = set(conn.scalars(select(case.c.order_id).where(
        case.c.order_id.in_(ids), case.c.type == CaseType.RETURN_REFUND, case.c.decided_at.is_not(None),
        case.c.status != CaseStatus.REJECTED)))
    completed = {r.id: r for r in rows if r.completed_at is not None and r.status == OrderStatus.COMPLETED}
    revisited = _revisited(conn, list(completed.values()))
    facts: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for r in rows:
        cancelled = r.status == OrderStatus.CANCELLED
        signed = local_day(r.signed_at) if not cancelled else None
        rated = local_day(r.received_at or r.completed_at) if r.rating is not None and not cancelled else None
        done = local_day(r.completed_at) if r.id in completed else None
        facts[r.id] = {
            "s": r.store_id, "o": r.owner_id, "c": r.customer_id,
            "sd": signed.isoformat() if signed else None, "amt": str(Decimal(r.total).quantize(CENT)),
            "ret": int(r.id in returned), "prov": (r.province or "")[:40], "term": str(r.terminal),
            "lines": sorted([p, q, str(a)] for p, (q, a) in lines.get(r.id, {}).items()),
            "cd": done.isoformat() if done else None, "rv": int(r.id in revisited),
            "rd": rated.isoformat() if rated else None, "rt": r.rating,
            "pd": local_day(r.paid_at).isoformat() if r.paid_at is not None else None,  # type: ignore[union-attr]
        }
    return facts


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
        slot = out[table].setdefault(key, [0] * len(values))
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
    "sales": (KanbanSalesDay.__table__, ("store_id", "owner_id", "day"),
              ("orders", "amount", "returned", "completed", "revisited", "ratings", "positive", "paid")),
    "product": (KanbanProductDay.__table__, ("store_id", "owner_id", "day", "product_id"), ("quantity", "amount")),
    "dim": (KanbanDimDay.__table__, ("store_id", "owner_id", "day", "dim", "value"), ("orders", "amount")),
    "customer_day": (KanbanCustomerDay.__table__, ("customer_id", "day", "owner_id", "store_id"), ("orders",)),
    "owned": (KanbanOwned.__table__, ("store_id", "owner_id", "day"), ("delta",)),
}


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


def apply(conn: Connection, deltas: dict[str, Deltas]) -> None:
    """Add the increments (zero ones skipped) with one upsert per table, in key order (no deadlocks between
    two writers touching the same rows)."""
    for name, changes in deltas.items():
        table, keys, counted = TABLES[name]
        unique = keys if name != "customer_day" else ("customer_id", "day", "owner_id")
        rows = [{**dict(zip(keys, key, strict=True)), **dict(zip(counted, values, strict=True))}
                for key, values in sorted(changes.items(), key=lambda kv: tuple(str(k) for k in kv[0]))
                if any(values)]
        if not rows:
            continue
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(index_elements=list(unique),
                                          set_={col: table.c[col] + stmt.excluded[col] for col in counted})
        conn.execute(stmt, rows)  # one cached statement whatever the number of rows


def sync_orders(conn: Connection, order_ids: Iterable[int]) -> None:
    """Bring the summaries in line with these orders' current rows."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    fact_table = KanbanOrderFact.__table__
    lock = select(fact_table.c.order_id, fact_table.c.fact).where(fact_table.c.order_id.in_(ids))
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()
    old = {i: f for i, f in conn.execute(lock.order_by(fact_table.c.order_id))}
    new = order_facts(conn, ids)
    deltas: dict[str, Deltas] = defaultdict(dict)
    customers: set[int] = set()
    for i in ids:
        before, after = old.get(i) or {}, new.get(i) or {}
        if before == after:
            continue
        _contributions(before, -1, deltas)
        _contributions(after, +1, deltas)
        customers.update(f["c"] for f in (before, after) if f and f["sd"])
        if i in old:
            conn.execute(fact_table.update().where(fact_table.c.order_id == i).values(fact=after))
        else:
            conn.execute(fact_table.insert().values(order_id=i, fact=after))
    ensure_customers(conn, customers)
    customer_table = KanbanCustomer.__table__
    if customers and conn.dialect.name == "postgresql":  # the first order day is recomputed under this lock
        conn.execute(select(customer_table.c.customer_id).where(customer_table.c.customer_id.in_(sorted(customers)))
                     .order_by(customer_table.c.customer_id).with_for_update())
    apply(conn, deltas)
    if customers:
        day = KanbanCustomerDay.__table__
        first = (select(func.min(day.c.day)).where(day.c.customer_id == customer_table.c.customer_id, day.c.orders > 0)
                 .scalar_subquery())
        conn.execute(customer_table.update().where(customer_table.c.customer_id.in_(sorted(customers)))
                     .values(first_order_day=first))


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
                   "created_day": local_day(r.created_at), "first_order_day": None} for r in rows]
        if values:
            conn.execute(_insert(conn, table).on_conflict_do_nothing(), values)


# The flush listener -----------------------------------------------------------------------------------------
def _history(obj: Any, key: str) -> tuple[Any, Any] | None:
    hist = inspect(obj).attrs[key].history
    if not hist.has_changes():
        return None
    return (hist.deleted[0] if hist.deleted else None), (hist.added[0] if hist.added else None)


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
            pending = session.info[PENDING_KEY] = {"orders": set(), "new_customers": [], "owner_moves": [],
                                                   "resync": set(), "visits": [], "churn": []}
        if isinstance(obj, Order):
            pending["orders"].add(obj.id)
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
    sync_orders(conn, orders)


def customers_created(conn: Connection, values: list[dict[str, Any]]) -> None:
    conn.execute(_insert(conn, KanbanCustomer.__table__).on_conflict_do_nothing(),
                 [{**v, "first_order_day": None} for v in values])
    deltas: dict[str, Deltas] = {"owned": {}}
    for v in values:
        if v["owner_id"] is not None:
            slot = deltas["owned"].setdefault((v["store_id"], v["owner_id"], v["created_day"]), [0])
            slot[0] += 1
    apply(conn, deltas)
