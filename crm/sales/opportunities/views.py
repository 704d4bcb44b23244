"""Opportunity pages: the kanban board of a pipeline (native HTML5 drag and drop plus a keyboard-usable
"move to stage" select; every move is saved and logged), create and edit, won/lost with a reason, funnel
and forecast per salesperson and store, and the pipeline settings for admins."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.audit import ids_in
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.objects import register_action_label
from crm.core.validation import as_id
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.blueprint import bp
from crm.sales.catalog.models import Product
from crm.sales.history import history
from crm.sales.history import readable_history
from crm.sales.opportunities import queries as opportunity_queries
from crm.sales.opportunities import services as opportunity_services
from crm.sales.opportunities.models import OPPORTUNITY_STATUS_LABELS
from crm.sales.opportunities.models import Pipeline
from crm.sales.quotes.models import QUOTE_STATUS_LABELS
from crm.sales.quotes.models import Quote

for _name, _label in {"stage_moved": _l("Moved to another stage"), "closed_won": _l("Closed as won"),
                      "closed_lost": _l("Closed as lost"), "reopened": _l("Reopened")}.items():
    register_action_label(_name, _label)

STAGE_ROWS = 8
FIELD_LABELS = {"store_id": _l("Store"), "owner_id": _l("Salesperson"), "customer_id": _l("Customer"),
                "pipeline_id": _l("Pipeline"), "stage_id": _l("Stage"), "position": _l("Position in the stage"),
                "name": _l("Name"), "amount": _l("Amount"), "expected_close": _l("Expected close"),
                "status": _l("Status"), "close_reason": _l("Reason"), "closed_at": _l("Closed"),
                "created_by_id": _l("Created by"), "products": _l("Products"), "member_ids": _l("Team"),
                "from": _l("From stage"), "to": _l("To stage")}  # from/to: the details of a stage move
_STAGE_REFS = frozenset({"stage_id", "from", "to"})


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _pipeline(raw: Any) -> Pipeline | None:
    items = opportunity_queries.pipelines(current_user)
    if raw:
        return next((p for p in items if p.id == as_id(raw)), None) or abort(404)
    return items[0] if items else None


@bp.route("/opportunities/")
@permission_required("opportunity.view")
def opportunities() -> Any:
    pipeline = _pipeline(request.args.get("pipeline_id"))
    columns = opportunity_queries.board(pipeline, current_user) if pipeline else []
    return render_template("sales/opportunity_board.html", pipeline=pipeline, columns=columns,
                           pipelines=opportunity_queries.pipelines(current_user))


@bp.route("/opportunities/<int:opportunity_id>/move", methods=["POST"])
@permission_required("opportunity.edit")
def opportunity_move(opportunity_id: int) -> Any:
    try:
        opp = opportunity_services.move_stage(opportunity_id, request.form.get("stage_id"), actor=current_user,
                                              lock_version=request.form.get("lock_version"),
                                              position=request.form.get("position"))
    except DomainError as exc:
        forget_refused_write(exc)
        if exc.status == 404:
            abort(404)
        message = str(exc.message) if not isinstance(exc, ValidationFailed) else " ".join(
            m for ms in exc.errors.values() for m in ms)
        if _wants_json():
            return jsonify({"ok": False, "message": message}), exc.status
        flash(message, "danger")
        return redirect(url_for("sales.opportunities", pipeline_id=request.form.get("pipeline_id") or None), code=303)
    if _wants_json():
        return jsonify({"ok": True, "stage_id": opp.stage_id, "lock_version": opp.lock_version,
                        "message": _("%(name)s moved to %(stage)s.", name=opp.name, stage=opp.stage.name)})
    flash(_("%(name)s moved to %(stage)s.", name=opp.name, stage=opp.stage.name), "success")
    return redirect(url_for("sales.opportunities", pipeline_id=opp.pipeline_id), code=303)


def _choices() -> dict[str, Any]:
    customers = db.session.execute(visible(select(Customer.id, Customer.name), current_user, Customer)
                                   .order_by(Customer.name, Customer.id).limit(500)).all()
    products = db.session.execute(select(Product.id, Product.name, Product.sku).where(Product.on_shelf)
                                  .order_by(Product.name)).all()
    return {"customers": [(c.id, c.name) for c in customers],
            "products": [(p.id, f"{p.name} · {p.sku}") for p in products],
            "pipelines": opportunity_queries.pipelines(current_user)}


def _form_data() -> dict[str, Any]:
    form = request.form
    products = [{"product_id": form.get(f"products-{i}-product_id"), "quantity": form.get(f"products-{i}-quantity") or 1}
                for i in range(5) if form.get(f"products-{i}-product_id")]
    return {"name": form.get("name", ""), "amount": form.get("amount", ""),
            "expected_close": form.get("expected_close", ""), "products": products,
            "member_ids": form.getlist("member_ids"), "customer_id": form.get("customer_id"),
            "pipeline_id": form.get("pipeline_id"), "stage_id": form.get("stage_id")}


def _team_choices(store_id: int | None) -> list[tuple[int, str]]:
    if store_id is None:
        return []
    rows = db.session.execute(select(User.id, User.name).where(User.active).order_by(User.name)).all()
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r.id for r in rows])))}
    return [(r.id, r.name) for r in rows if users[r.id].store_id == store_id]


@bp.route("/opportunities/new", methods=["GET", "POST"])
@permission_required("opportunity.edit")
def opportunity_new() -> Any:
    if request.method == "GET":
        form = {"customer_id": request.args.get("customer_id", ""), "pipeline_id": request.args.get("pipeline_id", "")}
        return render_template("sales/opportunity_form.html", opp=None, form=form, errors={},
                               team=_team_choices(current_user.store_id), **_choices())
    data = _form_data()
    try:
        opp = opportunity_services.create_opportunity(data, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return render_template("sales/opportunity_form.html", opp=None, form=data, errors=exc.errors,
                               team=_team_choices(current_user.store_id), **_choices()), 422
    flash(_("The opportunity %(name)s was created.", name=opp.name), "success")
    return redirect(url_for("sales.opportunity_detail", opportunity_id=opp.id), code=303)


@bp.route("/opportunities/<int:opportunity_id>", methods=["GET", "POST"])
@permission_required("opportunity.view")
def opportunity_detail(opportunity_id: int) -> Any:
    opp = opportunity_services.get_opportunity(opportunity_id, current_user)
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        if not current_user.can("opportunity.edit"):
            abort(403)
        data = _form_data()
        data = {k: data[k] for k in ("name", "amount", "expected_close", "products", "member_ids")}
        try:
            opportunity_services.update_opportunity(opportunity_id, data, actor=current_user,
                                                    lock_version=request.form.get("lock_version"))
            flash(_("The opportunity was saved."), "success")
            return redirect(url_for("sales.opportunity_detail", opportunity_id=opportunity_id), code=303)
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors, status = exc.errors, 422
        except DomainError as exc:
            forget_refused_write(exc)
            errors, status = {"_form": [str(exc.message)]}, exc.status
        opp = opportunity_services.get_opportunity(opportunity_id, current_user)
    quotes = db.session.scalars(visible(select(Quote).where(Quote.opportunity_id == opp.id), current_user, Quote)
                                .order_by(Quote.id)).all()
    return render_template("sales/opportunity_detail.html", opp=opp, errors=errors, status_labels=OPPORTUNITY_STATUS_LABELS,
                           quotes=quotes, quote_status_labels=QUOTE_STATUS_LABELS,
                           entries=_history(opp), field_labels=FIELD_LABELS, team=_team_choices(opp.store_id),
                           **_choices()), status


def _history(opp: Any) -> list[dict[str, Any]]:
    """The opportunity's history with its pipeline and stages by name and its status by label."""
    entries = history("opportunity", opp)
    stages = name_of(opportunity_queries.stage_names(opp, ids_in(entries, _STAGE_REFS)))
    return readable_history(entries, opp, {
        "status": label_of(OPPORTUNITY_STATUS_LABELS), **dict.fromkeys(_STAGE_REFS, stages),
        "pipeline_id": name_of(opportunity_queries.pipeline_names(opp, ids_in(entries, {"pipeline_id"}))),
    })


