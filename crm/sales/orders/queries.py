"""Reads about orders: the scoped, filtered list (status, payment mode, store, salesperson, dates,
terminal), the export of signed orders for statistics, the customer page's orders and what the order
page shows beside the order (its pipeline instance, open tasks, process history)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select
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
from crm.core.validation import query_args
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import OBJECT_TYPE
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.sales.orders.models import PaymentMode
from crm.sales.orders.models import Terminal
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus

EXPORT_LIMIT = 100_000
LOCAL = ZoneInfo("Asia/Shanghai")  # dates typed by people are days of the company's calendar




MONEY_FILTERS = ("due", "collected")


@dataclass
class OrderFilters:
    """Filters of the list and the export. Bad values are dropped (a filter never answers 400 on a page);
    the API validates them first."""

    status: OrderStatus | None = None
    payment_mode: PaymentMode | None = None
    terminal: Terminal | None = None
    store_id: int | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    date_from: date | None = None  # created (list) or signed (export) on or after
    date_to: date | None = None  # ... on or before
    money: str | None = None  # "due": signed, not cancelled, not fully collected; "collected": fully collected
    q: str = ""  # part of the order number or of the customer's name

    @classmethod
    def from_args(cls, args: Any) -> OrderFilters:
        return cls(status=enum_or_none(args.get("status"), OrderStatus), payment_mode=enum_or_none(args.get("payment_mode"), PaymentMode),
                   terminal=enum_or_none(args.get("terminal"), Terminal), store_id=as_id(args.get("store_id")) or None,
                   owner_id=as_id(args.get("owner_id")) or None, customer_id=as_id(args.get("customer_id")) or None,
                   date_from=day_or_none(args.get("date_from")), date_to=day_or_none(args.get("date_to")),
                   money=args.get("money") if args.get("money") in MONEY_FILTERS else None,
                   q=str(args.get("q") or "").strip()[:100])

    def as_args(self) -> dict[str, str]:
        return query_args(self)


def _filtered(actor: User, filters: OrderFilters, *, date_column: Any) -> Select[Any]:
    stmt: Select[Any] = where_equal(visible(select(Order), actor, Order), {
        Order.status: filters.status, Order.payment_mode: filters.payment_mode, Order.terminal: filters.terminal,
        Order.store_id: filters.store_id, Order.owner_id: filters.owner_id, Order.customer_id: filters.customer_id,
    })
    if filters.money == "due":
        stmt = stmt.where(Order.signed_at.is_not(None), Order.status != OrderStatus.CANCELLED,
                          Order.paid_amount < Order.total + Order.make_up_amount)
    elif filters.money == "collected":
        stmt = stmt.where(Order.paid_amount >= Order.total + Order.make_up_amount, Order.total > 0)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        customers = select(Customer.id).where(func.lower(Customer.name).like(like))
        stmt = stmt.where(or_(Order.number.like(f"%{filters.q.upper()}%"), Order.customer_id.in_(customers)))
    if filters.date_from:
        stmt = stmt.where(date_column >= datetime.combine(filters.date_from, time.min, LOCAL))
    if filters.date_to:
        stmt = stmt.where(date_column < datetime.combine(filters.date_to + timedelta(days=1), time.min, LOCAL))
    return stmt


def list_orders(actor: User, filters: OrderFilters, *, cursor: str | None = None, limit: int = 50) -> Page[Order]:
    stmt = _filtered(actor, filters, date_column=Order.created_at).options(selectinload(Order.customer))
    return keyset_page(db.session, stmt, [SortKey(Order.created_at, True), SortKey(Order.id, True)],
                       cursor=cursor, limit=limit)


@dataclass(frozen=True)
class Totals:
    count: int
    total: Decimal
    collected: Decimal
    due: Decimal


def totals(actor: User, filters: OrderFilters) -> Totals:
    """The sums over every order the filters list (not only the page), cancelled orders left out: what the
    list's totals row shows."""
    sub = (_filtered(actor, filters, date_column=Order.created_at)
           .where(Order.status != OrderStatus.CANCELLED).subquery())
    row = db.session.execute(select(
        func.count(), func.coalesce(func.sum(sub.c.total), 0), func.coalesce(func.sum(sub.c.paid_amount), 0),
        func.coalesce(func.sum(sub.c.total + sub.c.make_up_amount - sub.c.paid_amount), 0))).one()
    money = [Decimal(str(v)).quantize(Decimal("0.01")) for v in row[1:]]
    return Totals(int(row[0]), *money)


