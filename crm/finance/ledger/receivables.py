"""What orders still owe, and how late: the receivables and their ageing (issue 20).

An order owes while it is signed, neither cancelled nor being refunded, and its amount due
(`payments.services.amount_due_sql`) exceeds its verified collections. What it owes falls due by
instalments: those of its receivable plan still open (`amount - collected`, see `crm.finance.plans`),
or, without a plan, one implicit instalment of everything still due, due when the order waits for its
money — approximated by the day it was signed for pay-before-delivery orders and the day the customer
received the goods for delivery-in-arrears ones (not yet received: not due).

Ageing is counted in days past an instalment's due date as of today in Asia/Shanghai: not due (0 or
less), 1–30, 31–60, 61–90, over 90. An order's bucket is that of its oldest open instalment; amounts are
summed per instalment into their own buckets. Each figure is one aggregate statement over the orders
that still owe (the partial index `ix_sales_order_owing` keeps it to them) joined to their open
instalments, through `visible()` on `Order`: no query per order. Day boundaries are computed here once
(dates for instalments, the UTC instants of local midnights for the implicit ones), so the SQL compares
plain columns with constants on both databases."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.clock import LOCAL_ZONE
from crm.core.clock import local_day
from crm.core.clock import local_today
from crm.core.db import where_equal
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import as_id
from crm.core.validation import query_args
from crm.customers.models import Customer
from crm.extensions import db
from crm.finance.ledger.models import ReceivableDue
from crm.finance.payments.services import amount_due
from crm.finance.payments.services import amount_due_sql
from crm.finance.plans.models import CLOSED_STATUSES
from crm.finance.plans.models import Instalment
from crm.finance.plans.models import ReceivablePlan
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.orders.models import PaymentMode

EXPORT_LIMIT = 100_000


class Bucket(enum.StrEnum):
    NOT_DUE = "not_due"
    DAYS_1_30 = "1_30"
    DAYS_31_60 = "31_60"
    DAYS_61_90 = "61_90"
    OVER_90 = "over_90"


BUCKETS = list(Bucket)  # in SQL a bucket is its index here (0: not due … 4: over 90 days)
BUCKET_LABELS = {
    Bucket.NOT_DUE: _l("Not due"),
    Bucket.DAYS_1_30: _l("1–30 days"),
    Bucket.DAYS_31_60: _l("31–60 days"),
    Bucket.DAYS_61_90: _l("61–90 days"),
    Bucket.OVER_90: _l("Over 90 days"),
}
EDGES = (0, 30, 60, 90)  # days past due up to which a bucket reaches


def bucket_of(days_past_due: int | None) -> Bucket:
    """The bucket of an instalment so many days past its due date (None: no due date yet)."""
    if days_past_due is None or days_past_due <= 0:
        return Bucket.NOT_DUE
    for index, edge in enumerate(EDGES[1:], start=1):
        if days_past_due <= edge:
            return BUCKETS[index]
    return Bucket.OVER_90


@dataclass
class ReceivableFilters:
    """The receivables' filters; bad values are dropped on a page, the API validates them first."""

    store_id: int | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    bucket: Bucket | None = None
    q: str | None = None  # an order number or a customer's name

    @classmethod
    def from_args(cls, args: Any) -> ReceivableFilters:
        try:
            bucket = Bucket(args.get("bucket")) if args.get("bucket") not in (None, "") else None
        except ValueError:
            bucket = None
        return cls(store_id=as_id(args.get("store_id")) or None, owner_id=as_id(args.get("owner_id")) or None,
                   customer_id=as_id(args.get("customer_id")) or None, bucket=bucket,
                   q=(str(args.get("q") or "").strip()[:100] or None))

    def as_args(self) -> dict[str, str]:
        return query_args(self)


# What one (order, open instalment) row still owes: the instalment's open part, or everything still due
# for an order without a plan.
OPEN = case((ReceivablePlan.id.is_(None), amount_due_sql() - Order.paid_amount),
            else_=func.coalesce(Instalment.amount - Instalment.collected, 0))