@bp.route("/opportunities/<int:opportunity_id>/close", methods=["POST"])
@permission_required("opportunity.edit")
def opportunity_close(opportunity_id: int) -> Any:
    try:
        if request.form.get("outcome") == "reopen":
            opportunity_services.reopen_opportunity(opportunity_id, actor=current_user)
        else:
            opportunity_services.close_opportunity(opportunity_id, request.form.get("outcome", ""),
                                                   request.form.get("reason"), actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    return redirect(url_for("sales.opportunity_detail", opportunity_id=opportunity_id), code=303)


@bp.route("/opportunities/forecast")
@permission_required("opportunity.view")
def opportunity_forecast() -> Any:
    pipeline = _pipeline(request.args.get("pipeline_id"))
    return render_template("sales/opportunity_forecast.html", pipeline=pipeline,
                           pipelines=opportunity_queries.pipelines(current_user),
                           columns=opportunity_queries.board(pipeline, current_user) if pipeline else [],
                           by_owner=opportunity_queries.forecast(current_user, by="owner",
                                                                 pipeline_id=pipeline.id if pipeline else None),
                           by_store=opportunity_queries.forecast(current_user, by="store",
                                                                 pipeline_id=pipeline.id if pipeline else None))


# Pipeline settings --------------------------------------------------------------------------------------------
def _stores() -> list[tuple[int, str]]:
    ids = scope_context(current_user).selectable_stores()
    return [(u.id, u.name) for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.name))]


