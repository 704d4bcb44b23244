"""Keeping `finance_receivable_due` equal to what the orders owe (see `crm.finance.ledger.models`).

The rows are rewritten per order in the flush that changes what the order owes or when: a session
`after_flush` hook sees the orders, plans and instalments of the flush and, for the orders touched,
deletes their rows and inserts them again from the same SQL the receivables list reads
(`receivables.still_owing`, `with_open_instalments`, `OPEN`), on the flush's connection. So the table
changes in the transaction of the event whichever service wrote it (verification, plan edit, make-up
approval, cancellation, receipt), a rolled-back request leaves it as it was, and there is no second
definition of "owes" to drift from the first. Concurrent writers of one order already serialise on the
order's lock (`lock_version`, `SELECT … FOR UPDATE` in the services), so its rows are rewritten by one
transaction at a time.

What triggers a rewrite: an order signed or created signed; a change of its total, make-ups, paid amount,
signing or receipt time, payment mode, store or salesperson; its status entering or leaving the closed
statuses (cancelled, being refunded); a plan created or deleted; an instalment created, deleted, or with a
new amount, collected part or due date. The reminder job's markers on instalments do not.

`flask crm receivables verify` recomputes every row and reports differences; `rebuild` rewrites the table
(after data loaded around the ORM, as the benchmarks do)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Date
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.core.clock import LOCAL_ZONE
from crm.core.clock import local_day
from crm.finance.ledger.models import ReceivableDue
from crm.finance.ledger.receivables import OPEN
from crm.finance.ledger.receivables import still_owing
from crm.finance.ledger.receivables import with_open_instalments
from crm.finance.plans.models import CLOSED_STATUSES
from crm.finance.plans.models import Instalment
from crm.finance.plans.models import ReceivablePlan
from crm.sales.orders.models import Order
from crm.sales.orders.models import PaymentMode

CENT = Decimal("0.01")
_ORDER_FIELDS = ("total", "make_up_amount", "paid_amount", "signed_at", "received_at", "payment_mode", "store_id",
                 "owner_id")
_INSTALMENT_FIELDS = ("amount", "collected", "due_on")
_CHUNK = 5_000


def due_rows(conn: Connection, order_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """What the orders (all when `order_ids` is None) owe now, as rows of `finance_receivable_due`."""
    stmt = still_owing(with_open_instalments(select(
        Order.id, Order.store_id, Order.owner_id, Order.payment_mode, Order.signed_at, Order.received_at,
        ReceivablePlan.id.label("plan_id"), Instalment.due_on, OPEN.label("open"))))
    if order_ids is not None:
        stmt = stmt.where(Order.id.in_(sorted(order_ids)))
    rows = []
    for r in conn.execute(stmt):
        amount = Decimal(r.open or 0).quantize(CENT)
        if amount <= 0:  # a plan whose instalments are all collected: nothing open to age
            continue
        if r.plan_id is None:  # the implicit instalment: due when the order started to wait for its money
            due_on = local_day(r.signed_at if r.payment_mode == PaymentMode.PREPAY else r.received_at)
        else:
            due_on = r.due_on
        rows.append({"order_id": r.id, "store_id": r.store_id, "owner_id": r.owner_id, "due_on": due_on,
                     "amount": amount})
    return rows


def _due_select(order_ids: list[int]) -> Any:
    """`due_rows` as one SELECT (PostgreSQL): the same rows computed by the database, for an
    `INSERT … SELECT` that does not bring them to Python and back. The company's calendar day of an
    instant is `timezone(zone, instant)::date`; the open amounts are sums of cents, so rounding to cents
    changes nothing and matches the Python path's quantize."""
    waiting_since = case((Order.payment_mode == PaymentMode.PREPAY, Order.signed_at), else_=Order.received_at)
    amount = func.round(OPEN, 2)
    stmt = still_owing(with_open_instalments(select(
        Order.id, Order.store_id, Order.owner_id,
        case((ReceivablePlan.id.is_(None), cast(func.timezone(LOCAL_ZONE.key, waiting_since), Date)),
             else_=Instalment.due_on),
        amount)))
    return stmt.where(Order.id.in_(order_ids), amount > 0)


def refresh(conn: Connection, order_ids: Collection[int]) -> None:
    """Rewrite the rows of these orders from what they owe now: two statements on PostgreSQL (DELETE, then
    INSERT … SELECT), three elsewhere (the rows go through `due_rows`)."""
    table = ReceivableDue.__table__
    ids = sorted(order_ids)
    conn.execute(delete(table).where(table.c.order_id.in_(ids)))
    if conn.dialect.name == "postgresql":
        columns = [table.c.order_id, table.c.store_id, table.c.owner_id, table.c.due_on, table.c.amount]
        conn.execute(table.insert().from_select(columns, _due_select(ids)))
        return
    rows = due_rows(conn, ids)
    if rows:
        conn.execute(table.insert(), rows)


def rebuild(conn: Connection) -> int:
    """Rewrite the whole table; the number of rows written."""
    table = ReceivableDue.__table__
    conn.execute(delete(table))
    rows = due_rows(conn)
    for start in range(0, len(rows), _CHUNK):
        conn.execute(table.insert(), rows[start:start + _CHUNK])
    return len(rows)


def differences(conn: Connection, limit: int = 20) -> list[str]:
    """How the table differs from a recomputation (empty when equal), at most `limit` lines."""
    def key(row: Any) -> tuple[Any, ...]:
        return (row["order_id"], row["store_id"], row["owner_id"], row["due_on"],
                Decimal(row["amount"]).quantize(CENT))

    table = ReceivableDue.__table__
    expected = Counter(key(r) for r in due_rows(conn))
    stored = Counter(key(r._mapping) for r in conn.execute(
        select(table.c.order_id, table.c.store_id, table.c.owner_id, table.c.due_on, table.c.amount)))
    out = [f"missing: order {k[0]} due {k[3]} amount {k[4]}" for k in sorted((expected - stored).elements(), key=str)]
    out += [f"extra:   order {k[0]} due {k[3]} amount {k[4]}" for k in sorted((stored - expected).elements(), key=str)]
    return out[:limit]


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _closedness_changed(order: Order) -> bool:
    history = inspect(order).attrs["status"].history
    if not history.has_changes():
        return False
    if not history.deleted:  # the old value was never loaded: cannot tell, rewrite
        return True
    def closed(value: Any) -> bool:
        return getattr(value, "value", value) in CLOSED_STATUSES
    return closed(history.deleted[0]) != closed(history.added[0] if history.added else None)


def touched_orders(session: Session) -> set[int]:
    """The orders of this flush whose rows may have changed."""
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Order):
            if obj.signed_at is not None:
                ids.add(obj.id)
        elif isinstance(obj, Instalment | ReceivablePlan):
            ids.add(obj.order_id)
    for obj in session.dirty:
        if isinstance(obj, Order):
            if _changed(obj, _ORDER_FIELDS) or _closedness_changed(obj):
                ids.add(obj.id)
        elif isinstance(obj, Instalment) and _changed(obj, _INSTALMENT_FIELDS):
            ids.add(obj.order_id)
    for obj in session.deleted:
        if isinstance(obj, Instalment | ReceivablePlan):
            ids.add(obj.order_id)
    return ids


@event.listens_for(Session, "after_flush")
def _refresh_touched(session: Session, flush_context: Any) -> None:
    ids = touched_orders(session)
    if ids:
        refresh(session.connection(), ids)
