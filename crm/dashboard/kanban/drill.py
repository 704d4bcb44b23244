"""The list behind each figure, with the same window, scope and filters: orders (read from the orders
through `visible()`, with the figure's definition) or customers (the summary rows that were counted,
through `visible()`, with the customers' names). Keyset pages; `count` is the figure's number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.auth.scopes import visible
from crm.core.clock import local_day_end
from crm.core.clock import local_day_start
from crm.core.db import custom_plans
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.customers.models import Customer
from crm.dashboard.kanban import queries
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.queries import in_window
from crm.dashboard.kanban.queries import scoped
from crm.enquiries.queries import Filters
from crm.extensions import db
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus

# figure -> (list kind, the count of `queries.raw_both` the list's length equals)
FIGURES: dict[str, tuple[str, str]] = {
    "amount": ("orders", "orders"), "orders": ("orders", "orders"), "aov": ("orders", "orders"),
    "return_rate": ("orders", "returned"), "positive_rate": ("orders", "positive"),
    "revisit_rate": ("orders", "completed"),  # the completed orders, the rate's base
    "buyers": ("customers", "buyers"), "repurchase_rate": ("customers", "repurchasers"),
    "new_customers": ("customers", "new_customers"), "entry_rate": ("customers", "new_customers"),
    "conversion_rate": ("customers", "converted"), "churn_rate": ("customers", "churned"),
}


@dataclass
class Drill:
    figure: str
    kind: str  # orders | customers
    stmt: Select[Any]
    actor: User
    ids: Any = None  # customers: the summary rows' customer ids the list shows (one each)

    def count(self) -> int:
        """The figure's number: the orders listed, or the customers counted (from the summary rows' ids, not
        from a join with the customers: 250 k repurchasers of HQ's year cost 0.5 s that way)."""
        counted = self.stmt.order_by(None) if self.ids is None else self.ids
        return int(db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0)

    def page(self, cursor: str | None = None, limit: int = 50) -> Page[Any]:
        """A page of the list. A customer counted in the figure may since have moved to a colleague or the
        high seas: it stays a row (the count is the figure's), and `extra["visible"]` holds the ids whose
        name the viewer may read (through `visible()`); the others are shown without name or owner."""
        model = Order if self.kind == "orders" else Customer
        page = keyset_page(db.session, self.stmt, [SortKey(model.id, True)], cursor=cursor, limit=limit)
        if self.kind == "customers":
            ids = [c.id for c in page.items]
            page.extra["visible"] = set(db.session.scalars(
                visible(select(Customer.id).where(Customer.id.in_(ids)), self.actor, Customer))) if ids else set()
        return page


def _orders(actor: User, filters: Filters, figure: str) -> Select[Any]:
    w = filters.window
    start, end = local_day_start(w.first), local_day_end(w.last)
    stmt = select(Order).where(Order.status != OrderStatus.CANCELLED)
    if figure in ("amount", "orders", "aov", "return_rate"):
        stmt = stmt.where(Order.signed_at >= start, Order.signed_at < end)
    if figure == "return_rate":
        stmt = stmt.where(exists().where(AfterSalesCase.order_id == Order.id, AfterSalesCase.type == CaseType.RETURN_REFUND,
                                         AfterSalesCase.decided_at.is_not(None), AfterSalesCase.status != CaseStatus.REJECTED))
    if figure == "positive_rate":
        when = func.coalesce(Order.received_at, Order.completed_at)
        stmt = stmt.where(Order.rating >= 4, when >= start, when < end)
    if figure == "revisit_rate":
        stmt = stmt.where(Order.status == OrderStatus.COMPLETED, Order.completed_at >= start, Order.completed_at < end)
    return scoped(stmt, actor, Order, filters)


def _customer_ids(actor: User, filters: Filters, figure: str) -> Any:
    """The ids of the customers the figure counts, once each, from its summary rows (already in scope)."""
    w = filters.window
    if figure in ("buyers", "repurchase_rate") and queries.whole_stores(actor, filters):
        ids = queries.buyer_ids_by_chain(actor, filters, repurchasers=figure == "repurchase_rate")
    elif figure in ("buyers", "repurchase_rate"):
        b = queries.buyer_rows(actor, filters, w)
        ids = select(b.c.customer_id).where(b.c.n > 0)  # the rows also hold the previous window's buyers
        if figure == "repurchase_rate":
            ids = ids.where(or_(b.c.n >= 2, b.c.earlier == 1))
    elif figure == "churn_rate":  # a customer may have moved to the high seas twice in the window
        ids = scoped(select(KanbanChurn.customer_id).where(in_window(KanbanChurn, w)), actor, KanbanChurn, filters) \
            .distinct()
    else:
        k = KanbanCustomer
        ids = scoped(select(k.customer_id).where(k.created_day >= w.first, k.created_day <= w.last), actor, k, filters)
        if figure == "conversion_rate":
            ids = ids.where(k.first_order_day >= w.first, k.first_order_day <= w.last)
    return ids


def drill(actor: User, filters: Filters, figure: str) -> Drill | None:
    """The list behind `figure` (None: not a figure with a list)."""
    if figure not in FIGURES:
        return None
    custom_plans(db.session())  # windows from a day to years share their statements
    kind = FIGURES[figure][0]
    if kind == "orders":
        return Drill(figure, kind, _orders(actor, filters, figure), actor)
    ids = _customer_ids(actor, filters, figure)
    # The customers are only the rows' names and links.
    return Drill(figure, kind, select(Customer).where(Customer.id.in_(ids)), actor, ids)

