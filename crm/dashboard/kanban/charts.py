"""The kanban's charts and tables (reads of the summary tables, through `queries.scoped`): the daily sales
trend of the window against the previous one, product and category rankings, new vs returning customers,
the province and terminal distributions, the funnel from enquiries to paid orders and the per-salesperson
ranking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from crm.dashboard.kanban.models import KanbanDimDay
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.dashboard.kanban.queries import ZERO
from crm.dashboard.kanban.queries import Kanban
from crm.dashboard.kanban.queries import in_window
from crm.dashboard.kanban.queries import scoped
from crm.enquiries.queries import Filters
from crm.enquiries.queries import Window
from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from crm.sales.orders.models import TERMINAL_LABELS
from crm.sales.orders.models import Terminal

TOP = 10


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _daily(actor: User, filters: Filters, window: Window) -> tuple[list[str], list[str], list[int]]:
    s = KanbanSalesDay
    rows = {d: (a, n) for d, a, n in db.session.execute(scoped(
        select(s.day, func.sum(s.amount), func.sum(s.orders)).where(in_window(s, window)), actor, s, filters)
        .group_by(s.day))}
    days = window.dates()
    return ([d.isoformat() for d in days], [_money(rows.get(d, (ZERO, 0))[0]) for d in days],
            [int(rows.get(d, (ZERO, 0))[1]) for d in days])


def trend(actor: User, filters: Filters) -> dict[str, Any]:
    """Amount and orders per day of the window, and of the previous window laid over it day by day."""
    days, amount, orders = _daily(actor, filters, filters.window)
    prev_days, prev_amount, prev_orders = _daily(actor, filters, filters.window.previous())
    return {"days": days, "amount": amount, "orders": orders, "previous_days": prev_days,
            "previous_amount": prev_amount, "previous_orders": prev_orders}


def products(actor: User, filters: Filters, *, by: str = "amount", top: int = TOP) -> list[dict[str, Any]]:
    """The top products of the window by amount or quantity."""
    p = KanbanProductDay
    amount, quantity = func.sum(p.amount).label("amount"), func.sum(p.quantity).label("quantity")
    stmt = scoped(select(p.product_id, amount, quantity).where(in_window(p, filters.window)), actor, p, filters) \
        .group_by(p.product_id).order_by((quantity if by == "quantity" else amount).desc(), p.product_id).limit(top)
    rows = db.session.execute(stmt).all()
    names = {i: (sku, name) for i, sku, name in db.session.execute(
        select(Product.id, Product.sku, Product.name).where(Product.id.in_([r.product_id for r in rows])))}
    return [{"id": r.product_id, "sku": names.get(r.product_id, ("", ""))[0],
             "name": names.get(r.product_id, ("", f"#{r.product_id}"))[1],
             "amount": _money(r.amount), "quantity": int(r.quantity)} for r in rows]


def categories(actor: User, filters: Filters, *, by: str = "amount", top: int = TOP) -> list[dict[str, Any]]:
    """The top product categories of the window (a product's own category; none: "Uncategorised")."""
    p = KanbanProductDay
    amount, quantity = func.sum(p.amount).label("amount"), func.sum(p.quantity).label("quantity")
    stmt = scoped(select(Product.category_id, amount, quantity).join(Product, Product.id == p.product_id)
                  .where(in_window(p, filters.window)), actor, p, filters) \
        .group_by(Product.category_id).order_by((quantity if by == "quantity" else amount).desc()).limit(top)
    rows = db.session.execute(stmt).all()
    names = dict(db.session.execute(select(ProductCategory.id, ProductCategory.name).where(
        ProductCategory.id.in_([r.category_id for r in rows if r.category_id]))).all())
    return [{"id": r.category_id, "name": names.get(r.category_id, _("Uncategorised")) if r.category_id else
             _("Uncategorised"), "amount": _money(r.amount), "quantity": int(r.quantity)} for r in rows]


def distribution(actor: User, filters: Filters, dim: str) -> list[dict[str, Any]]:
    """Orders and amount of the window per province (ranked) or per terminal."""
    d = KanbanDimDay
    stmt = scoped(select(d.value, func.sum(d.orders).label("orders"), func.sum(d.amount).label("amount"))
                  .where(in_window(d, filters.window), d.dim == dim), actor, d, filters) \
        .group_by(d.value).order_by(func.sum(d.amount).desc(), d.value)
    out = []
    for value, orders, amount in db.session.execute(stmt):
        if not orders:
            continue
        if dim == "terminal":
            label = str(TERMINAL_LABELS.get(Terminal(value), value)) if value in set(Terminal) else value
        else:
            label = value or _("Unknown")
        out.append({"value": value, "name": label, "orders": int(orders), "amount": _money(amount)})
    return out


def salespeople(actor: User, filters: Filters, top: int | None = 50) -> list[dict[str, Any]]:
    """Per salesperson: amount, orders, average order value and returns of the window, the previous window's
    amount, ranked by amount (the first `top`; None: all, for the export)."""
    s = KanbanSalesDay

    def sums(window: Window) -> dict[int, tuple[Any, ...]]:
        stmt = scoped(select(s.owner_id, func.sum(s.amount), func.sum(s.orders), func.sum(s.returned))
                      .where(in_window(s, window)), actor, s, filters).group_by(s.owner_id)
        return {o: (a, n, r) for o, a, n, r in db.session.execute(stmt)}

    now, before = sums(filters.window), sums(filters.window.previous())
    ranked = sorted(set(now) | set(before), key=lambda o: (-Decimal(now.get(o, (ZERO,))[0] or 0),
                                                          -Decimal(before.get(o, (ZERO,))[0] or 0), o))
    ranked = [o for o in ranked if now.get(o, (ZERO, 0))[1] or before.get(o, (ZERO, 0))[1]][:top]
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ranked))).all())
    rows = []
    for owner_id in ranked:
        amount, orders, returned = now.get(owner_id, (ZERO, 0, 0))
        if not orders and not before.get(owner_id, (ZERO, 0, 0))[1]:
            continue
        prev = Decimal(before.get(owner_id, (ZERO, 0, 0))[0] or 0)
        rows.append({"id": owner_id, "name": names.get(owner_id, f"#{owner_id}"), "amount": _money(amount),
                     "orders": int(orders or 0), "aov": _money(Decimal(amount) / orders) if orders else None,
                     "returned": int(returned or 0), "previous_amount": _money(prev),
                     "change": (str(((Decimal(amount or 0) - prev) * 100 / prev).quantize(Decimal("0.1")))
                                if prev else None)})
    rows.sort(key=lambda r: (-Decimal(r["amount"]), r["name"]))
    return rows


