"""The kanban's figures (DESIGN §10) for a window and the previous window of the same length, read from
the summary tables only, each through `visible()` (a store manager: their store; a subsidiary manager:
their stores; HQ: all; a salesperson: their own rows) and the filters (stores within scope, department,
salesperson). Enquiry figures come from crm.enquiries.queries with the same window and filters."""

from __future__ import annotations

from collections.abc import Callable
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
from sqlalchemy import true

from crm.auth.scopes import LOCATION_SCOPES
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.clock import local_today
from crm.core.db import custom_plans
from crm.dashboard.kanban.models import SALES_COUNTS
from crm.dashboard.kanban.models import KanbanChurn
from crm.dashboard.kanban.models import KanbanCustomer
from crm.dashboard.kanban.models import KanbanCustomerDay
from crm.dashboard.kanban.models import KanbanDimDay
from crm.dashboard.kanban.models import KanbanOwned
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.dashboard.kanban.models import KanbanStoreDimDay
from crm.dashboard.kanban.models import KanbanStoreProductDay
from crm.dashboard.kanban.models import KanbanStoreSalesDay
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
People = Callable[[Any], list[ColumnElement[bool]]]


def people_of(actor: User, filters: Filters) -> People:
    """The salesperson and department filters, looked up once (within the actor's scope; outside it: nothing),
    as a function giving their clauses on any owner column."""
    person: int | None = None
    units: Any = None
    none = False
    if filters.user_id:
        person = db.session.scalar(visible(select(User.id).where(User.id == filters.user_id), actor, User))
        none = person is None
    if filters.department_id and not none:
        stmt = select(OrgUnit.path).where(OrgUnit.id == filters.department_id, OrgUnit.kind == UnitKind.DEPARTMENT)
        path = db.session.scalar(visible(stmt, actor, OrgUnit))
        if path is None:
            none = True
        else:
            units = select(User.id).where(User.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.like(f"{path}%"))))

    def on(column: Any) -> list[ColumnElement[bool]]:
        if none:
            return [false()]
        parts: list[ColumnElement[bool]] = []
        if person is not None:
            parts.append(column == person)
        if units is not None:
            parts.append(column.in_(units))
        return parts

    return on