def rank_of(due_on: Any, days: list[date]) -> Any:
    """The bucket index (see BUCKETS) of a due-date column as of the day `days[0]`."""
    return case((due_on.is_(None), 0), *[(due_on >= d, i) for i, d in enumerate(days)], else_=len(EDGES))


def edge_days(today: date) -> list[date]:
    """The first day of each bucket edge counted back from `today`."""
    return [today - timedelta(days=edge) for edge in EDGES]


class _Ageing:
    """The SQL of one "as of" day: the open amount and the bucket index of each (order, open instalment) row."""

    def __init__(self, today: date) -> None:
        self.today = today
        days = edge_days(today)
        # The implicit instalment is due on the local day of a UTC instant: compare with local midnights.
        instants = [datetime.combine(d, time(0), tzinfo=LOCAL_ZONE) for d in days]
        due_at = case((Order.payment_mode == PaymentMode.PREPAY, Order.signed_at), else_=Order.received_at)
        implicit = case((due_at.is_(None), 0), *[(due_at >= t, i) for i, t in enumerate(instants)], else_=len(EDGES))
        planned = case((Instalment.id.is_(None), 0), *[(Instalment.due_on >= d, i) for i, d in enumerate(days)],
                       else_=len(EDGES))
        self.rank = case((ReceivablePlan.id.is_(None), implicit), else_=planned)
        self.open = OPEN
        self.due_at = due_at

    def rows(self, stmt: Select[Any], actor: User, filters: ReceivableFilters) -> Select[Any]:
        """`stmt` over the owing orders in scope and their open instalments (one row per order without any)."""
        return owing(with_open_instalments(stmt), actor, filters)


def with_open_instalments(stmt: Select[Any]) -> Select[Any]:
    """`stmt` over `Order` joined to its plan and open instalments (one row per order without any)."""
    return (stmt.select_from(Order).outerjoin(ReceivablePlan, ReceivablePlan.order_id == Order.id)
            .outerjoin(Instalment, and_(Instalment.plan_id == ReceivablePlan.id, Instalment.amount > Instalment.collected)))


def still_owing(stmt: Select[Any]) -> Select[Any]:
    """`stmt` (over `Order`) kept to the orders that still owe, in every store."""
    # The partial index's predicate as it is written there, its statuses inline (not parameters), so
    # PostgreSQL can match it even in a generic plan of a prepared statement.
    return stmt.where(Order.signed_at.is_not(None), Order.total + Order.make_up_amount > Order.paid_amount,
                      Order.status.not_in(bindparam("closed_statuses", list(CLOSED_STATUSES), expanding=True,
                                                    literal_execute=True)))


def owing(stmt: Select[Any], actor: User, filters: ReceivableFilters) -> Select[Any]:
    """`stmt` (over `Order`) kept to the orders in scope that still owe and match the filters."""
    stmt = where_equal(visible(still_owing(stmt), actor, Order), {
        Order.store_id: filters.store_id, Order.owner_id: filters.owner_id, Order.customer_id: filters.customer_id})
    if filters.q:
        customers = select(Customer.id).where(Customer.name.contains(filters.q, autoescape=True))
        stmt = stmt.where(or_(Order.number == filters.q, Order.customer_id.in_(customers)))
    return stmt


@dataclass
class Receivable:
    """One order that still owes."""

    order: Order
    bucket: Bucket
    next_due: date | None  # its oldest open instalment's due date
    planned: bool
    customer: str = ""
    store: str = ""
    owner: str = ""

    @property
    def total(self) -> Decimal:
        return amount_due(self.order)

    @property
    def collected(self) -> Decimal:
        return self.order.paid_amount

    @property
    def still_due(self) -> Decimal:
        return self.total - self.collected


