"""Lead pages: the list (mine, the store's pool, all in scope), new lead, a lead with claim / transfer /
status / convert, the set-up of web forms and assignment rules, and the public web form (blueprint
`lead_forms`, no sign-in, no CSRF cookie: token-identified, honeypot, rate-limited)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.customers.leads import services
from crm.customers.models import LEAD_STATUS_LABELS
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.customers.models import LeadWebForm
from crm.customers.services import DuplicateCustomer
from crm.customers.views.common import bp
from crm.customers.views.common import form_values
from crm.customers.views.common import kind_choices
from crm.customers.views.common import people_choices
from crm.customers.views.common import platform_choices
from crm.customers.views.common import store_choices
from crm.extensions import db

public = Blueprint("lead_forms", "crm.customers", template_folder="templates", url_prefix="/f")


@bp.route("/leads", strict_slashes=False)
@permission_required("customer.view")
def leads() -> Any:
    view = request.args.get("view", "mine")
    view = view if view in ("mine", "pool", "all") else "mine"
    status = request.args.get("status", "")
    page = services.list_leads(current_user, view=view, status=status, cursor=request.args.get("cursor") or None,
                               limit=current_app.config["PAGE_SIZE"])
    return render_template("customers/leads.html", page=page, view=view, status=status,
                           statuses=[(k.value, str(v)) for k, v in LEAD_STATUS_LABELS.items()])


@bp.route("/leads/export")
@permission_required("customer.export")
def lead_export() -> Any:
    from flask import Response

    from crm.core.clock import utcnow
    from crm.core.tabular import write_table

    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    view = request.args.get("view", "mine")
    view = view if view in ("mine", "pool", "all") else "mine"
    rows = services.export_rows(current_user, view=view, status=request.args.get("status", ""))
    body = write_table([str(label) for _k, label in services.LEAD_EXPORT], rows, fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="leads-{utcnow():%Y%m%d-%H%M}.{fmt}"'})


def _render_new(form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    return render_template("customers/lead_form.html", form=form, errors=errors, platform_choices=platform_choices(),
                           stores=store_choices() if current_user.store_id is None else []), status


@bp.route("/leads/new", methods=["GET", "POST"])
@permission_required("customer.create")
def lead_new() -> Any:
    if request.method == "GET":
        return _render_new({}, {})
    form = form_values()
    try:
        lead = services.create_lead(form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_new(form, exc.errors, 422)
    flash(_("The lead %(name)s was saved.", name=lead.name), "success")
    from crm.customers import services as customer_services

    for existing in customer_services.find_duplicates(lead.store_id, lead.mobile_norm, lead.chat_id_norm)[:3]:
        flash(_("A customer with this mobile number or WeChat ID already exists: %(who)s.",
                who=customer_services.describe(existing, current_user)), "warning")
    return redirect(url_for("customers.lead_detail", lead_id=lead.id))


@bp.route("/leads/duplicates")
@permission_required("customer.create")
def lead_duplicates() -> Any:
    """While a lead is typed: the customers of the store that already have this mobile number or WeChat ID,
    described as much as the actor may know (the customer form's rule, `services.describe`)."""
    from crm.auth.scopes import scope_context
    from crm.core.validation import as_id
    from crm.core.validation import normalise_mobile
    from crm.customers import services as customer_services

    store_id = current_user.store_id or as_id(request.args.get("store_id"))
    if not store_id or store_id not in scope_context(current_user).selectable_stores() + [current_user.store_id]:
        return jsonify({"duplicates": []})
    found = customer_services.find_duplicates(store_id, normalise_mobile(request.args.get("mobile")) or None,
                                              customer_services.normalise_chat_id(request.args.get("chat_id")) or None)
    return jsonify({"duplicates": [
        {"text": customer_services.describe(c, current_user),
         "url": url_for("customers.detail", customer_id=c.id) if customer_services.can_see(c, current_user) else None}
        for c in found[:5]]})


@bp.route("/leads/<int:lead_id>", methods=["GET", "POST"])
@permission_required("customer.view")
def lead_detail(lead_id: int) -> Any:
    lead = get_visible(Lead, lead_id, current_user)
    errors: dict[str, list[str]] = {}
    duplicates: list[int] = []
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "convert":
                customer = services.convert(lead, actor=current_user)
                flash(_("The lead became the customer %(name)s.", name=customer.name), "success")
                return redirect(url_for("customers.detail", customer_id=customer.id))
            if action == "claim":
                services.transfer_leads([lead], current_user.id, actor=current_user)
                flash(_("The lead is yours."), "success")
            elif action == "transfer":
                services.transfer_leads([lead], request.form.get("to_user_id"), actor=current_user)
                flash(_("The lead was transferred."), "success")
            elif action == "follow_up":
                services.record_follow_up(lead, form_values(), actor=current_user)
                flash(_("The follow-up was recorded."), "success")
            elif action == "status":
                services.set_status(lead, request.form.get("status"), actor=current_user)
                flash(_("The lead was updated."), "success")
            return redirect(url_for("customers.lead_detail", lead_id=lead.id))
        except DuplicateCustomer as exc:
            forget_refused_write(exc)
            errors, duplicates = exc.errors, exc.visible_ids
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
        except DomainError as exc:
            if exc.status == 404:
                raise
            forget_refused_write(exc)
            flash(str(exc.message), "danger")
            return redirect(url_for("customers.lead_detail", lead_id=lead_id))
        lead = get_visible(Lead, lead_id, current_user)
    return render_template("customers/lead_detail.html", lead=lead, errors=errors, duplicates=duplicates,
                           follow_ups=services.lead_follow_ups(lead), kind_choices=kind_choices(),
                           form=form_values() if errors else {},
                           people=people_choices(lead.store_id, owners=True),
                           statuses=[(k.value, str(v)) for k, v in LEAD_STATUS_LABELS.items() if k.value != "converted"]
                           ), 422 if errors else 200


def _rule_form() -> dict[str, Any]:
    data: dict[str, Any] = {k: request.form.get(k) for k in ("name", "priority", "provinces", "daily_capacity")}
    data["platforms"] = request.form.getlist("platforms")
    data["member_ids"] = request.form.getlist("member_ids")
    return data


@bp.route("/leads/setup", methods=["GET", "POST"])
@permission_required("lead.manage")
def lead_setup() -> Any:
    stores = store_choices()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.form.get("what") == "form":
                store_id = services.setup_store(current_user, request.form.get("store_id"))
                services.create_web_form(store_id, request.form.get("name"), actor=current_user)
                flash(_("The web form was created; embed it with the code shown."), "success")
            else:
                services.save_rule(request.form.get("store_id"), _rule_form(), actor=current_user)
                flash(_("The assignment rule was saved."), "success")
            return redirect(url_for("customers.lead_setup"))
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
    forms = list(db.session.scalars(visible(select(LeadWebForm), current_user, LeadWebForm).order_by(LeadWebForm.id)))
    people = people_choices(owners=True)
    return render_template("customers/lead_setup.html", forms=forms, rules=services.list_rules(current_user),
                           stores=stores, errors=errors, people=people, platform_choices=platform_choices(),
                           people_names=dict(people), store_names=dict(stores)), 422 if errors else 200


@bp.route("/leads/setup/rules/<int:rule_id>", methods=["GET", "POST"])
@permission_required("lead.manage")
def lead_rule_edit(rule_id: int) -> Any:
    """Edit a rule (its store stays); the page also offers deactivating and deleting it."""
    rule = get_visible(LeadAssignmentRule, rule_id, current_user)
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {"name": rule.name, "priority": rule.priority, "daily_capacity": rule.daily_capacity,
                            "provinces": ", ".join(rule.provinces or []), "platforms": rule.platforms or [],
                            "member_ids": rule.member_ids or []}
    if request.method == "POST":
        form = _rule_form()
        try:
            services.save_rule(rule.store_id, form, actor=current_user, rule=rule)
            flash(_("The assignment rule was saved."), "success")
            return redirect(url_for("customers.lead_setup"))
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
        rule = get_visible(LeadAssignmentRule, rule_id, current_user)
    stores = dict(store_choices())
    return render_template("customers/lead_rule.html", rule=rule, form=form, errors=errors,
                           store_name=stores.get(rule.store_id, ""), people=people_choices(rule.store_id, owners=True),
                           platform_choices=platform_choices()), 422 if errors else 200


@bp.route("/leads/setup/rules/<int:rule_id>/active", methods=["POST"])
@permission_required("lead.manage")
def lead_rule_active(rule_id: int) -> Any:
    rule = get_visible(LeadAssignmentRule, rule_id, current_user)
    active = request.form.get("active") == "1"
    services.set_rule_active(rule, active, actor=current_user)
    if active:
        flash(_("The rule %(name)s is active again.", name=rule.name), "success")
    else:
        flash(_("The rule %(name)s is off: new pool leads skip it.", name=rule.name), "success")
    return redirect(url_for("customers.lead_setup"))


@bp.route("/leads/setup/rules/<int:rule_id>/delete", methods=["POST"])
@permission_required("lead.manage")
def lead_rule_delete(rule_id: int) -> Any:
    """First post: the confirmation page; the second (confirm=yes) deletes."""
    rule = get_visible(LeadAssignmentRule, rule_id, current_user)
    if request.form.get("confirm") != "yes":
        return render_template("customers/lead_rule_delete.html", rule=rule,
                               store_name=dict(store_choices()).get(rule.store_id, ""))
    name = rule.name
    services.delete_rule(rule, actor=current_user)
    flash(_("The rule %(name)s was deleted. Leads it assigned keep their owners.", name=name), "success")
    return redirect(url_for("customers.lead_setup"))


# The public form ----------------------------------------------------------------------------------------------
@public.route("/<token>", methods=["GET", "POST"])
def web_form(token: str) -> Any:
    form = services.form_by_token(token)
    if request.method == "GET":
        return render_template("customers/public_form.html", form=form, values={}, errors={}, sent=False)
    values = {k: request.form.get(k, "") for k in ("name", "company", "mobile", "chat_id", "email", "province",
                                                   "city", "message", "website")}
    try:
        services.submit_web_form(token, values, request.remote_addr)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return render_template("customers/public_form.html", form=form, values=values, errors=exc.errors,
                               sent=False, problem=str(exc.message)), 422
    return render_template("customers/public_form.html", form=form, values={}, errors={}, sent=True)
