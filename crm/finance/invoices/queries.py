"""Reading invoices. Every query goes through `visible()` on `Invoice` (the order's store and salesperson
are copied onto each row); the list pages newest first by id (keyset)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.clock import local_day_end
from crm.core.clock import local_day_start
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
from crm.finance.invoices.models import COUNTING
from crm.finance.invoices.models import OBJECT_TYPE
from crm.finance.invoices.models import Invoice
from crm.finance.invoices.models import InvoiceStatus
from crm.finance.invoices.models import InvoiceType
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.quotes.models import Quote
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus


@dataclass(frozen=True)
class Target:
    """What an invoice is of: an order (perhaps made from a quote), or a quote without an order yet; `total`
    is what may be invoiced in all (`services.target_of_order` / `target_of_quote` say how much)."""

    order: Order | None
    quote_id: int | None
    total: Decimal


def belongs_to(target: Target) -> Any:
    """The target's invoices: an order's include those requested on its quote before it was an order."""
    if target.order is not None:
        parts = [Invoice.order_id == target.order.id]
        if target.quote_id is not None:
            parts.append(Invoice.quote_id == target.quote_id)
        return or_(*parts)
    return Invoice.quote_id == target.quote_id


def invoiced(target: Target, *, excluding: int | None = None) -> Decimal:
    """The amounts of the target's invoices that count (requested, issued, mailed)."""
    stmt = select(func.coalesce(func.sum(Invoice.amount), 0)).where(belongs_to(target), Invoice.status.in_(COUNTING))
    if excluding is not None:
        stmt = stmt.where(Invoice.id != excluding)
    return Decimal(db.session.scalar(stmt) or 0)


def order_of_quote(quote_id: int) -> Order | None:
    return db.session.scalar(select(Order).where(Order.quote_id == quote_id))




@dataclass
class InvoiceFilters:
    """The invoice list's filters. Bad values are dropped on a page (a filter never answers 400 there); the
    API validates them first."""

    status: InvoiceStatus | None = None
    type: InvoiceType | None = None
    store_id: int | None = None
    owner_id: int | None = None  # the salesperson
    order_id: int | None = None
    quote_id: int | None = None
    customer_id: int | None = None
    date_from: date | None = None  # requested on or after (Asia/Shanghai days)
    date_to: date | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    q: str | None = None  # an invoice number, title, taxpayer number, order number or customer name

    @classmethod
    def from_args(cls, args: Any) -> InvoiceFilters:
        return cls(
            status=enum_or_none(args.get("status"), InvoiceStatus), type=enum_or_none(args.get("type"), InvoiceType),
            store_id=as_id(args.get("store_id")) or None, owner_id=as_id(args.get("owner_id")) or None,
            order_id=as_id(args.get("order_id")) or None, quote_id=as_id(args.get("quote_id")) or None,
            customer_id=as_id(args.get("customer_id")) or None,
            date_from=day_or_none(args.get("date_from")), date_to=day_or_none(args.get("date_to")),
            issued_from=day_or_none(args.get("issued_from")), issued_to=day_or_none(args.get("issued_to")),
            q=(str(args.get("q") or "").strip()[:100] or None))

    def as_args(self) -> dict[str, str]:
        return query_args(self)



def _filtered(stmt: Select[Any], actor: User, filters: InvoiceFilters) -> Select[Any]:
    stmt = where_equal(visible(stmt, actor, Invoice), {
        Invoice.status: filters.status, Invoice.type: filters.type, Invoice.store_id: filters.store_id,
        Invoice.owner_id: filters.owner_id, Invoice.order_id: filters.order_id, Invoice.quote_id: filters.quote_id,
        Invoice.customer_id: filters.customer_id,
    })
    if filters.date_from:
        stmt = stmt.where(Invoice.requested_at >= local_day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(Invoice.requested_at < local_day_end(filters.date_to))
    if filters.issued_from:
        stmt = stmt.where(Invoice.issued_on >= filters.issued_from)
    if filters.issued_to:
        stmt = stmt.where(Invoice.issued_on <= filters.issued_to)
    if filters.q:
        text = filters.q
        orders = select(Order.id).where(Order.number == text)
        customers = select(Customer.id).where(Customer.name.contains(text, autoescape=True))
        stmt = stmt.where(or_(Invoice.invoice_no == text, Invoice.taxpayer_no == text.upper(),
                              Invoice.title.contains(text, autoescape=True), Invoice.order_id.in_(orders),
                              Invoice.customer_id.in_(customers)))
    return stmt


def invoice_page(actor: User, filters: InvoiceFilters, *, cursor: str | None = None, limit: int = 50) -> Page[Invoice]:
    return keyset_page(db.session, _filtered(select(Invoice), actor, filters), [SortKey(Invoice.id, True)],
                       cursor=cursor, limit=limit)


def labels(invoices: list[Invoice]) -> dict[str, dict[int, str]]:
    """Order and quote numbers, customer, people and store names of a page of invoices (five queries)."""
    def names(column: Any, key: Any, ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(key, column).where(key.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]

    people = {i.owner_id for i in invoices} | {
        p for i in invoices for p in (i.requested_by_id, i.decided_by_id, i.mailed_by_id, i.voided_by_id) if p}
    quote_ids = {i.quote_id for i in invoices if i.quote_id}
    quotes = {row.id: f"{row.number} v{row.version}" for row in db.session.execute(
        select(Quote.id, Quote.number, Quote.version).where(Quote.id.in_(quote_ids)))} if quote_ids else {}
    return {
        "orders": names(Order.number, Order.id, {i.order_id for i in invoices if i.order_id}),
        "quotes": quotes,
        "customers": names(Customer.name, Customer.id, {i.customer_id for i in invoices}),
        "people": names(User.name, User.id, people),
        "stores": names(OrgUnit.name, OrgUnit.id, {i.store_id for i in invoices}),
    }


def of_target(target: Target, actor: User) -> list[Invoice]:
    """The invoices of an order (those requested on its quote included) or of a quote without an order, in
    the actor's scope, oldest first (its page has checked the target itself)."""
    return list(db.session.scalars(visible(select(Invoice).where(belongs_to(target)), actor, Invoice).order_by(Invoice.id)))


def open_task(invoice: Invoice) -> HumanTask | None:
    """The invoice's task waiting for someone (issue or mailing), if any."""
    return db.session.scalar(select(HumanTask).where(
        HumanTask.object_type == OBJECT_TYPE, HumanTask.object_id == invoice.id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).order_by(HumanTask.id.desc()).limit(1))
