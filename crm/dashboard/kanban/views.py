"""The data kanban's pages: /kanban (cards, charts, the salesperson ranking, exports) and
/kanban/drill/<figure> (the list behind a figure, same filters, keyset pages). URL variable: `figure`
(a figure's key, not an id)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.tabular import MIMETYPES
from crm.core.web import attempt
from crm.core.web import download
from crm.dashboard.kanban import charts
from crm.dashboard.kanban import digest
from crm.dashboard.kanban import drill as drills
from crm.dashboard.kanban import queries
from crm.enquiries import queries as enquiry_queries

bp = Blueprint("kanban", __name__, template_folder="templates", url_prefix="/kanban")


def page_context(actor: Any, args: Any) -> dict[str, Any]:
    """Everything the kanban's cards and charts need (the home page shows the same)."""
    key, filters = queries.filters_of(args, actor)
    k = queries.kanban(actor, filters, key)
    by = "quantity" if args.get("by") == "quantity" else "amount"
    data = charts.everything(actor, k, by=by)
    data["labels"] = {"current": _("This window"), "previous": _("Previous window"), "amount": _("Amount"),
                      "orders": _("Orders"), "quantity": _("Quantity")}
    data["by"] = by
    return {"k": k, "window_key": key, "filters": filters, "windows": queries.WINDOWS, "chart": data, "by": by,
            "drillable": drills.FIGURES, **links(key, filters)}


def links(key: str, filters: Any) -> dict[str, str]:
    """The query string of the page's window and filters, built once for its ~75 links (drill-downs of the
    cards and of each salesperson, exports) instead of a `url_for` each."""
    w = filters.window
    args: list[tuple[str, Any]] = [("window", key), ("date_from", w.first.isoformat()), ("date_to", w.last.isoformat())]
    args += [("store_id", s) for s in filters.store_ids]
    if filters.department_id:
        args.append(("department_id", filters.department_id))
    query = urlencode(args)
    return {"query": query + (f"&user_id={filters.user_id}" if filters.user_id else ""), "query_but_user": query,
            "drill_base": url_for("kanban.drill", figure="orders").rsplit("/", 1)[0] + "/",
            "export_base": url_for("kanban.export")}


def filter_choices(actor: Any) -> dict[str, Any]:
    stores, departments = enquiry_queries.unit_choices(actor)
    return {"stores": stores, "departments": departments, "persons": queries.people_choices(actor)}


@bp.get("/")
@permission_required("kanban.view")
def index() -> Any:
    return render_template("kanban/index.html", **page_context(current_user, request.args),
                           **filter_choices(current_user), digest=digest.subscription(current_user),
                           frequencies=digest.FREQUENCIES)


@bp.get("/drill/<figure>")
@permission_required("kanban.view")
def drill(figure: str) -> Any:
    key, filters = queries.filters_of(request.args, current_user)
    d = drills.drill(current_user, filters, figure)
    if d is None:
        abort(404)
    page = d.page(request.args.get("cursor") or None, limit=50)
    label = queries.FIGURES[figure][0]
    return render_template("kanban/drill.html", d=d, page=page, total=d.count(), figure=figure, label=label,
                           definition=queries.FIGURES[figure][2], window_key=key, filters=filters)


@bp.post("/digest")
@permission_required("kanban.view")
def digest_subscribe() -> Any:
    def saved() -> Any:
        frequency = digest.subscribe({"frequency": request.form.get("frequency")}, actor=current_user)
        flash(_("Kanban e-mail: %(choice)s.", choice=digest.FREQUENCIES[frequency]), "success")
        return redirect(url_for("kanban.index"))

    def refused(exc: DomainError) -> Any:
        flash("; ".join(m for msgs in exc.errors.values() for m in msgs) or str(exc.message), "danger")
        return redirect(url_for("kanban.index"))

    return attempt(saved, refused)


@bp.get("/export")
@permission_required("kanban.view")
def export() -> Any:
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _("Choose CSV or Excel.")})
    table = request.args.get("table", "figures")
    if table not in charts.EXPORTS:
        raise ValidationFailed({"table": _("Choose one of the kanban's tables.")})
    key, filters = queries.filters_of(request.args, current_user)
    body, name = charts.export(current_user, queries.kanban(current_user, filters, key), table, fmt)
    return download(body, MIMETYPES[fmt], name)
