"""The kanban's charts and tables (reads of the summary tables, through `queries.scoped`): the daily sales
trend of the window against the previous one, product and category rankings, new vs returning customers,
the province and terminal distributions, the funnel from enquiries to paid orders and the per-salesperson
ranking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from crm.dashboard.kanban.models import KanbanDimDay
from crm.dashboard.kanban.models import KanbanProductDay
from crm.dashboard.kanban.models import KanbanSalesDay
from crm.dashboard.kanban.queries import ZERO
from crm.dashboard.kanban.queries import Kanban
from crm.dashboard.kanban.queries import both
from crm.dashboard.kanban.queries import grain
from crm.dashboard.kanban.queries import in_window
from crm.dashboard.kanban.queries import pivot
from crm.dashboard.kanban.queries import scoped
from crm.dashboard.kanban.queries import which_window
from crm.enquiries.queries import Filters
from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from crm.sales.orders.models import TERMINAL_LABELS
from crm.sales.orders.models import Terminal

TOP = 10


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def trend(actor: User, filters: Filters) -> dict[str, Any]:
    """Amount and orders per day of the window, and of the previous window laid over it day by day (one
    statement: the two windows are adjacent)."""
    s = grain(KanbanSalesDay, actor, filters)
    now, prev = filters.window, filters.window.previous()
    rows = {d: (a, n) for d, a, n in db.session.execute(scoped(
        select(s.day, func.sum(s.amount), func.sum(s.orders)).where(in_window(s, both(now))), actor, s, filters)
        .group_by(s.day))}
    out: dict[str, Any] = {}
    for prefix, window in (("", now), ("previous_", prev)):
        days = window.dates()
        out[f"{prefix}days"] = [d.isoformat() for d in days]
        out[f"{prefix}amount"] = [_money(rows.get(d, (ZERO, 0))[0]) for d in days]
        out[f"{prefix}orders"] = [int(rows.get(d, (ZERO, 0))[1]) for d in days]
    return out


def products(actor: User, filters: Filters, *, by: str = "amount", top: int = TOP) -> list[dict[str, Any]]:
    """The top products of the window by amount or quantity (with their names: one statement)."""
    p = grain(KanbanProductDay, actor, filters)
    amount, quantity = func.sum(p.amount).label("amount"), func.sum(p.quantity).label("quantity")
    ranked = scoped(select(p.product_id, amount, quantity).where(in_window(p, filters.window)), actor, p, filters) \
        .group_by(p.product_id).order_by((quantity if by == "quantity" else amount).desc(), p.product_id) \
        .limit(top).subquery()
    rows = db.session.execute(select(ranked, Product.sku, Product.name)
                              .outerjoin(Product, Product.id == ranked.c.product_id)
                              .order_by((ranked.c.quantity if by == "quantity" else ranked.c.amount).desc(),
                                        ranked.c.product_id)).all()
    return [{"id": r.product_id, "sku": r.sku or "", "name": r.name if r.name is not None else f"#{r.product_id}",
             "amount": _money(r.amount), "quantity": int(r.quantity)} for r in rows]


def categories(actor: User, filters: Filters, *, by: str = "amount", top: int = TOP) -> list[dict[str, Any]]:
    """The top product categories of the window (a product's own category; none: "Uncategorised"), with
    their names: one statement."""
    p = grain(KanbanProductDay, actor, filters)
    amount, quantity = func.sum(p.amount).label("amount"), func.sum(p.quantity).label("quantity")
    ranked = scoped(select(Product.category_id, amount, quantity).join(Product, Product.id == p.product_id)
                    .where(in_window(p, filters.window)), actor, p, filters) \
        .group_by(Product.category_id).order_by((quantity if by == "quantity" else amount).desc()).limit(top).subquery()
    rows = db.session.execute(select(ranked, ProductCategory.name)
                              .outerjoin(ProductCategory, ProductCategory.id == ranked.c.category_id)
                              .order_by((ranked.c.quantity if by == "quantity" else ranked.c.amount).desc())).all()
    return [{"id": r.category_id, "name": r.name if r.category_id and r.name is not None else _("Uncategorised"),
             "amount": _money(r.amount), "quantity": int(r.quantity)} for r in rows]


DIMS = ("province", "terminal")


def distributions(actor: User, filters: Filters, dims: tuple[str, ...] = DIMS) -> dict[str, list[dict[str, Any]]]:
    """Orders and amount of the window per province (ranked) and per terminal: one statement."""
    d = grain(KanbanDimDay, actor, filters)
    stmt = scoped(select(d.dim, d.value, func.sum(d.orders).label("orders"), func.sum(d.amount).label("amount"))
                  .where(in_window(d, filters.window), d.dim.in_(dims)), actor, d, filters) \
        .group_by(d.dim, d.value).order_by(d.dim, func.sum(d.amount).desc(), d.value)
    out: dict[str, list[dict[str, Any]]] = {dim: [] for dim in dims}
    terminals = set(Terminal)
    for dim, value, orders, amount in db.session.execute(stmt):
        if not orders:
            continue
        if dim == "terminal":
            label = str(TERMINAL_LABELS.get(Terminal(value), value)) if value in terminals else value
        else:
            label = value or _("Unknown")
        out[dim].append({"value": value, "name": label, "orders": int(orders), "amount": _money(amount)})
    return out


def distribution(actor: User, filters: Filters, dim: str) -> list[dict[str, Any]]:
    """Orders and amount of the window per province (ranked) or per terminal."""
    return distributions(actor, filters, (dim,))[dim]


def salespeople(actor: User, filters: Filters, top: int | None = 50) -> list[dict[str, Any]]:
    """Per salesperson: amount, orders, average order value and returns of the window, the previous window's
    amount, ranked by amount (the first `top`; None: all, for the export). One statement: both windows
    (a FILTER each), the ranking and the names."""
    s = KanbanSalesDay
    w = which_window(s, filters.window)
    grouped = scoped(select(s.owner_id, w, func.sum(s.amount).label("amount"), func.sum(s.orders).label("orders"),
                            func.sum(s.returned).label("returned")).where(in_window(s, both(filters.window))),
                     actor, s, filters).group_by(s.owner_id, w).subquery()
    sums = pivot(grouped, {"amount": ZERO, "orders": 0, "returned": 0}, (grouped.c.owner_id,)) \
        .group_by(grouped.c.owner_id)
    amount, before = sums.selected_columns.amount_0, sums.selected_columns.amount_1
    orders, orders_before = sums.selected_columns.orders_0, sums.selected_columns.orders_1
    sums = sums.having(or_(orders != 0, orders_before != 0)).order_by(amount.desc(), before.desc(), grouped.c.owner_id)
    if top is not None:
        sums = sums.limit(top)
    ranked = sums.subquery()
    rows = []
    for r in db.session.execute(select(ranked, User.name).outerjoin(User, User.id == ranked.c.owner_id)):
        amount_now, n, prev = Decimal(r.amount_0 or 0), int(r.orders_0 or 0), Decimal(r.amount_1 or 0)
        rows.append({"id": r.owner_id, "name": r.name if r.name is not None else f"#{r.owner_id}",
                     "amount": _money(amount_now), "orders": n, "aov": _money(amount_now / n) if n else None,
                     "returned": int(r.returned_0 or 0), "previous_amount": _money(prev),
                     "change": str(((amount_now - prev) * 100 / prev).quantize(Decimal("0.1"))) if prev else None})
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
            "customers": customers_mix(k), **{f"{dim}s": rows for dim, rows in distributions(actor, f).items()},
            "funnel": funnel(k), "salespeople": salespeople(actor, f)}


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
