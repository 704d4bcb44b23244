"""The customer list (filters, sorts, columns, saved views, bulk actions, export), create, detail, edit,
contacts, team, transfer, lock, release to the pool and merge."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.auth.scopes import visible
from crm.core import saved_views
from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.saved_views import views as saved_view_pages
from crm.core.web import download
from crm.core.web import forget_refused_write
from crm.core.web import safe_next
from crm.customers import exports
from crm.customers import queries
from crm.customers import services
from crm.customers.models import TEAM_ACCESS_LABELS
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.models import Lead
from crm.customers.services import follow_ups as follow_up_services
from crm.customers.services import merge as merge_services
from crm.customers.views.common import FIELD_LABELS
from crm.customers.views.common import Errors
from crm.customers.views.common import bp
from crm.customers.views.common import form_values
from crm.customers.views.common import intention_choices
from crm.customers.views.common import kind_choices
from crm.customers.views.common import level_choices
from crm.customers.views.common import load
from crm.customers.views.common import people_choices
from crm.customers.views.common import platform_choices
from crm.customers.views.common import readable_timeline
from crm.customers.views.common import store_choices
from crm.customers.views.common import visible_customers
from crm.extensions import db

LIST_KEY = "customers"


def _filters_or_errors(args: Any) -> tuple[queries.CustomerFilters, Errors]:
    try:
        return queries.parse_filters(args), {}
    except ValidationFailed as exc:
        return queries.CustomerFilters(), exc.errors


def _columns(args: Any) -> list[str]:
    chosen = [c for c in args.getlist("cols") if c in queries.COLUMNS]
    return chosen or list(queries.DEFAULT_COLUMNS)


# The list ---------------------------------------------------------------------------------------------------
@bp.route("", strict_slashes=False)  # /customers/ too, like the other lists
@permission_required("customer.view")
def index() -> Any:
    args = request.args
    view, opening = saved_view_pages.open_view(LIST_KEY, "customers.index", current_user)
    if opening is not None:  # opening a saved view: its filters and columns
        return opening
    filters, errors = _filters_or_errors(args)
    page = queries.list_customers(current_user, filters, args.get("cursor") or None, current_app.config["PAGE_SIZE"]) \
        if not errors else None
    count = queries.capped_count(current_user, filters) if not errors else (0, False)
    status = 422 if errors else 200
    columns = _columns(args)
    return render_template(
        "customers/list.html", page=page, filters=filters, errors=errors, count=count, view=view,
        columns=columns, extra_cols=queries.extra_column_values(columns, page.items if page else []),
        all_columns=queries.COLUMNS, sort_labels=queries.SORT_LABELS,
        level_choices=level_choices(), intention_choices=intention_choices(), platform_choices=platform_choices(),
        people=people_choices(owners=True), stores=store_choices(), views=saved_views.views_of(LIST_KEY, current_user),
        team_access=[(k.value, str(v)) for k, v in TEAM_ACCESS_LABELS.items()],
        query_without=lambda *keys: [(k, v) for k, v in args.items(multi=True) if k not in keys],
        cap=queries.COUNT_CAP, short_dt=short_dt, overdue=overdue,
    ), status


def overdue(value: Any) -> bool:
    """A next follow-up date already past (the list shows it in red)."""
    if value is None:
        return False
    now = utcnow()
    return bool((value if value.tzinfo else value.replace(tzinfo=now.tzinfo)) < now)


def short_dt(value: Any) -> str:
    """A cheap local date and time for list cells (Babel's formatter costs ~0.2 ms a cell)."""
    if value is None:
        return "—"
    return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")


# Saved views: POST /customers/views and /customers/views/<view_id>/delete (crm/core/saved_views).
saved_view_pages.add_routes(bp, LIST_KEY, "customers.index", permission_required("customer.view"), lambda: current_user)


@bp.route("/export")
@permission_required("customer.export")
def export() -> Any:
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _("Choose CSV or Excel.")})
    filters = queries.parse_filters(request.args)
    filters.ids = [int(i) for i in request.args.getlist("ids") if i.isdigit() and 0 < int(i) < 2**31][:5000]
    body = exports.export(queries.iter_customers(current_user, filters), fmt)
    name = f"customers-{utcnow():%Y%m%d-%H%M}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return download(body, mimetype, name)


