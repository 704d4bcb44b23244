"""Reading the ledger. Every query goes through `visible()` on `Payment` (the order's store and
salesperson are copied onto each row), pages by payment date, newest first (keyset on `(paid_on, id)`,
served by the `(store_id | owner_id | -, paid_on, id)` indexes: a date range reads only its days, and a
filter on a column the index lacks walks the dates rather than every row ever written), and totals the
filter in one aggregate query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.scopes import visible
from crm.core.db import where_equal
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import as_id
from crm.core.validation import day_or_none
from crm.core.validation import enum_or_none
from crm.core.validation import money_or_none
from crm.core.validation import query_args
from crm.customers.models import Customer
from crm.extensions import db
from crm.finance.payments.models import Direction
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import PaymentStatus
from crm.finance.settlements.models import Settlement
from crm.org.models import User
from crm.sales.orders.models import Order

EXPORT_LIMIT = 100_000
SEARCH_CUSTOMERS = 500  # customers a name search looks at (the ledger is paged; a narrower word finds more)
ORDER = (SortKey(Payment.paid_on, True), SortKey(Payment.id, True))  # newest payment date first



@dataclass
class LedgerFilters:
    """The ledger's filters. Bad values are dropped on a page (a filter never answers 400 there); the
    API validates them first."""

    direction: Direction | None = None
    kind: PaymentKind | None = None
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    store_id: int | None = None
    owner_id: int | None = None
    order_id: int | None = None
    customer_id: int | None = None
    date_from: date | None = None  # paid on or after
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    q: str | None = None  # an order number, a customer's name or a reference

    @classmethod
    def from_args(cls, args: Any) -> LedgerFilters:
        return cls(
            direction=enum_or_none(args.get("direction"), Direction), kind=enum_or_none(args.get("kind"), PaymentKind),
            status=enum_or_none(args.get("status"), PaymentStatus), method=enum_or_none(args.get("method"), PaymentMethod),
            store_id=as_id(args.get("store_id")) or None, owner_id=as_id(args.get("owner_id")) or None,
            order_id=as_id(args.get("order_id")) or None, customer_id=as_id(args.get("customer_id")) or None,
            date_from=day_or_none(args.get("date_from")), date_to=day_or_none(args.get("date_to")),
            amount_min=money_or_none(args.get("amount_min")), amount_max=money_or_none(args.get("amount_max")),
            q=(str(args.get("q") or "").strip()[:100] or None))

    def as_args(self) -> dict[str, str]:
        return query_args(self)


def _filtered(stmt: Select[Any], actor: User, filters: LedgerFilters) -> Select[Any]:
    stmt = where_equal(visible(stmt, actor, Payment), {
        Payment.direction: filters.direction, Payment.kind: filters.kind, Payment.status: filters.status,
        Payment.method: filters.method, Payment.store_id: filters.store_id, Payment.owner_id: filters.owner_id,
        Payment.order_id: filters.order_id, Payment.customer_id: filters.customer_id,
    })
    if filters.date_from:
        stmt = stmt.where(Payment.paid_on >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(Payment.paid_on <= filters.date_to)
    if filters.amount_min is not None:
        stmt = stmt.where(Payment.amount >= filters.amount_min)
    if filters.amount_max is not None:
        stmt = stmt.where(Payment.amount <= filters.amount_max)
    if filters.q:
        stmt = stmt.where(_search(filters.q))
    return stmt


def _search(text: str) -> Any:
    """An order number finds that order's money (one index lookup first: an OR of three subqueries would
    keep PostgreSQL from using any index on millions of rows); anything else a reference or customers whose
    name contains it (the trigram index)."""
    order_ids = list(db.session.scalars(select(Order.id).where(Order.number == text).limit(1)))
    if order_ids:
        return Payment.order_id == order_ids[0]
    customers = list(db.session.scalars(select(Customer.id).where(Customer.name.contains(text, autoescape=True))
                                        .limit(SEARCH_CUSTOMERS)))
    return or_(Payment.reference == text, Payment.customer_id.in_(customers)) if customers else Payment.reference == text


def ledger_page(actor: User, filters: LedgerFilters, *, cursor: str | None = None, limit: int = 50) -> Page[Payment]:
    stmt = _filtered(select(Payment), actor, filters).options(selectinload(Payment.vouchers),
                                                              selectinload(Payment.settlement_vouchers))
    return keyset_page(db.session, stmt, ORDER, cursor=cursor, limit=limit)


@dataclass(frozen=True)
class Totals:
    count: int
    received: Decimal  # verified receipts
    paid_out: Decimal  # refunds paid
    pending: Decimal  # receipts waiting for verification

    @property
    def net(self) -> Decimal:
        return self.received - self.paid_out


def totals(actor: User, filters: LedgerFilters) -> Totals:
    """The filter's count and sums (verified money in, refunds out, money waiting for verification)."""
    def total_of(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, Payment.amount), else_=0)), 0)

    stmt = _filtered(select(
        func.count(),
        total_of((Payment.direction == Direction.IN) & (Payment.status == PaymentStatus.VERIFIED)),
        total_of((Payment.direction == Direction.OUT) & (Payment.status == PaymentStatus.REFUNDED)),
        total_of((Payment.direction == Direction.IN) & (Payment.status == PaymentStatus.RECORDED)),
    ).select_from(Payment), actor, filters)
    count, received, paid_out, pending = db.session.execute(stmt).one()
    return Totals(int(count), Decimal(received), Decimal(paid_out), Decimal(pending))


def ledger_rows(actor: User, filters: LedgerFilters) -> Iterator[Payment]:
    """The filtered ledger for an export in the page's order, streamed in chunks."""
    stmt = _filtered(select(Payment), actor, filters).order_by(Payment.paid_on.desc(), Payment.id.desc())
    stmt = stmt.limit(EXPORT_LIMIT)
    yield from db.session.scalars(stmt.execution_options(yield_per=500))


def labels(payments: list[Payment]) -> dict[str, dict[int, str]]:
    """Order numbers, customer, salesperson and store names and settlement references of a page of the ledger
    (four or five queries)."""
    from crm.org.models import OrgUnit

    def names(column: Any, key: Any, ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(key, column).where(key.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]

    people = {p.owner_id for p in payments} | {p.recorded_by_id for p in payments if p.recorded_by_id} | \
        {p.decided_by_id for p in payments if p.decided_by_id}
    return {
        "settlements": names(Settlement.reference, Settlement.id, {p.settlement_id for p in payments if p.settlement_id}),
        "orders": names(Order.number, Order.id, {p.order_id for p in payments}),
        "customers": names(Customer.name, Customer.id, {p.customer_id for p in payments}),
        "people": names(User.name, User.id, people),
        "stores": names(OrgUnit.name, OrgUnit.id, {p.store_id for p in payments}),
    }


def of_order(order_id: int) -> list[Payment]:
    """Every collection and refund of an order (its page has checked the order is visible)."""
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order_id)
                                   .options(selectinload(Payment.vouchers), selectinload(Payment.settlement_vouchers)).order_by(Payment.id)))


def waiting_for_verification(actor: User) -> tuple[int, Decimal]:
    """Collections in scope that wait for a finance user's verification (finance's home)."""
    stmt = visible(select(func.count(), func.coalesce(func.sum(Payment.amount), 0)).select_from(Payment)
                   .where(Payment.status == PaymentStatus.RECORDED), actor, Payment)
    count, amount = db.session.execute(stmt).one()
    return int(count), Decimal(amount)