def _list_stmt(actor: User, filters: ReceivableFilters, today: date) -> tuple[Select[Any], _Ageing]:
    ageing = _Ageing(today)
    bucket = func.max(ageing.rank)
    stmt = ageing.rows(select(Order, bucket.label("bucket"), func.min(Instalment.due_on).label("next_due"),
                              func.max(ReceivablePlan.id).label("plan_id")), actor, filters).group_by(Order.id)
    if filters.bucket is not None:
        stmt = stmt.having(bucket == BUCKETS.index(filters.bucket))
    return stmt, ageing


def _shaped(rows: list[Any]) -> list[Receivable]:
    out = []
    for order, rank, next_due, plan_id in rows:
        if plan_id is None:
            next_due = local_day(order.signed_at if order.payment_mode == PaymentMode.PREPAY else order.received_at)
        elif isinstance(next_due, str):  # SQLite hands MIN() of a date back as text
            next_due = date.fromisoformat(next_due)
        out.append(Receivable(order=order, bucket=BUCKETS[int(rank or 0)], next_due=next_due, planned=plan_id is not None))
    _label(out)
    return out


def _label(items: list[Receivable]) -> None:
    """Customer, store and salesperson names of a page (three queries)."""
    def names(column: Any, key: Any, ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(key, column).where(key.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]

    customers = names(Customer.name, Customer.id, {r.order.customer_id for r in items})
    stores = names(OrgUnit.name, OrgUnit.id, {r.order.store_id for r in items})
    people = names(User.name, User.id, {r.order.owner_id for r in items})
    for r in items:
        r.customer, r.store = customers.get(r.order.customer_id, ""), stores.get(r.order.store_id, "")
        r.owner = people.get(r.order.owner_id, "")


def receivables_page(actor: User, filters: ReceivableFilters, *, cursor: str | None = None, limit: int = 50,
                     today: date | None = None) -> Page[Receivable]:
    """Orders in scope that still owe, newest first (keyset on the order id), each with its bucket.

    Without a bucket filter the page's orders are found first on the owing orders alone (the partial
    index, newest first, stops after the page), and only those are joined to their instalments and
    aggregated; a bucket filter needs every owing order's bucket before it can page."""
    stmt, _ageing = _list_stmt(actor, filters, today or local_today())
    keys = [SortKey(Order.id, True)]
    if filters.bucket is None:
        ids = keyset_page(db.session, owing(select(Order.id), actor, filters), keys, cursor=cursor, limit=limit,
                          plain_rows=True)
        chosen = [row.id for row in ids.items]
        rows = list(db.session.execute(stmt.where(Order.id.in_(chosen)).order_by(Order.id.desc()))) if chosen else []
        page = Page(items=rows, next_cursor=ids.next_cursor, limit=ids.limit)
    else:
        page = keyset_page(db.session, stmt, keys, cursor=cursor, limit=limit, scalars=False)
    page.items = _shaped(page.items)
    return page


def receivable_rows(actor: User, filters: ReceivableFilters, today: date | None = None) -> Iterator[Receivable]:
    """The filtered receivables for an export, newest first, in chunks of 500."""
    stmt, _ageing = _list_stmt(actor, filters, today or local_today())
    rows = db.session.execute(stmt.order_by(Order.id.desc()).limit(EXPORT_LIMIT).execution_options(yield_per=500))
    for chunk in rows.partitions():
        yield from _shaped(list(chunk))


@dataclass
class Sums:
    """Open amounts per bucket."""

    buckets: dict[Bucket, Decimal] = field(default_factory=lambda: {b: Decimal("0.00") for b in BUCKETS})

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal("0.00"))

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets[Bucket.NOT_DUE]

    def add(self, bucket: Bucket, amount: Decimal) -> None:
        self.buckets[bucket] += amount


@dataclass
class Group:
    """The sums of one store or one salesperson."""

    id: int
    name: str
    sums: Sums

    @property
    def buckets(self) -> dict[Bucket, Decimal]:
        return self.sums.buckets

    @property
    def total(self) -> Decimal:
        return self.sums.total

    @property
    def overdue(self) -> Decimal:
        return self.sums.overdue


