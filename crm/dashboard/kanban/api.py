"""/api/v1/kanban — the data kanban: every figure of DESIGN §10 with the previous window's value and the
change, the daily series, the rankings and distributions, and the list behind a figure. Same queries,
scopes and filters as the page: stores outside the caller's scope match nothing."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.dashboard.kanban import charts
from crm.dashboard.kanban import drill as drills
from crm.dashboard.kanban import queries
from crm.dashboard.kanban.schemas import DrillSchema
from crm.dashboard.kanban.schemas import KanbanFiltersQuerySchema
from crm.dashboard.kanban.schemas import KanbanRankingArgsSchema
from crm.dashboard.kanban.schemas import KanbanRankingsSchema
from crm.dashboard.kanban.schemas import KanbanSchema
from crm.dashboard.kanban.schemas import KanbanSeriesSchema

blp = ApiBlueprint("Data kanban", __name__, url_prefix="/api/v1/kanban",
                   description="The data kanban: figures against the previous window, series, rankings, drill-down.")


class DrillArgsSchema(KanbanFiltersQuerySchema, PageArgsSchema):
    pass


def _kanban(args: dict[str, Any]) -> queries.Kanban:
    raw = {"window": args.get("window"), "date_from": args.get("date_from"), "date_to": args.get("date_to"),
           "store_id": args.get("store_id") or [], "department_id": args.get("department_id"),
           "user_id": args.get("user_id")}
    key, filters = queries.filters_of(raw, current_user)
    return queries.kanban(current_user, filters, key)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@blp.route("", methods=["GET"])
@blp.requires("kanban.view")
@blp.arguments(KanbanFiltersQuerySchema, location="query")
@blp.response(200, KanbanSchema)
def figures(args: dict[str, Any]) -> Any:
    """Every figure of the window, the previous window's value and the change"""
    k = _kanban(args)
    w, p = k.filters.window, k.filters.window.previous()
    return {"window": {"first": w.first, "last": w.last}, "previous_window": {"first": p.first, "last": p.last},
            "figures": [{"key": f.key, "label": str(f.label), "kind": f.kind, "definition": str(f.definition),
                         "value": _str(f.value), "previous": _str(f.previous), "change": _str(f.change),
                         "numerator": f.parts[0] if f.parts else None, "denominator": f.parts[1] if f.parts else None}
                        for f in k.figures]}


@blp.route("/series", methods=["GET"])
@blp.requires("kanban.view")
@blp.arguments(KanbanFiltersQuerySchema, location="query")
@blp.response(200, KanbanSeriesSchema)
def series(args: dict[str, Any]) -> Any:
    """The daily sales of the window and of the previous one, new vs returning customers, the funnel"""
    k = _kanban(args)
    return {**charts.trend(current_user, k.filters), "customers": charts.customers_mix(k), "funnel": charts.funnel(k)}


@blp.route("/rankings", methods=["GET"])
@blp.requires("kanban.view")
@blp.arguments(KanbanRankingArgsSchema, location="query")
@blp.response(200, KanbanRankingsSchema)
def rankings(args: dict[str, Any]) -> Any:
    """Product and category rankings, the province and terminal distributions, the salesperson ranking"""
    k = _kanban(args)
    f, by, top = k.filters, args["by"], args["top"]
    return {"products": charts.products(current_user, f, by=by, top=top),
            "categories": charts.categories(current_user, f, by=by, top=top),
            "provinces": charts.distribution(current_user, f, "province"),
            "terminals": charts.distribution(current_user, f, "terminal"),
            "salespeople": charts.salespeople(current_user, f)}


@blp.route("/drill/<figure>", methods=["GET"])
@blp.requires("kanban.view")
@blp.arguments(DrillArgsSchema, location="query")
@blp.response(200, DrillSchema)
@blp.errors(404)
def drill(args: dict[str, Any], figure: str) -> Any:
    """The orders or customers behind a figure (keyset pages; `count` equals the figure)"""
    k = _kanban(args)
    d = drills.drill(current_user, k.filters, figure)
    if d is None:
        abort(404)
    page = d.page(args.get("cursor"), limit=args["limit"])
    if d.kind == "orders":
        items = [{"id": o.id, "number": o.number, "store_id": o.store_id, "owner_id": o.owner_id,
                  "customer_id": o.customer_id, "total": str(o.total), "signed_at": _str(o.signed_at and o.signed_at.isoformat()),
                  "rating": o.rating} for o in page.items]
    else:
        shown = page.extra["visible"]  # a customer since moved out of your scope: counted, not named
        items = [{"id": c.id, "name": c.name, "store_id": c.store_id, "owner_id": c.owner_id,
                  "created_at": c.created_at.isoformat()} if c.id in shown else
                 {"id": None, "name": None, "store_id": c.store_id, "owner_id": None,
                  "created_at": c.created_at.isoformat()} for c in page.items]
    return {"kind": d.kind, "count": d.count(), "items": items, "next_cursor": page.next_cursor}

