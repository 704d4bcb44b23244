"""Reading after-sales cases. Every query goes through `visible()` on `AfterSalesCase` (the order's store
and salesperson are copied onto each row); the list pages newest first by id (keyset)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
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
from crm.core.validation import money_or_none
from crm.core.validation import query_args
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import Order


@dataclass
class CaseFilters:
    """The case list's filters. Bad values are dropped on a page (a filter never answers 400 there); the
    API validates them first."""

    status: CaseStatus | None = None
    type: CaseType | None = None
    store_id: int | None = None
    owner_id: int | None = None  # the salesperson
    order_id: int | None = None
    customer_id: int | None = None
    order_number: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    date_from: date | None = None  # requested on or after (Asia/Shanghai days)
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Any) -> CaseFilters:
        number = str(args.get("order_number") or "").strip()[:30] or None
        return cls(
            status=enum_or_none(args.get("status"), CaseStatus), type=enum_or_none(args.get("type"), CaseType),
            store_id=as_id(args.get("store_id")) or None, owner_id=as_id(args.get("owner_id")) or None,
            order_id=as_id(args.get("order_id")) or None, customer_id=as_id(args.get("customer_id")) or None,
            order_number=number, amount_min=money_or_none(args.get("amount_min")),
            amount_max=money_or_none(args.get("amount_max")),
            date_from=day_or_none(args.get("date_from")), date_to=day_or_none(args.get("date_to")))

    def as_args(self) -> dict[str, str]:
        return query_args(self)



def _filtered(stmt: Select[Any], actor: User, filters: CaseFilters) -> Select[Any]:
    stmt = where_equal(visible(stmt, actor, AfterSalesCase), {
        AfterSalesCase.status: filters.status, AfterSalesCase.type: filters.type,
        AfterSalesCase.store_id: filters.store_id, AfterSalesCase.owner_id: filters.owner_id,
        AfterSalesCase.order_id: filters.order_id, AfterSalesCase.customer_id: filters.customer_id,
    })
    if filters.order_number:
        stmt = stmt.where(AfterSalesCase.order_id.in_(select(Order.id).where(Order.number == filters.order_number)))
    if filters.amount_min is not None:
        stmt = stmt.where(AfterSalesCase.amount >= filters.amount_min)
    if filters.amount_max is not None:
        stmt = stmt.where(AfterSalesCase.amount <= filters.amount_max)
    if filters.date_from:
        stmt = stmt.where(AfterSalesCase.requested_at >= local_day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AfterSalesCase.requested_at < local_day_end(filters.date_to))
    return stmt


def case_page(actor: User, filters: CaseFilters, *, cursor: str | None = None, limit: int = 50) -> Page[AfterSalesCase]:
    return keyset_page(db.session, _filtered(select(AfterSalesCase), actor, filters),
                       [SortKey(AfterSalesCase.id, True)], cursor=cursor, limit=limit)


def for_export(actor: User, filters: CaseFilters, limit: int) -> list[AfterSalesCase]:
    return list(db.session.scalars(_filtered(select(AfterSalesCase), actor, filters)
                                   .order_by(AfterSalesCase.id.desc()).limit(limit)))


def of_order(order_id: int, actor: User) -> list[AfterSalesCase]:
    """The order's cases the actor may see, oldest first (its page has checked the order itself)."""
    return list(db.session.scalars(visible(select(AfterSalesCase).where(AfterSalesCase.order_id == order_id),
                                           actor, AfterSalesCase).order_by(AfterSalesCase.id)))


def labels(rows: list[AfterSalesCase]) -> dict[str, dict[int, str]]:
    """Order numbers, customer, people and store names of a page of cases (four queries)."""
    def names(column: Any, key: Any, ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(key, column).where(key.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]

    people = {c.owner_id for c in rows} | {c.requested_by_id for c in rows if c.requested_by_id}
    return {
        "orders": names(Order.number, Order.id, {c.order_id for c in rows}),
        "customers": names(Customer.name, Customer.id, {c.customer_id for c in rows}),
        "people": names(User.name, User.id, people),
        "stores": names(OrgUnit.name, OrgUnit.id, {c.store_id for c in rows}),
    }
