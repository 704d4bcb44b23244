"""A customer's chain of order days (issue 22): each `kanban_customer_day` row with orders carries the day of
the customer's row before it, rows ordered by day then salesperson (`prev_day`; None for the first), and each
customer its first and second order days (`kanban_customer`; the second is the day their orders reach two).
A customer has an order in a window and one before it exactly when their first row inside the window has a
`prev_day` before the window: the kanban counts buyers as rows (`queries._buyers_by_chain`).

`rechain` recomputes it in SQL for the customers the maintenance touched; `chains` is the same rule in
Python, for the rebuild and the verification."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import text
from sqlalchemy.engine import Connection

# Portable SQL (PostgreSQL, SQLite ≥ 3.30); the migration that added the columns backfilled them with the same.
_CHAIN_DAYS = """UPDATE kanban_customer_day SET prev_day = CASE WHEN orders > 0 THEN (
    SELECT max(p.day) FROM kanban_customer_day AS p WHERE p.customer_id = kanban_customer_day.customer_id
    AND p.orders > 0 AND (p.day < kanban_customer_day.day
                          OR (p.day = kanban_customer_day.day AND p.owner_id < kanban_customer_day.owner_id))) END
WHERE customer_id {ids}"""
_CHAIN_CUSTOMERS = """UPDATE kanban_customer SET
    first_order_day = (SELECT min(d.day) FROM kanban_customer_day AS d
                       WHERE d.customer_id = kanban_customer.customer_id AND d.orders > 0),
    second_order_day = (SELECT min(d.day) FROM kanban_customer_day AS d
                        WHERE d.customer_id = kanban_customer.customer_id AND d.orders > 0
                        AND (SELECT sum(e.orders) FROM kanban_customer_day AS e
                             WHERE e.customer_id = d.customer_id AND e.day <= d.day AND e.orders > 0) >= 2)
WHERE customer_id {ids}"""
_RECHAIN: dict[str, Any] = {}


def rechain(conn: Connection, customer_ids: Iterable[int]) -> int:
    """Recompute these customers' `kanban_customer_day.prev_day` chain and their first and second order days
    from their day rows (a few rows each): on PostgreSQL one statement, elsewhere two. The caller holds the
    customers' summary rows locked. Returns the number of summary rows found (fewer: some are missing)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    dialect = conn.dialect.name
    stmt = _RECHAIN.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            both = (f"WITH chained AS ({_CHAIN_DAYS.format(ids='= ANY(:ids)')} RETURNING 1) "
                    f"{_CHAIN_CUSTOMERS.format(ids='= ANY(:ids)')}")
            stmt = _RECHAIN[dialect] = (text(both),)
        else:
            stmt = _RECHAIN[dialect] = tuple(text(sql.format(ids="IN :ids")).bindparams(bindparam("ids", expanding=True))
                                             for sql in (_CHAIN_DAYS, _CHAIN_CUSTOMERS))
    found = 0
    for part in stmt:
        found = conn.execute(part, {"ids": ids}).rowcount
    return found


def chains(customer_days: dict[Any, tuple[Any, ...]]) -> tuple[dict[Any, tuple[Any, ...]], dict[int, date],
                                                                 dict[int, date]]:
    """The same rule in Python, for `flask crm kanban rebuild` and `verify` (each checks the other): from the
    customer × day × owner rows with orders, each row's `prev_day` and each customer's first and second order
    days."""
    chain: dict[Any, tuple[Any, ...]] = {}
    first: dict[int, date] = {}
    second: dict[int, date] = {}
    running: dict[int, int] = {}
    last: dict[int, date] = {}
    for key in sorted(customer_days, key=lambda k: (k[0], k[1], k[2])):
        customer_id, day, owner_id, _store = key
        chain[(customer_id, day, owner_id)] = (last.get(customer_id),)
        last[customer_id] = day
        first.setdefault(customer_id, day)
        running[customer_id] = running.get(customer_id, 0) + customer_days[key][0]
        if running[customer_id] >= 2:
            second.setdefault(customer_id, day)
    return chain, first, second