@bp.route("/bulk", methods=["POST"])
@permission_required("customer.view")
def bulk() -> Any:
    form = request.form
    action = form.get("action", "")
    ids = form.getlist("ids")
    # `back` is the list's query string; a CR/LF or anything but a local path falls back to the list.
    back = safe_next(url_for("customers.index") + ("?" + form["back"] if form.get("back", "").strip() else ""),
                     url_for("customers.index"))
    customers = visible_customers(ids)
    if not customers:
        flash(_("Select at least one customer."), "warning")
        return redirect(back)
    if action == "export":
        if not current_user.can("customer.export"):
            raise PermissionDenied()
        fmt = form.get("format") if form.get("format") in ("csv", "xlsx") else "xlsx"
        return redirect(url_for("customers.export", format=fmt, ids=[c.id for c in customers]))
    try:
        if action == "transfer":
            n = services.transfer(customers, form.get("to_user_id"), actor=current_user,
                                  with_contacts=True, keep_old_owner=bool(form.get("keep_old_owner")),
                                  reason=form.get("reason", ""))
            flash(_("%(n)d customers transferred.", n=n), "success")
        elif action == "team":
            for c in customers:
                services.add_team_member(c, form.get("to_user_id"), form.get("access") or "read",
                                         form.get("expires_at"), actor=current_user)
            flash(_("Added to the team of %(n)d customers.", n=len(customers)), "success")
        elif action == "pool":
            n = services.release_to_pool(customers, form.get("reason", ""), actor=current_user)
            flash(_("%(n)d customers released to the high seas.", n=n), "success")
        else:
            flash(_("Choose an action."), "warning")
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write(exc)
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs) or str(exc.message), "danger")
    return redirect(back)


# Create and edit --------------------------------------------------------------------------------------------
def _render_form(customer: Customer | None, form: dict[str, Any], errors: Errors, status: int = 200,
                 duplicates: list[int] | None = None) -> Any:
    return render_template(
        "customers/form.html", customer=customer, form=form, errors=errors, duplicates=duplicates or [],
        level_choices=level_choices(), intention_choices=intention_choices(), platform_choices=platform_choices(),
        stores=store_choices() if current_user.store_id is None else [],
        people=people_choices(current_user.store_id, owners=True) if current_user.store_id else [],
    ), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required("customer.create")
def new() -> Any:
    if request.method == "GET":
        return _render_form(None, {"owner_id": current_user.id if current_user.store_id else ""}, {})
    form = form_values()
    try:
        customer = services.create_customer(form, actor=current_user)
    except services.DuplicateCustomer as exc:
        forget_refused_write(exc)
        return _render_form(None, form, exc.errors, 422, exc.visible_ids)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(None, form, exc.errors, 422)
    flash(_("The customer %(name)s was created.", name=customer.name), "success")
    return redirect(url_for("customers.detail", customer_id=customer.id))


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@permission_required("customer.edit")
def edit(customer_id: int) -> Any:
    customer = load(customer_id)
    services.check_edit(customer, current_user)
    if request.method == "GET":
        form = {f: getattr(customer, f) or "" for f in services.PROFILE_FIELDS}
        form["level"] = customer.level.value if customer.level else ""
        form["intention"] = customer.intention.value if customer.intention else ""
        form["tags"] = ", ".join(customer.tags or [])
        form["lock_version"] = customer.lock_version
        return _render_form(customer, form, {})
    form = form_values()
    try:
        services.update_customer(customer, form, actor=current_user, lock_version=form.get("lock_version"))
    except services.DuplicateCustomer as exc:
        forget_refused_write(exc)
        return _render_form(customer, form, exc.errors, 422, exc.visible_ids)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(customer, form, exc.errors, 422)
    except Conflict as exc:
        forget_refused_write(exc)
        customer = load(customer_id)
        return _render_form(customer, form, {"_conflict": [str(exc.message)]}, 409)
    flash(_("The changes to %(name)s were saved.", name=customer.name), "success")
    return redirect(url_for("customers.detail", customer_id=customer.id))


