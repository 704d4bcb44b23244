"""Reading make-ups. Every query goes through `visible()` on `MakeUp` (the order's store and salesperson
are copied onto each row); the list pages newest first by id (keyset), like the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select
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
from crm.finance.makeups.models import MakeUp
from crm.finance.makeups.models import MakeUpKind
from crm.finance.makeups.models import MakeUpStatus
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import Order


@dataclass
class MakeUpFilters:
    """The make-up list's filters. Bad values are dropped on a page (a filter never answers 400 there); the
    API validates them first."""

    status: MakeUpStatus | None = None
    kind: MakeUpKind | None = None
    store_id: int | None = None
    owner_id: int | None = None  # the salesperson
    order_id: int | None = None
    customer_id: int | None = None
    date_from: date | None = None  # requested on or after (Asia/Shanghai days)
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Any) -> MakeUpFilters:
        return cls(
            status=enum_or_none(args.get("status"), MakeUpStatus), kind=enum_or_none(args.get("kind"), MakeUpKind),
            store_id=as_id(args.get("store_id")) or None, owner_id=as_id(args.get("owner_id")) or None,
            order_id=as_id(args.get("order_id")) or None, customer_id=as_id(args.get("customer_id")) or None,
            date_from=day_or_none(args.get("date_from")), date_to=day_or_none(args.get("date_to")))

    def as_args(self) -> dict[str, str]:
        return query_args(self)



def _filtered(stmt: Select[Any], actor: User, filters: MakeUpFilters) -> Select[Any]:
    stmt = where_equal(visible(stmt, actor, MakeUp), {
        MakeUp.status: filters.status, MakeUp.kind: filters.kind, MakeUp.store_id: filters.store_id,
        MakeUp.owner_id: filters.owner_id, MakeUp.order_id: filters.order_id, MakeUp.customer_id: filters.customer_id,
    })
    if filters.date_from:
        stmt = stmt.where(MakeUp.requested_at >= local_day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(MakeUp.requested_at < local_day_end(filters.date_to))
    return stmt


def make_up_page(actor: User, filters: MakeUpFilters, *, cursor: str | None = None, limit: int = 50) -> Page[MakeUp]:
    return keyset_page(db.session, _filtered(select(MakeUp), actor, filters), [SortKey(MakeUp.id, True)],
                       cursor=cursor, limit=limit)


def of_order(order_id: int, actor: User) -> list[MakeUp]:
    """The order's make-ups the actor may see, oldest first (its page has checked the order itself)."""
    return list(db.session.scalars(visible(select(MakeUp).where(MakeUp.order_id == order_id), actor, MakeUp)
                                   .order_by(MakeUp.id)))


def labels(rows: list[MakeUp]) -> dict[str, dict[int, str]]:
    """Order numbers, customer, people and store names of a page of make-ups (four queries)."""
    def names(column: Any, key: Any, ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(key, column).where(key.in_(ids))).all()) if ids else {}  # type: ignore[arg-type]

    people = {m.owner_id for m in rows} | {m.requested_by_id for m in rows if m.requested_by_id}
    return {
        "orders": names(Order.number, Order.id, {m.order_id for m in rows}),
        "customers": names(Customer.name, Customer.id, {m.customer_id for m in rows}),
        "people": names(User.name, User.id, people),
        "stores": names(OrgUnit.name, OrgUnit.id, {m.store_id for m in rows}),
    }