def signed_orders(actor: User, filters: OrderFilters) -> Iterator[Order]:
    """Signed orders in scope (cancelled ones excluded: they are no transaction), oldest signature first;
    the dates filter the signing date. Streams in chunks."""
    stmt = (_filtered(actor, filters, date_column=Order.signed_at)
            .where(Order.signed_at.is_not(None), Order.status != OrderStatus.CANCELLED)
            .options(selectinload(Order.customer), selectinload(Order.lines))
            .order_by(Order.signed_at, Order.id).limit(EXPORT_LIMIT))
    yield from db.session.scalars(stmt.execution_options(yield_per=500))


def of_customer(actor: User, customer_id: int, limit: int = 10) -> list[Order]:
    return list(list_orders(actor, OrderFilters(customer_id=customer_id), limit=limit).items)


def names(orders: list[Order]) -> tuple[dict[int, str], dict[int, str]]:
    """(salesperson names, store names) of a page of orders."""
    owners = {o.owner_id for o in orders}
    stores = {o.store_id for o in orders}
    people = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(owners))).all()) if owners else {}
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(stores))).all()) if stores else {}
    return people, units


def owner_choices(actor: User, limit: int = 300) -> list[tuple[int, str]]:
    """People in the actor's scope, for the salesperson filter."""
    stmt = visible(select(User.id, User.name), actor, User).where(User.active).order_by(User.name, User.id).limit(limit)
    return [(int(i), n) for i, n in db.session.execute(stmt)]


def instances(order: Order) -> list[ProcessInstance]:
    return runtime.instances_of("order", order.id)


def open_tasks(order: Order) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(
        HumanTask.object_type == "order", HumanTask.object_id == order.id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).order_by(HumanTask.id)))


def process_history(order: Order) -> list[Any]:
    out: list[Any] = []
    for instance in instances(order):
        out.extend(runtime.history(instance.id))
    return out


def labels(ids: set[int], actor: User, *, customer: bool = True) -> dict[int, str]:
    """"SO… · customer" (or the number alone) of these orders, those in the actor's scope: what a page or a
    list that only holds references to them (a task, process instances) shows. One query."""
    if not ids:
        return {}
    rows = db.session.execute(visible(select(Order.id, Order.number, Customer.name).join(
        Customer, Customer.id == Order.customer_id).where(Order.id.in_(sorted(ids))), actor, Order))
    return {row.id: f"{row.number} · {row.name}" if customer else row.number for row in rows}


def awaiting_collection(actor: User) -> tuple[int, Decimal]:
    """Orders in the actor's scope waiting for their collection, and what is outstanding on them: the
    pipeline has no task for finance there (it waits for the payment), so the home page says it."""
    stmt = visible(select(func.count(), func.coalesce(func.sum(Order.total + Order.make_up_amount - Order.paid_amount), 0))
                   .select_from(Order).where(Order.status == OrderStatus.PENDING_COLLECTION), actor, Order)
    count, outstanding = db.session.execute(stmt).one()
    return int(count), Decimal(outstanding)


# Sections other contexts add to the order page (finance: collections and refunds), in registration order:
# a function of the order giving the section's HTML for the current reader ("" to show nothing).
_sections: dict[str, Callable[[Order], Any]] = {}


def register_order_section(key: str, render: Callable[[Order], Any]) -> None:
    _sections[key] = render


def order_sections(order: Order) -> list[Any]:
    return [render(order) for render in _sections.values()]


@dataclass(frozen=True)
class AllowedActions:
    can_cancel: bool


def allowed_actions(order: Order, actor: User) -> AllowedActions:
    """What the reader may do with the order now, as its pipeline says: cancel while the diagram catches
    `order_cancelled` (the service checks the same under the order's lock). Whether money can be
    collected is the finance section's to say."""
    waiting = runtime.waiting_messages(OBJECT_TYPE, order.id)
    return AllowedActions(can_cancel=actor.can("order.cancel") and "order_cancelled" in waiting)



def month_of(user: User, since: datetime) -> tuple[int, Decimal]:
    """The user's own orders made since `since` (the start of the month), cancelled ones left out: (how
    many, their total)."""
    row = db.session.execute(select(func.count(), func.coalesce(func.sum(Order.total), 0)).where(
        Order.owner_id == user.id, Order.created_at >= since, Order.status != OrderStatus.CANCELLED)).one()
    return int(row[0]), Decimal(str(row[1])).quantize(Decimal("0.01"))