# Detail -----------------------------------------------------------------------------------------------------
def _render_detail(customer: Customer, errors: Errors | None = None, form: dict[str, Any] | None = None,
                   status: int = 200, tab: str = "follow_ups") -> Any:
    contacts = list(db.session.scalars(db.select(Contact).where(Contact.customer_id == customer.id)
                                       .order_by(Contact.is_primary.desc(), Contact.id)))
    return render_template(
        "customers/detail.html", customer=customer, contacts=contacts,
        follow_ups=follow_up_services.follow_ups(customer), team=services.team(customer),
        timeline_entries=readable_timeline(customer), field_labels=FIELD_LABELS,
        can_edit=services.can_edit(customer, current_user),
        can_manage=services.can_manage(customer, current_user),
        people=people_choices(customer.store_id), owners=people_choices(customer.store_id, owners=True),
        kind_choices=kind_choices(),
        team_access=[(k.value, str(v)) for k, v in TEAM_ACCESS_LABELS.items()],
        errors=errors or {}, form=form or {}, tab=tab, sections=queries.customer_sections(customer),
        leads=list(db.session.scalars(visible(select(Lead).where(Lead.converted_customer_id == customer.id),
                                              current_user, Lead))),
    ), status


@bp.route("/<int:customer_id>")
@permission_required("customer.view")
def detail(customer_id: int) -> Any:
    return _render_detail(load(customer_id))


def _action(customer_id: int, step: Any, success: str, tab: str = "follow_ups") -> Any:
    customer = load(customer_id)
    try:
        step(customer)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        customer = load(customer_id)
        return _render_detail(customer, exc.errors, form_values(), 422, tab)
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("customers.detail", customer_id=customer_id))
    flash(success, "success")
    return redirect(url_for("customers.detail", customer_id=customer_id, tab=tab) + f"#{tab}")


@bp.route("/<int:customer_id>/contacts", methods=["POST"])
@permission_required("customer.edit")
def contact_add(customer_id: int) -> Any:
    return _action(customer_id, lambda c: services.add_contact(c, form_values(), actor=current_user),
                   _("The contact was added."), "contacts")


@bp.route("/<int:customer_id>/contacts/<int:contact_id>", methods=["POST"])
@permission_required("customer.edit")
def contact_edit(customer_id: int, contact_id: int) -> Any:
    def step(c: Customer) -> None:
        contact = services.get_contact(c, contact_id)
        services.update_contact(c, contact, form_values(), actor=current_user)

    return _action(customer_id, step, _("The contact was saved."), "contacts")


@bp.route("/<int:customer_id>/contacts/<int:contact_id>/delete", methods=["POST"])
@permission_required("customer.edit")
def contact_delete(customer_id: int, contact_id: int) -> Any:
    def step(c: Customer) -> None:
        services.delete_contact(c, services.get_contact(c, contact_id), actor=current_user)

    return _action(customer_id, step, _("The contact was removed."), "contacts")


@bp.route("/<int:customer_id>/team", methods=["POST"])
@permission_required("customer.edit")
def team_add(customer_id: int) -> Any:
    f = request.form
    return _action(customer_id, lambda c: services.add_team_member(c, f.get("user_id"), f.get("access"),
                                                                   f.get("expires_at"), actor=current_user),
                   _("The team was updated."), "team")


