"""Reading settlement batches: the list (through `visible()` on `Settlement`, finance only, newest first by
id in keyset pages, filters), each batch's line counts by status, and the orders of a store a new batch
may pay (waiting for `order_paid`, with what each still owes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.scopes import visible
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.core.validation import as_id
from crm.core.validation import day_or_none
from crm.core.validation import query_args
from crm.customers.models import Customer
from crm.extensions import db
from crm.finance.payments import services as payment_services
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentStatus
from crm.finance.settlements.models import Settlement
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import OBJECT_TYPE as ORDER
from crm.sales.orders.models import Order
from crm.workflow.models import MessageSubscription

MAX_CANDIDATES = 500  # orders the form offers at once (a search by number narrows it)


@dataclass
class SettlementFilters:
    store_id: int | None = None
    date_from: date | None = None  # paid on or after
    date_to: date | None = None
    payer: str | None = None  # contains
    q: str | None = None  # a batch reference, or an order number: the batches that pay it
    open: bool | None = None  # only batches with lines still waiting for verification

    @classmethod
    def from_args(cls, args: Any) -> SettlementFilters:
        raw_open = args.get("open")
        return cls(store_id=as_id(args.get("store_id")) or None, date_from=day_or_none(args.get("date_from")),
                   date_to=day_or_none(args.get("date_to")), payer=str(args.get("payer") or "").strip()[:100] or None,
                   q=str(args.get("q") or "").strip()[:100] or None,
                   open=True if raw_open in (True, "1", "true", "on") else None)

    def as_args(self) -> dict[str, str]:
        return query_args(self)


@dataclass
class Listed:
    """A batch of a list with its lines counted by status."""

    settlement: Settlement
    line_count: int = 0
    verified: int = 0
    waiting: int = 0
    rejected: int = 0
    lines: list[Payment] | None = None  # the batch's page and API fill them in

    def __getattr__(self, name: str) -> Any:
        return getattr(self.settlement, name)


def _filtered(actor: User, filters: SettlementFilters) -> Any:
    if not actor.can("finance.view"):
        return select(Settlement).where(Settlement.id.is_(None))
    stmt = visible(select(Settlement), actor, Settlement)
    if filters.store_id:
        stmt = stmt.where(Settlement.store_id == filters.store_id)
    if filters.date_from:
        stmt = stmt.where(Settlement.paid_on >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(Settlement.paid_on <= filters.date_to)
    if filters.payer:
        stmt = stmt.where(Settlement.payer.contains(filters.payer, autoescape=True))
    if filters.q:
        order_id = db.session.scalar(select(Order.id).where(Order.number == filters.q).limit(1))
        by_order = exists().where(Payment.settlement_id == Settlement.id, Payment.order_id == order_id) \
            if order_id else None
        stmt = stmt.where(Settlement.reference == filters.q if by_order is None else by_order)
    if filters.open:
        stmt = stmt.where(exists().where(Payment.settlement_id == Settlement.id,
                                         Payment.status == PaymentStatus.RECORDED))
    return stmt


def line_counts(settlement_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = db.session.execute(select(Payment.settlement_id, Payment.status, func.count())
                              .where(Payment.settlement_id.in_(settlement_ids))
                              .group_by(Payment.settlement_id, Payment.status)).all() if settlement_ids else []
    out: dict[int, dict[str, int]] = {}
    for sid, status, count in rows:
        out.setdefault(sid, {})[status.value] = int(count)
    return out


def listed(settlements: list[Settlement]) -> list[Listed]:
    counts = line_counts([s.id for s in settlements])
    out = []
    for s in settlements:
        c = counts.get(s.id, {})
        out.append(Listed(s, line_count=sum(c.values()), verified=c.get(PaymentStatus.VERIFIED.value, 0),
                          waiting=c.get(PaymentStatus.RECORDED.value, 0), rejected=c.get(PaymentStatus.REJECTED.value, 0)))
    return out


def settlement_page(actor: User, filters: SettlementFilters, *, cursor: str | None = None,
                    limit: int = 50) -> Page[Listed]:
    stmt = _filtered(actor, filters).options(selectinload(Settlement.vouchers))
    page = keyset_page(db.session, stmt, [SortKey(Settlement.id, True)], cursor=cursor, limit=limit)
    page.items = listed(page.items)
    return page


def store_names(settlements: list[Any]) -> dict[int, str]:
    ids = {s.store_id for s in settlements}
    return dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Candidate:
    """An order a new batch may pay, with what it still owes (less what waits for verification)."""

    id: int
    number: str
    customer: str
    store_id: int
    total: Decimal
    still_due: Decimal
    open_amount: Decimal


def candidates(actor: User, *, store_id: int | None = None, q: str | None = None) -> list[Candidate]:
    """The orders in the actor's scope that wait for their money (pipeline waiting for `order_paid`, something
    still due), oldest first; in one store when given; `q` narrows to order numbers containing it."""
    waiting = select(MessageSubscription.object_id).where(MessageSubscription.message_name == "order_paid",
                                                           MessageSubscription.object_type == ORDER)
    stmt = visible(select(Order, Customer.name).join(Customer, Customer.id == Order.customer_id), actor, Order).where(
        payment_services.amount_due_sql() > Order.paid_amount, Order.id.in_(waiting))
    if store_id:
        stmt = stmt.where(Order.store_id == store_id)
    if q:
        stmt = stmt.where(Order.number.contains(q, autoescape=True))
    rows = db.session.execute(stmt.order_by(Order.id).limit(MAX_CANDIDATES)).all()
    ids = [order.id for order, _name in rows]
    pending = dict(db.session.execute(select(Payment.order_id, func.sum(Payment.amount)).where(
        Payment.order_id.in_(ids), Payment.kind == PaymentKind.COLLECTION, Payment.status == PaymentStatus.RECORDED)
        .group_by(Payment.order_id)).all()) if ids else {}
    out = []
    for order, name in rows:
        due = payment_services.still_due(order)
        out.append(Candidate(order.id, order.number, name, order.store_id, order.total, due,
                             due - Decimal(pending.get(order.id) or 0)))
    return out