def _stage_rows() -> list[dict[str, Any]]:
    return [{"id": request.form.get(f"stages-{i}-id"), "name": request.form.get(f"stages-{i}-name", ""),
             "win_rate": request.form.get(f"stages-{i}-win_rate", "")} for i in range(STAGE_ROWS)]


@bp.route("/opportunities/pipelines", methods=["GET", "POST"])
@permission_required("pipeline.manage")
def pipelines() -> Any:
    return _pipeline_form(None)


@bp.route("/opportunities/pipelines/<int:pipeline_id>", methods=["GET", "POST"])
@permission_required("pipeline.manage")
def pipeline_edit(pipeline_id: int) -> Any:
    return _pipeline_form(get_visible(Pipeline, pipeline_id, current_user))


def _pipeline_form(pipeline: Pipeline | None) -> Any:
    errors: dict[str, Any] = {}
    if request.method == "POST":
        data = {"name": request.form.get("name", ""), "store_id": request.form.get("store_id"),
                "stages": _stage_rows()}
        try:
            saved = opportunity_services.save_pipeline(pipeline.id if pipeline else None, data, actor=current_user)
            flash(_("The pipeline %(name)s was saved.", name=saved.name), "success")
            return redirect(url_for("sales.pipeline_edit", pipeline_id=saved.id), code=303)
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
    stages = [{"id": s.id, "name": s.name, "win_rate": f"{s.win_rate * 100:.2f}".rstrip("0").rstrip(".")}
              for s in (pipeline.stages if pipeline else []) if s.active]
    if request.method == "POST":
        stages = _stage_rows()
    stages = stages + [{} for _i in range(STAGE_ROWS - len(stages))]
    return render_template("sales/pipelines.html", pipeline=pipeline, stages=stages[:STAGE_ROWS], errors=errors,
                           pipelines=opportunity_queries.pipelines(current_user, active_only=False),
                           stores=_stores(), form=request.form if request.method == "POST" else {}), 422 if errors else 200
