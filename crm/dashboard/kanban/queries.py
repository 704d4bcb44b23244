"""The kanban's figures (DESIGN §10) for a window and the previous window of the same length, read from
the summary tables only, each through `visible()` (a store manager: their store; a subsidiary manager:
their stores; HQ: all; a salesperson: their own rows) and the filters (stores within scope, department,
salesperson). Enquiry figures come from crm.enquiries.queries with the same window and filters."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.auth.scopes import LOCATION_SCOPES
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.clock import local_today
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanOwned
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.enquiries import queries as enquiry_queries
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

ZERO = Decimal("0.00")
WINDOWS: dict[str, Any] = {
    "today": _l("Today"), "yesterday": _l("Yesterday"), "last7": _l("Last 7 days"), "last30": _l("Last 30 days"),
    "this_month": _l("This month"), "last_month": _l("Last month"), "custom": _l("Custom"),
}

# key: (label, kind, definition shown as the card's tooltip — DESIGN §10 word for word where it can be)
FIGURES: dict[str, tuple[Any, str, Any]] = {
    "amount": (_l("Transaction amount"), "money",
               _l("Sum of the order totals of orders signed in the window; cancelled orders excluded.")),
    "orders": (_l("Orders"), "count", _l("Number of orders signed in the window; cancelled orders excluded.")),
    "aov": (_l("Average order value"), "money", _l("Transaction amount ÷ orders.")),
    "repurchase_rate": (_l("Repurchase rate"), "rate",
                        _l("Customers with an order in the window who had an earlier order ÷ customers with an "
                           "order in the window. An earlier order is one signed before the window, or a second "
                           "order in the window.")),
    "entry_rate": (_l("Customer entry rate"), "rate",
                   _l("New customer profiles ÷ new enquiries (enquiry statistics) in the window.")),
    "conversion_rate": (_l("Conversion rate"), "rate",
                        _l("New customers whose first order is in the window ÷ new customers in the window.")),
    "positive_rate": (_l("Positive feedback rate"), "rate",
                      _l("Feedback ratings ≥ 4 ÷ all ratings (rating 1–5 captured at receipt) of the window.")),
    "revisit_rate": (_l("Return-visit rate"), "rate",
                     _l("Completed orders with a return visit (a follow-up of the customer) within 7 days ÷ "
                        "completed orders; orders completed in the window.")),
    "return_rate": (_l("Return rate"), "rate",
                    _l("Orders with an approved after-sales return ÷ orders (orders signed in the window).")),
    "churn_rate": (_l("Churn rate"), "rate",
                   _l("Customers moved to the high seas in the window ÷ customers owned at the window start.")),
    "new_customers": (_l("New customers"), "count", _l("Customer profiles created in the window.")),
    "buyers": (_l("Customers with an order"), "count",
               _l("Distinct customers with an order signed in the window (cancelled excluded).")),
}


def window_of(key: str | None, first: Any = None, last: Any = None, *, today: date | None = None
              ) -> tuple[str, Window]:
    """The enquiry statistics' windows plus "last month"."""
    today = today or local_today()
    if key == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return key, Window(end.replace(day=1), end)
    return enquiry_queries.window_of(key, first, last, today=today)


def filters_of(args: Any, actor: User) -> tuple[str, Filters]:
    """(window key, Filters) from request arguments, as the enquiry statistics read them; stores outside
    the actor's scope are dropped."""
    key, filters = enquiry_queries.filters_of(args, actor)
    if args.get("window") == "last_month":
        key, filters.window = window_of("last_month")
    return key, filters


def people_choices(actor: User, limit: int = 1000) -> list[Any]:
    """The salesperson filter's choices: (id, name) of the active people of stores in scope (plain rows:
    loading 1,000 users with their roles would cost more than the whole kanban)."""
    stmt = select(User.id, User.name).where(User.active.is_(True), User.store_id.is_not(None)) \
        .order_by(User.name, User.id).limit(limit)
    return list(db.session.execute(visible(stmt, actor, User)))