@dataclass
class Summary:
    as_of: date
    totals: Sums
    stores: dict[int, Sums]
    owners: dict[int, Sums]
    names: dict[str, dict[int, str]]

    @staticmethod
    def _ranked(sums: dict[int, Sums], names: dict[int, str]) -> list[Group]:
        """Largest open amount first."""
        return [Group(key, names.get(key, ""), s) for key, s in sorted(sums.items(), key=lambda kv: (-kv[1].total, kv[0]))]

    @property
    def store_groups(self) -> list[Group]:
        return self._ranked(self.stores, self.names["stores"])

    @property
    def owner_groups(self) -> list[Group]:
        return self._ranked(self.owners, self.names["people"])


def grouped_from_dues(actor: User, filters: ReceivableFilters, today: date) -> Select[Any]:
    """(store, salesperson, bucket index, open amount) over the maintained due rows in scope."""
    rank = rank_of(ReceivableDue.due_on, edge_days(today))
    stmt = where_equal(visible(select(ReceivableDue.store_id, ReceivableDue.owner_id, rank.label("rank"),
                                      func.sum(ReceivableDue.amount)), actor, ReceivableDue),
                       {ReceivableDue.store_id: filters.store_id, ReceivableDue.owner_id: filters.owner_id})
    if filters.bucket is not None:
        stmt = stmt.where(rank == BUCKETS.index(filters.bucket))
    return stmt.group_by(ReceivableDue.store_id, ReceivableDue.owner_id, rank)


def grouped_from_orders(actor: User, filters: ReceivableFilters, today: date) -> Select[Any]:
    """The same over the owing orders and their open instalments (any filter)."""
    ageing = _Ageing(today)
    rows = ageing.rows(select(Order.store_id.label("store_id"), Order.owner_id.label("owner_id"),
                              ageing.rank.label("rank"), ageing.open.label("open")), actor, filters).subquery()
    stmt = select(rows.c.store_id, rows.c.owner_id, rows.c.rank, func.sum(rows.c.open)).group_by(
        rows.c.store_id, rows.c.owner_id, rows.c.rank)
    if filters.bucket is not None:
        stmt = stmt.where(rows.c.rank == BUCKETS.index(filters.bucket))
    return stmt


def summary(actor: User, filters: ReceivableFilters, today: date | None = None) -> Summary:
    """Open amounts per bucket in all, per store and per salesperson: one aggregate statement grouped by
    store, salesperson and bucket (the per-store and per-salesperson sums are added up from its few rows).
    It reads the maintained due rows (`finance_receivable_due`, one narrow row per open instalment) unless
    a customer or a search narrows the orders, which only the orders themselves can answer. A bucket
    filter keeps that bucket's amounts."""
    today = today or local_today()
    by_orders = filters.customer_id is not None or bool(filters.q)
    stmt = (grouped_from_orders if by_orders else grouped_from_dues)(actor, filters, today)
    out = Summary(today, Sums(), {}, {}, {})
    for store_id, owner_id, rank, amount in db.session.execute(stmt):
        bucket, value = BUCKETS[int(rank)], Decimal(amount or 0)
        out.totals.add(bucket, value)
        out.stores.setdefault(store_id, Sums()).add(bucket, value)
        out.owners.setdefault(owner_id, Sums()).add(bucket, value)
    out.names = {
        "stores": dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(out.stores))).all())  # type: ignore[dict-item]
        if out.stores else {},
        "people": dict(db.session.execute(select(User.id, User.name).where(User.id.in_(out.owners))).all())  # type: ignore[dict-item]
        if out.owners else {},
    }
    return out


def overdue(actor: User, today: date | None = None) -> tuple[int, Decimal]:
    """Orders in scope with an instalment past its due date, and the amount past due (finance's home):
    one aggregate over the maintained due rows."""
    due_before = today or local_today()
    count, amount = db.session.execute(visible(
        select(func.count(distinct(ReceivableDue.order_id)), func.coalesce(func.sum(ReceivableDue.amount), 0))
        .where(ReceivableDue.due_on < due_before), actor, ReceivableDue)).one()
    return int(count), Decimal(amount)