def _people(actor: User, column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """The salesperson and department filters on an owner column (outside the actor's scope: nothing)."""
    return people_of(actor, filters)(column)


def scoped(stmt: Select[Any], actor: User, model: Any, filters: Filters,
           people: list[ColumnElement[bool]] | People | None = None) -> Select[Any]:
    """`stmt` on `model` restricted to the actor's scope, the chosen stores, department and salesperson
    (`people`: the clauses, or `people_of`'s function, looked up here when not given)."""
    stmt = visible(stmt, actor, model)
    if filters.store_ids:
        stmt = stmt.where(model.store_id.in_(filters.store_ids))
    owner = getattr(model, "owner_id", None)
    if owner is None:  # a store-grain table: read only for whole stores, without a salesperson or department filter
        return stmt.where(false()) if filters.user_id or filters.department_id else stmt
    if people is None:
        people = _people(actor, owner, filters)
    elif callable(people):
        people = people(owner)
    for part in people:
        stmt = stmt.where(part)
    return stmt


STORE_GRAIN: dict[Any, Any] = {KanbanSalesDay: KanbanStoreSalesDay, KanbanProductDay: KanbanStoreProductDay,
                               KanbanDimDay: KanbanStoreDimDay}


def grain(model: Any, actor: User, filters: Filters) -> Any:
    """The table to read `model`'s figures from: its per-store twin when the actor sees whole stores and no
    salesperson or department filter narrows them (the same sums from a hundredth of the rows), else itself."""
    twin = STORE_GRAIN.get(model)
    return twin if twin is not None and whole_stores(actor, filters) else model


def in_window(model: Any, window: Window) -> ColumnElement[bool]:
    return and_(model.day >= window.first, model.day <= window.last)


def between(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.first, column <= window.last)


def both(window: Window) -> Window:
    """The window and the previous one (adjacent, same length): the span one statement reads for both."""
    return Window(window.previous().first, window.last)


def per_window(aggregate: Callable[[Any], Any], column: Any, windows: tuple[Window, ...], name: str,
               zero: Any = 0) -> list[Any]:
    """`aggregate(column)` once per window (`FILTER (WHERE day in window)`), labelled name_0, name_1 …"""
    return [func.coalesce(aggregate(column).filter(between(column.table.c.day, w)), zero).label(f"{name}_{i}")
            for i, w in enumerate(windows)]


def which_window(model: Any, window: Window) -> Any:
    """0 for a row of `window`, 1 for one of the previous window (rows of `both(window)`): grouping by it sums
    each row once, where a FILTER per window would test every row against every aggregate."""
    return case((model.day >= window.first, 0), else_=1).label("w")


def pivot(grouped: Any, columns: dict[str, Any], by: tuple[Any, ...] = ()) -> Select[Any]:
    """The rows of a subquery grouped by `w` (and `by`) turned into one row (per `by`): name_0 (the window),
    name_1 (the previous one) for each of `columns` {name: zero}."""
    return select(*by, *[func.coalesce(func.sum(grouped.c[name]).filter(grouped.c.w == i), zero).label(f"{name}_{i}")
                         for name, zero in columns.items() for i in (0, 1)])


# The figures of a window and the previous one ---------------------------------------------------------------
SALES = SALES_COUNTS
COUNTS = ("orders", "amount", "returned", "completed", "revisited", "ratings", "positive", "paid_orders", "buyers",
          "returning", "repurchasers", "new_customers", "converted", "churned", "owned_at_start", "enquiries",
          "new_enquiries")


def raw_both(actor: User, filters: Filters) -> tuple[dict[str, Any], dict[str, Any]]:
    """The counts behind every figure of the window and of the previous one: one statement (a row of
    one-row aggregates, each reading its summary table once for both windows with a FILTER per window)."""
    row = db.session.execute(figures_statement(actor, filters)).one()._mapping
    out: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    for i in (0, 1):
        for key in COUNTS:
            value = row[f"{key}_{i}"] or 0
            out[i][key] = Decimal(value).quantize(Decimal("0.01")) if key == "amount" else int(value)
    return out


def figures_statement(actor: User, filters: Filters) -> Select[Any]:
    now, prev = filters.window, filters.window.previous()
    windows, span = (now, prev), both(now)
    who = people_of(actor, filters)
    s, k, ch, ow = grain(KanbanSalesDay, actor, filters), KanbanCustomer, KanbanChurn, KanbanOwned
    w = which_window(s, now)
    sales = scoped(select(w, *[func.sum(getattr(s, col)).label("paid_orders" if col == "paid" else col) for col in SALES])
                   .where(in_window(s, span)), actor, s, filters, who).group_by(w).subquery()
    parts = [
        pivot(sales, {("paid_orders" if col == "paid" else col): ZERO if col == "amount" else 0 for col in SALES}),
        buyers_both(actor, filters, who),
        scoped(select(*[c for i, w in enumerate(windows) for c in (
            func.count().filter(between(k.created_day, w)).label(f"new_customers_{i}"),
            func.count().filter(and_(between(k.created_day, w), between(k.first_order_day, w))).label(f"converted_{i}"))])
            .where(between(k.created_day, span)), actor, k, filters, who),
        scoped(select(*[func.count(func.distinct(ch.customer_id)).filter(between(ch.day, w)).label(f"churned_{i}")
                        for i, w in enumerate(windows)]).where(in_window(ch, span)), actor, ch, filters, who),
        scoped(select(*[func.coalesce(func.sum(ow.delta).filter(ow.day < w.first), 0).label(f"owned_at_start_{i}")
                        for i, w in enumerate(windows)]).where(ow.day < now.first), actor, ow, filters, who),
        enquiries_both(actor, filters),
    ]
    subs = [p.subquery() for p in parts]
    joined = subs[0]
    for sub in subs[1:]:
        joined = joined.join(sub, true())  # type: ignore[assignment]
    return select(*[c for sub in subs for c in sub.c]).select_from(joined)


def enquiries_both(actor: User, filters: Filters) -> Select[Any]:
    """The platforms' enquiries and new enquiries of the window and the previous one (store figures: a
    salesperson or department filter narrows them to that person's or department's store, as on the enquiry
    statistics page)."""
    e = EnquiryDaily
    windows = (filters.window, filters.window.previous())
    stmt = visible(select(*per_window(func.sum, e.enquiries.expression, windows, "enquiries"),
                          *per_window(func.sum, e.new_enquiries.expression, windows, "new_enquiries"))
                   .where(in_window(e, both(filters.window))), actor, e)
    if filters.store_ids:
        stmt = stmt.where(e.store_id.in_(filters.store_ids))
    if filters.user_id:
        store = db.session.scalar(visible(select(User.store_id).where(User.id == filters.user_id), actor, User))
        stmt = stmt.where(e.store_id == store if store else false())
    if filters.department_id:
        store = db.session.scalar(visible(select(OrgUnit.store_id).where(
            OrgUnit.id == filters.department_id, OrgUnit.kind == UnitKind.DEPARTMENT), actor, OrgUnit))
        stmt = stmt.where(e.store_id == store if store else false())
    return stmt


def whole_stores(actor: User, filters: Filters) -> bool:
    """The actor sees whole stores (store, subsidiary or all scopes) and no salesperson or department
    filter narrows them: then a visible customer's orders are all visible."""
    scopes = scope_context(actor).scopes
    return bool(scopes) and all(s in LOCATION_SCOPES for s in scopes) and not filters.user_id \
        and not filters.department_id


def buyer_rows(actor: User, filters: Filters, window: Window, people: People | None = None) -> Any:
    """One row per customer with an order in `window` or in the window before it: customer_id, n and
    n_before (their orders in each), earlier and earlier_before (1 when they have an order in scope before
    the window, before the previous window)."""
    d = KanbanCustomerDay
    people = people if people is not None else people_of(actor, filters)
    prev = window.previous()
    per_customer = scoped(select(d.customer_id, func.coalesce(func.sum(d.orders).filter(d.day >= window.first), 0)
                                 .label("n"),
                                 func.coalesce(func.sum(d.orders).filter(d.day < window.first), 0).label("n_before"))
                          .where(in_window(d, both(window)), d.orders > 0), actor, d, filters, people) \
        .group_by(d.customer_id).subquery()
    if whole_stores(actor, filters):
        # Every order of a visible customer is visible (a customer and their orders share one store): the
        # customer's first order day says whether one came before either window; a join, no probe per buyer.
        # The customers' rows are read in scope too: a store's own, not the whole table, for a store.
        k = scoped(select(KanbanCustomer.customer_id, KanbanCustomer.first_order_day), actor, KanbanCustomer,
                   filters, people).subquery()
        return select(per_customer.c.customer_id, per_customer.c.n, per_customer.c.n_before,
                      case((k.c.first_order_day < window.first, 1), else_=0).label("earlier"),
                      case((k.c.first_order_day < prev.first, 1), else_=0).label("earlier_before")) \
            .join(k, k.c.customer_id == per_customer.c.customer_id).subquery()
    # One probe per buyer of either window, for orders before the previous window; an order in the previous
    # window is one before this window.
    probe = exists(scoped(select(d.id).where(d.customer_id == per_customer.c.customer_id, d.day < prev.first,
                                             d.orders > 0), actor, d, filters, people))
    inner = select(per_customer.c.customer_id, per_customer.c.n, per_customer.c.n_before,
                   case((probe, 1), else_=0).label("earlier_before")).subquery()
    return select(inner.c.customer_id, inner.c.n, inner.c.n_before,
                  case((or_(inner.c.n_before > 0, inner.c.earlier_before == 1), 1), else_=0).label("earlier"),
                  inner.c.earlier_before).subquery()


def buyers_both(actor: User, filters: Filters, people: People) -> Select[Any]:
    """Distinct customers with an order in the window, those of them who had an earlier order (one in scope
    before the window), and those with an earlier order or two in the window; for the previous window too.
    Exact: counted from the customers' chains of order days when the viewer sees whole stores, else from the
    customer × day rows grouped per customer."""
    if whole_stores(actor, filters):
        return _buyers_by_chain(actor, filters, people)
    return buyers_by_customer(actor, filters, people)


def buyers_by_customer(actor: User, filters: Filters, people: People) -> Select[Any]:
    """`buyers_both` from the customer × day rows grouped per customer (any scope; for whole stores the
    chain's count gives the same, without the grouping)."""
    b = buyer_rows(actor, filters, filters.window, people)
    cols = []
    for i, (n, earlier) in enumerate(((b.c.n, b.c.earlier), (b.c.n_before, b.c.earlier_before))):
        cols += [func.count().filter(n > 0).label(f"buyers_{i}"),
                 func.count().filter(and_(n > 0, earlier == 1)).label(f"returning_{i}"),
                 func.count().filter(or_(n >= 2, and_(n > 0, earlier == 1))).label(f"repurchasers_{i}")]
    return select(*cols)


def _buyers_by_chain(actor: User, filters: Filters, people: People) -> Select[Any]:
    """`buyers_both` for whole stores, where every order of a visible customer is visible, by counting rows
    (no grouping per customer, whatever the window's length):
    - returning buyers: a customer's first row inside the window is the one whose previous order day
      (`kanban_customer_day.prev_day`) is before the window; when there is one, they had an earlier order;
    - first-time buyers: customers whose first order day is in the window; buyers are both together;
    - repurchasers: the returning buyers, and the first-time buyers whose second order day is in the window."""
    d, k = KanbanCustomerDay, KanbanCustomer
    windows = (filters.window, filters.window.previous())
    span = both(filters.window)
    returning = scoped(select(*[func.count().filter(between(d.day, w), d.prev_day < w.first).label(f"returning_{i}")
                                for i, w in enumerate(windows)])
                       .where(in_window(d, span), d.orders > 0), actor, d, filters, people).subquery()
    first = scoped(select(*[c for i, w in enumerate(windows) for c in (
        func.count().filter(between(k.first_order_day, w)).label(f"first_{i}"),
        func.count().filter(between(k.first_order_day, w), k.second_order_day <= w.last).label(f"again_{i}"))])
        .where(between(k.first_order_day, span)), actor, k, filters, people).subquery()
    return select(*[c for i in (0, 1) for c in (
        (returning.c[f"returning_{i}"] + first.c[f"first_{i}"]).label(f"buyers_{i}"),
        returning.c[f"returning_{i}"].label(f"returning_{i}"),
        (returning.c[f"returning_{i}"] + first.c[f"again_{i}"]).label(f"repurchasers_{i}"))]) \
        .select_from(returning.join(first, true()))


def buyer_ids_by_chain(actor: User, filters: Filters, *, repurchasers: bool = False) -> Select[Any]:
    """The ids of the window's buyers (or repurchasers) for whole stores, by the chain (the drill-down of
    `_buyers_by_chain`'s counts): each buyer's first row inside the window is the one whose previous order day
    is missing or before the window, so the rows are the customers, once each; repurchasers are those whose
    previous order day is before the window, and the first-time buyers whose second order day is in it."""
    d, k, w = KanbanCustomerDay, KanbanCustomer, filters.window
    first_rows = scoped(select(d.customer_id).where(in_window(d, w), d.orders > 0), actor, d, filters)
    if not repurchasers:
        return first_rows.where(or_(d.prev_day.is_(None), d.prev_day < w.first))
    again = scoped(select(k.customer_id).where(between(k.first_order_day, w), k.second_order_day <= w.last),
                   actor, k, filters)
    return first_rows.where(d.prev_day < w.first).union_all(again)


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
    custom_plans(db.session())  # windows from a day to years share their statements
    now, before = raw_both(actor, filters)
    a, b = _values(now), _values(before)
    figures = [Figure(k, label, kind, definition, a[k][0], b[k][0], a[k][1], b[k][1])
               for k, (label, kind, definition) in FIGURES.items()]
    return Kanban(key, filters, figures, now, before)