# Clauses ----------------------------------------------------------------------------------------------------
def _people(actor: User, column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """The salesperson and department filters on an owner column (outside the actor's scope: nothing)."""
    parts: list[ColumnElement[bool]] = []
    if filters.user_id:
        person = db.session.scalar(visible(select(User.id).where(User.id == filters.user_id), actor, User))
        parts.append(column == filters.user_id if person is not None else false())
    if filters.department_id:
        stmt = select(OrgUnit.path).where(OrgUnit.id == filters.department_id, OrgUnit.kind == UnitKind.DEPARTMENT)
        path = db.session.scalar(visible(stmt, actor, OrgUnit))
        if path is None:
            parts.append(false())
        else:
            units = select(OrgUnit.id).where(OrgUnit.path.like(f"{path}%"))
            parts.append(column.in_(select(User.id).where(User.org_unit_id.in_(units))))
    return parts


def scoped(stmt: Select[Any], actor: User, model: Any, filters: Filters, people: list[ColumnElement[bool]] | None = None
           ) -> Select[Any]:
    """`stmt` on `model` restricted to the actor's scope, the chosen stores, department and salesperson."""
    stmt = visible(stmt, actor, model)
    if filters.store_ids:
        stmt = stmt.where(model.store_id.in_(filters.store_ids))
    for part in people if people is not None else _people(actor, model.owner_id, filters):
        stmt = stmt.where(part)
    return stmt


def in_window(model: Any, window: Window) -> ColumnElement[bool]:
    return and_(model.day >= window.first, model.day <= window.last)


# The figures of one window ----------------------------------------------------------------------------------
def raw(actor: User, filters: Filters, window: Window) -> dict[str, Any]:
    """The counts behind every figure of one window (a fixed number of statements)."""
    s = KanbanSalesDay
    people = _people(actor, s.owner_id, filters)
    sums = db.session.execute(scoped(select(
        func.coalesce(func.sum(s.orders), 0), func.coalesce(func.sum(s.amount), ZERO),
        func.coalesce(func.sum(s.returned), 0), func.coalesce(func.sum(s.completed), 0),
        func.coalesce(func.sum(s.revisited), 0), func.coalesce(func.sum(s.ratings), 0),
        func.coalesce(func.sum(s.positive), 0), func.coalesce(func.sum(s.paid), 0)).where(in_window(s, window)),
        actor, s, filters, people)).one()
    out: dict[str, Any] = dict(zip(("orders", "amount", "returned", "completed", "revisited", "ratings", "positive",
                                    "paid_orders"), sums, strict=True))
    out["amount"] = Decimal(out["amount"]).quantize(Decimal("0.01"))
    out.update(buyers_of(actor, filters, window, _people(actor, KanbanCustomerDay.owner_id, filters)))
    k = KanbanCustomer
    new, converted = db.session.execute(scoped(select(
        func.count(), func.coalesce(func.sum(case((and_(k.first_order_day >= window.first,
                                                        k.first_order_day <= window.last), 1), else_=0)), 0))
        .where(k.created_day >= window.first, k.created_day <= window.last), actor, k, filters,
        _people(actor, k.owner_id, filters))).one()
    out["new_customers"], out["converted"] = int(new), int(converted)
    ch = KanbanChurn
    out["churned"] = int(db.session.scalar(scoped(select(func.count(func.distinct(ch.customer_id))).where(in_window(ch, window)),
                                                  actor, ch, filters, _people(actor, ch.owner_id, filters))) or 0)
    ow = KanbanOwned
    out["owned_at_start"] = int(db.session.scalar(scoped(select(func.coalesce(func.sum(ow.delta), 0)).where(
        ow.day < window.first), actor, ow, filters, _people(actor, ow.owner_id, filters))) or 0)
    out["enquiries"], out["new_enquiries"] = enquiries(actor, filters, window)
    return {key: int(v) if key != "amount" else v for key, v in out.items()}


def enquiries(actor: User, filters: Filters, window: Window) -> tuple[int, int]:
    """The platforms' enquiries and new enquiries of the window (store figures: a salesperson or department
    filter narrows them to that person's or department's store, as on the enquiry statistics page)."""
    e = EnquiryDaily
    stmt = visible(select(func.coalesce(func.sum(e.enquiries), 0), func.coalesce(func.sum(e.new_enquiries), 0))
                   .where(e.day >= window.first, e.day <= window.last), actor, e)
    if filters.store_ids:
        stmt = stmt.where(e.store_id.in_(filters.store_ids))
    if filters.user_id:
        store = db.session.scalar(visible(select(User.store_id).where(User.id == filters.user_id), actor, User))
        stmt = stmt.where(e.store_id == store if store else false())
    if filters.department_id:
        store = db.session.scalar(visible(select(OrgUnit.store_id).where(
            OrgUnit.id == filters.department_id, OrgUnit.kind == UnitKind.DEPARTMENT), actor, OrgUnit))
        stmt = stmt.where(e.store_id == store if store else false())
    total, new = db.session.execute(stmt).one()
    return int(total), int(new)


def whole_stores(actor: User, filters: Filters) -> bool:
    """The actor sees whole stores (store, subsidiary or all scopes) and no salesperson or department
    filter narrows them: then a visible customer's orders are all visible."""
    scopes = scope_context(actor).scopes
    return bool(scopes) and all(s in LOCATION_SCOPES for s in scopes) and not filters.user_id \
        and not filters.department_id


def buyer_rows(actor: User, filters: Filters, window: Window, people: list[ColumnElement[bool]] | None = None
               ) -> Any:
    """One row per customer with an order in the window: customer_id, n (orders in the window), earlier
    (1 when the customer has an order in scope before the window)."""
    d = KanbanCustomerDay
    people = people if people is not None else _people(actor, d.owner_id, filters)
    per_customer = scoped(select(d.customer_id, func.sum(d.orders).label("n")).where(in_window(d, window), d.orders > 0),
                          actor, d, filters, people).group_by(d.customer_id).subquery()
    if whole_stores(actor, filters):
        # Every order of a visible customer is visible (a customer and their orders share one store): the
        # customer's first order day says whether one came before the window, no probe per buyer.
        k = KanbanCustomer
        return select(per_customer.c.customer_id, per_customer.c.n,
                      case((k.first_order_day < window.first, 1), else_=0).label("earlier")) \
            .join(k, k.customer_id == per_customer.c.customer_id).subquery()
    earlier = scoped(select(d.id).where(d.customer_id == per_customer.c.customer_id, d.day < window.first,
                                        d.orders > 0), actor, d, filters, people)
    return select(per_customer.c.customer_id, per_customer.c.n,
                  case((exists(earlier), 1), else_=0).label("earlier")).subquery()


def buyers_of(actor: User, filters: Filters, window: Window, people: list[ColumnElement[bool]]) -> dict[str, int]:
    """Distinct customers with an order in the window, and those of them who had an earlier order (one in
    scope before the window, or two in the window): exact, from the customer × day rows."""
    b = buyer_rows(actor, filters, window, people)
    buyers, returning, again = db.session.execute(select(
        func.count(), func.coalesce(func.sum(b.c.earlier), 0),
        func.coalesce(func.sum(case((or_(b.c.n >= 2, b.c.earlier == 1), 1), else_=0)), 0))).one()
    return {"buyers": int(buyers), "returning": int(returning), "repurchasers": int(again)}


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    kind: str  # money | count | rate
    definition: Any
    value: Decimal | int | None  # None: undefined (a rate over 0)
    previous: Decimal | int | None
    parts: tuple[int, int] | None = None  # a rate's numerator and denominator
    previous_parts: tuple[int, int] | None = None

    @property
    def change(self) -> Decimal | None:
        """Money and counts: the relative change in % (None when the previous value is 0 or undefined);
        rates: the change in percentage points."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == "rate":
            return ((Decimal(self.value) - Decimal(self.previous)) * 100).quantize(Decimal("0.1"))
        if not self.previous:
            return None
        return ((Decimal(self.value) - Decimal(self.previous)) * 100 / Decimal(self.previous)).quantize(Decimal("0.1"))

    @property
    def direction(self) -> str:
        change = self.change
        return "flat" if change is None or change == 0 else ("up" if change > 0 else "down")


def ratio(numerator: int, denominator: int) -> Decimal | None:
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001")) if denominator else None


RATE_PARTS: dict[str, tuple[str, str]] = {
    "repurchase_rate": ("repurchasers", "buyers"), "entry_rate": ("new_customers", "new_enquiries"),
    "conversion_rate": ("converted", "new_customers"), "positive_rate": ("positive", "ratings"),
    "revisit_rate": ("revisited", "completed"), "return_rate": ("returned", "orders"),
    "churn_rate": ("churned", "owned_at_start"),
}


def _values(r: dict[str, Any]) -> dict[str, tuple[Any, tuple[int, int] | None]]:
    out: dict[str, tuple[Any, tuple[int, int] | None]] = {
        "amount": (r["amount"], None), "orders": (r["orders"], None),
        "aov": ((r["amount"] / r["orders"]).quantize(Decimal("0.01")) if r["orders"] else None, None),
        "new_customers": (r["new_customers"], None), "buyers": (r["buyers"], None)}
    for key, (num, den) in RATE_PARTS.items():
        out[key] = (ratio(r[num], r[den]), (r[num], r[den]))
    return out


@dataclass
class Kanban:
    key: str
    filters: Filters
    figures: list[Figure]
    now: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def kanban(actor: User, filters: Filters, key: str = "custom") -> Kanban:
    """Every figure of the window with the previous window's value and the change."""
    now, before = raw(actor, filters, filters.window), raw(actor, filters, filters.window.previous())
    a, b = _values(now), _values(before)
    figures = [Figure(k, label, kind, definition, a[k][0], b[k][0], a[k][1], b[k][1])
               for k, (label, kind, definition) in FIGURES.items()]
    return Kanban(key, filters, figures, now, before)