def funnel(k: Kanban) -> list[dict[str, Any]]:
    """Enquiries → new enquiries → new customers → new customers with an order → paid orders."""
    n = k.now
    return [{"key": "enquiries", "name": _("Enquiries"), "value": n["enquiries"]},
            {"key": "new_enquiries", "name": _("New enquiries"), "value": n["new_enquiries"]},
            {"key": "new_customers", "name": _("New customers"), "value": n["new_customers"]},
            {"key": "converted", "name": _("New customers with an order"), "value": n["converted"]},
            {"key": "paid_orders", "name": _("Paid orders"), "value": n["paid_orders"]}]


def customers_mix(k: Kanban) -> dict[str, Any]:
    """New vs returning buyers (returning: an order in scope before the window) of both windows."""
    return {"labels": [_("New customers"), _("Returning customers")],
            "current": [k.now["buyers"] - k.now["returning"], k.now["returning"]],
            "previous": [k.before["buyers"] - k.before["returning"], k.before["returning"]]}


def everything(actor: User, k: Kanban, *, by: str = "amount") -> dict[str, Any]:
    """All the charts' data of the page (and of the API's series and rankings)."""
    f = k.filters
    return {"trend": trend(actor, f), "products": products(actor, f, by=by), "categories": categories(actor, f, by=by),
            "customers": customers_mix(k), "provinces": distribution(actor, f, "province"),
            "terminals": distribution(actor, f, "terminal"), "funnel": funnel(k), "salespeople": salespeople(actor, f)}


# Exports ----------------------------------------------------------------------------------------------------
EXPORTS = ("figures", "salespeople", "products", "categories", "provinces", "terminals")


def export(actor: User, k: Kanban, table: str, fmt: str) -> tuple[bytes, str]:
    """One of the page's tables (the page's window and filters) as CSV or XLSX."""
    from crm.core.clock import utcnow
    from crm.core.tabular import write_table

    f = k.filters
    rows: list[list[Any]]
    if table == "figures":
        titles = [_("Figure"), _("Value"), _("Previous"), _("Change"), _("Numerator"), _("Denominator")]
        rows = [[str(x.label), x.value, x.previous, x.change, *(x.parts or ("", ""))] for x in k.figures]
    elif table == "salespeople":
        titles = [_("Salesperson"), _("Transaction amount"), _("Orders"), _("Average order value"), _("Returns"),
                  _("Previous amount"), _("Change %")]
        rows = [[r["name"], r["amount"], r["orders"], r["aov"], r["returned"], r["previous_amount"], r["change"]]
                for r in salespeople(actor, f, top=None)]
    elif table in ("products", "categories"):
        titles = [_("Name"), _("Transaction amount"), _("Quantity")]
        rows = [[r["name"], r["amount"], r["quantity"]]
                for r in (products if table == "products" else categories)(actor, f, top=1000)]
    else:
        titles = [_("Province") if table == "provinces" else _("Terminal"), _("Orders"), _("Transaction amount")]
        rows = [[r["name"], r["orders"], r["amount"]]
                for r in distribution(actor, f, "province" if table == "provinces" else "terminal")]
    name = f"kanban-{table}-{f.window.first:%Y%m%d}-{f.window.last:%Y%m%d}-{utcnow():%H%M}.{fmt}"
    return write_table(titles, rows, fmt, sheet=table), name