@bp.route("/<int:customer_id>/team/<int:user_id>/remove", methods=["POST"])
@permission_required("customer.view")
def team_remove(customer_id: int, user_id: int) -> Any:
    return _action(customer_id, lambda c: services.remove_team_member(c, user_id, actor=current_user),
                   _("The team member was removed."), "team")


@bp.route("/<int:customer_id>/transfer", methods=["POST"])
@permission_required("customer.transfer")
def transfer(customer_id: int) -> Any:
    f = request.form
    return _action(customer_id, lambda c: services.transfer(
        [c], f.get("to_user_id"), actor=current_user, with_contacts=bool(f.get("with_contacts")),
        keep_old_owner=bool(f.get("keep_old_owner")), reason=f.get("reason", "")), _("The customer was transferred."),
        "team")


@bp.route("/<int:customer_id>/lock", methods=["POST"])
@permission_required("customer.lock")
def lock(customer_id: int) -> Any:
    locked = request.form.get("locked") == "1"
    return _action(customer_id, lambda c: services.set_locked(c, locked, actor=current_user,
                                                              lock_version=request.form.get("lock_version")),
                   _("The customer is locked.") if locked else _("The customer is unlocked."))


@bp.route("/<int:customer_id>/release", methods=["POST"])
@login_required
def release(customer_id: int) -> Any:
    """Release to the high seas: a holder of `customer.transfer` any customer they manage, a holder of
    `customer.release` their own. The customer usually leaves the actor's view with its owner, so the
    page after it is the store's pool (where it now is), or the customer list, never a page that 404s."""
    if not (current_user.can("customer.transfer") or current_user.can("customer.release")):
        raise PermissionDenied()
    customer = load(customer_id)
    name, store_id = customer.name, customer.store_id
    response = _action(customer_id, lambda c: services.release_to_pool([c], request.form.get("reason", ""),
                                                                       actor=current_user),
                       _("%(name)s was released to the high seas.", name=name))
    if not isinstance(response, Response) or response.status_code != 302 or "#" not in (response.location or ""):
        return response  # refused: the customer's page with the error
    if services.can_see(customer, current_user):
        return response
    if current_user.can("highseas.view") and "highseas.pool" in current_app.view_functions:
        return redirect(url_for("highseas.pool", store_id=store_id), code=303)
    return redirect(url_for("customers.index"), code=303)


@bp.route("/<int:customer_id>/merge", methods=["GET", "POST"])
@permission_required("customer.merge")
def merge(customer_id: int) -> Any:
    target = load(customer_id)
    candidates = [c for c in services.find_duplicates(target.store_id, target.mobile_norm, target.chat_id_norm,
                                                      exclude_id=target.id) if services.can_see(c, current_user)]
    errors: Errors = {}
    if request.method == "POST":
        try:
            source = load(int(request.form.get("source_id") or 0)) if (request.form.get("source_id") or "").isdigit() \
                else None
            if source is None:
                raise ValidationFailed({"source_id": _("Choose the customer to merge into this one.")})
            merge_services.merge(source, target, actor=current_user, target_version=request.form.get("lock_version"))
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
        except DomainError as exc:
            if exc.status == 404:
                errors = {"source_id": [_("Choose the customer to merge into this one.")]}
            else:
                raise
        else:
            flash(_("The customers were merged; %(name)s keeps the history of both.", name=target.name), "success")
            return redirect(url_for("customers.detail", customer_id=target.id))
    return render_template("customers/merge.html", customer=target, candidates=candidates, errors=errors), \
        422 if errors else 200



@bp.route("/duplicates")
@permission_required("customer.merge")
def duplicates() -> Any:
    key = "chat" if request.args.get("key") == "chat" else "mobile"
    after = (request.args.get("after") or "").strip()[:64] or None
    groups, next_after = queries.cross_store_duplicates(current_user, key, after)
    return render_template("customers/duplicates.html", groups=groups, key=key, next_after=next_after)
