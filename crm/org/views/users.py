"""User pages: the filtered list, create, profile with history, edit, disable with transfer, enable and
password reset."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth import queries as auth_queries
from crm.auth import services as auth_services
from crm.auth.decorators import permission_required
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core import ownership
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.extensions import db
from crm.org import queries
from crm.org import services
from crm.org.models import GENDER_LABELS
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.org.views.common import USER_FIELD_LABELS
from crm.org.views.common import Errors
from crm.org.views.common import bp
from crm.org.views.common import form_values
from crm.org.views.common import merge_errors
from crm.org.views.common import parse_id
from crm.org.views.common import pick_visible
from crm.org.views.common import readable_timeline

USER_FIELDS = ("name", "mobile", "email", "gender", "position", "org_unit_id", "supervisor_id")


def _managed_user(user_id: int) -> User:
    """A user the actor may see and change (404 outside the scope, 403 for a super admin's account)."""
    user = get_visible(User, user_id, current_user)
    auth_services.check_can_manage_user(user, actor=current_user)
    return user


def _reraise_hidden(exc: DomainError) -> None:
    if exc.status in (403, 404):
        raise exc


# The list -------------------------------------------------------------------------------------------------
@bp.route("/users")
@permission_required("user.view")
def users() -> Any:
    args = request.args
    unit = None
    if args.get("unit_id"):
        unit = get_visible(OrgUnit, args.get("unit_id"), current_user)
    active = args.get("active", "yes")
    filters = queries.UserFilters(
        q=(args.get("q") or "").strip()[:100],
        unit=unit,
        role_id=parse_id(args.get("role_id")),
        active=active if active in ("yes", "no", "all") else "yes",
    )
    page = queries.list_users(
        current_user, filters, args.get("cursor") or None, current_app.config["PAGE_SIZE"], visible=visible
    )
    return render_template(
        "org/users.html",
        page=page,
        filters=filters,
        unit_choices=queries.unit_choices(current_user, visible=visible, active_only=False),
        role_choices=[(r.id, r.display_name) for r in auth_queries.all_roles()],
    )


# Create and edit ------------------------------------------------------------------------------------------
def _render_form(user: User | None, form: dict[str, Any], role_ids: list[str], errors: Errors, status: int = 200) -> Any:
    unit_choices = queries.unit_choices(current_user, visible=visible)
    supervisor_choices = queries.user_choices(current_user, visible=visible, exclude_ids=[user.id] if user else [])
    if user is not None:
        # Keep the values the user already has even when they lie outside the actor's scope.
        if user.org_unit_id not in {uid for uid, _label in unit_choices}:
            unit_choices.insert(0, (user.org_unit_id, user.org_unit.name))
        if user.supervisor is not None and user.supervisor_id not in {uid for uid, _label in supervisor_choices}:
            supervisor_choices.insert(0, (user.supervisor.id, user.supervisor.name))
    roles = auth_services.grantable_roles(auth_queries.all_roles(), actor=current_user)
    return render_template(
        "org/user_form.html",
        user=user,
        form=form,
        role_ids=role_ids,
        errors=errors,
        unit_choices=unit_choices,
        supervisor_choices=supervisor_choices,
        role_choices=[(r.id, r.display_name) for r in roles],
        gender_choices=[(g.value, str(label)) for g, label in GENDER_LABELS.items()],
    ), status


def _submitted(user: User | None, errors: Errors) -> tuple[dict[str, Any], list[Any]]:
    """The form as service arguments, with the chosen unit, supervisor and roles checked against the
    actor's scope and rights (field errors go to `errors`)."""
    form = form_values()
    data = {key: form.get(key, "") for key in USER_FIELDS}
    unit = pick_visible(
        OrgUnit, form.get("org_unit_id"), current_user, errors, "org_unit_id", _l("Choose the user's org unit from the list."),
        allow=user.org_unit_id if user else None,
    )
    data["org_unit_id"] = unit.id if unit else None
    data["supervisor_id"] = None
    if form.get("supervisor_id"):
        supervisor = pick_visible(
            User, form["supervisor_id"], current_user, errors, "supervisor_id", _l("Choose the supervisor from the list."),
            allow=user.supervisor_id if user else None,
        )
        data["supervisor_id"] = supervisor.id if supervisor else None
    roles: list[Any] = []
    try:
        roles = auth_services.roles_by_ids(request.form.getlist("role_ids"), actor=current_user)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    return data, roles


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("user.manage")
def user_new() -> Any:
    if request.method == "GET":
        form = {"org_unit_id": request.args.get("org_unit_id", ""), "gender": "unspecified"}
        return _render_form(None, form, [], {})
    errors: Errors = {}
    data, roles = _submitted(None, errors)
    password = request.form.get("password", "")
    password_errors: dict[str, str] = {}
    auth_services.check_new_password(password, password_errors, "password")
    errors.update({field: [message] for field, message in password_errors.items()})
    # Validate every field in one go; a failure on either side answers 422 and rolls everything back.
    password_hash = "" if password_errors else auth_services.hash_password(password)
    try:
        user = services.create_user(data, password_hash=password_hash, roles=roles, actor=current_user)
    except ValidationFailed as exc:
        errors = merge_errors(exc.errors, errors)
    if errors:
        forget_refused_write()  # keep nothing of this attempt
        return _render_form(None, form_values(), request.form.getlist("role_ids"), errors, 422)
    flash(_("The user %(name)s was created. Tell them their initial password.", name=user.name), "success")
    return redirect(url_for("org.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required("user.manage")
def user_edit(user_id: int) -> Any:
    user = _managed_user(user_id)
    if request.method == "GET":
        form = {
            "name": user.name,
            "mobile": user.mobile,
            "email": user.email or "",
            "gender": user.gender.value,
            "position": user.position or "",
            "org_unit_id": user.org_unit_id,
            "supervisor_id": user.supervisor_id or "",
        }
        return _render_form(user, form, [r.id for r in user.roles], {})
    errors: Errors = {}
    data, roles = _submitted(user, errors)
    try:
        services.update_user(user, data, roles=None if "role_ids" in errors else roles, actor=current_user)
    except ValidationFailed as exc:
        errors = merge_errors(exc.errors, errors)
    if errors:
        forget_refused_write()  # keep nothing of this attempt; the page shows the record as saved
        return _render_form(user, form_values(), request.form.getlist("role_ids"), errors, 422)
    flash(_("The changes to %(name)s were saved.", name=user.name), "success")
    return redirect(url_for("org.user_detail", user_id=user.id))


# Profile --------------------------------------------------------------------------------------------------
@bp.route("/users/<int:user_id>")
@permission_required("user.view")
def user_detail(user_id: int) -> Any:
    user = get_visible(User, user_id, current_user)
    return render_template(
        "org/user_detail.html",
        user=user,
        unit_linkable=current_user.can("org.view")
        and queries.is_visible(OrgUnit, user.org_unit_id, current_user, visible=visible),
        supervisor_linkable=queries.is_visible(User, user.supervisor_id, current_user, visible=visible),
        subordinates=queries.subordinates(user, current_user, visible=visible),
        can_manage=current_user.can("user.manage") and (current_user.is_super_admin or not user.is_super_admin),
        timeline_entries=readable_timeline("user", user.id, current_user) if current_user.can("audit.view") else None,
        field_labels=USER_FIELD_LABELS,
    )


# Disable, enable, reset password --------------------------------------------------------------------------
def _render_disable(user: User, form: dict[str, Any], errors: Errors, status: int = 200) -> Any:
    counts = ownership.owned_counts(db.session, user.id)
    return render_template(
        "org/user_disable.html",
        user=user,
        form=form,
        errors=errors,
        counts=counts,
        owned_total=sum(n for _entry, n in counts),
        transfer_choices=queries.user_choices(
            current_user, visible=visible, store_id=user.store_id, exclude_ids=[user.id]
        ),
    ), status


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
@permission_required("user.manage")
def user_disable(user_id: int) -> Any:
    user = _managed_user(user_id)
    if not user.active:
        flash(_("%(name)s is already disabled.", name=user.name), "info")
        return redirect(url_for("org.user_detail", user_id=user.id))
    if request.method == "GET":
        return _render_disable(user, {}, {})
    form = form_values()
    errors: Errors = {}
    transfer_to = None
    if form.get("transfer_to_id"):
        transfer_to = pick_visible(
            User, form["transfer_to_id"], current_user, errors, "transfer_to_id", _l("Choose the new owner from the list.")
        )
    elif sum(n for _entry, n in ownership.owned_counts(db.session, user.id)):
        errors["transfer_to_id"] = [str(_l("Choose who takes over the records of this user."))]
    if errors:
        return _render_disable(user, form, errors, 422)
    try:
        moved = services.disable_user(user, transfer_to=transfer_to, actor=current_user)
    except ValidationFailed as exc:
        return _render_disable(user, form, exc.errors, 422)
    except DomainError as exc:
        _reraise_hidden(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("org.user_detail", user_id=user.id))
    if transfer_to is not None:
        flash(_("%(name)s was disabled; %(n)d records moved to %(to)s.", name=user.name, n=moved, to=transfer_to.name), "success")
    else:
        flash(_("%(name)s was disabled and can no longer sign in.", name=user.name), "success")
    return redirect(url_for("org.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@permission_required("user.manage")
def user_enable(user_id: int) -> Any:
    user = _managed_user(user_id)
    try:
        services.enable_user(user, actor=current_user)
    except DomainError as exc:
        _reraise_hidden(exc)
        flash(str(exc.message), "danger")
    else:
        flash(_("%(name)s can sign in again.", name=user.name), "success")
    return redirect(url_for("org.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@permission_required("user.manage")
def user_reset_password(user_id: int) -> Any:
    user = _managed_user(user_id)
    if user.id == current_user.id:
        flash(_("Change your own password here."), "info")
        return redirect(url_for("auth.change_password"))
    if request.method == "GET":
        return render_template("org/user_password.html", user=user, errors={})
    password = request.form.get("password", "")
    errors: Errors = {}
    try:
        if password != request.form.get("confirm_password", ""):
            # Check the password itself first, so its own problem is reported before the mismatch.
            problems: dict[str, str] = {}
            auth_services.check_new_password(password, problems, "password")
            errors = {k: [v] for k, v in problems.items()} or {
                "confirm_password": [str(_l("The two passwords differ."))]
            }
        else:
            auth_services.reset_password(user, password, actor=current_user)
    except ValidationFailed as exc:
        errors = exc.errors
    if errors:
        return render_template("org/user_password.html", user=user, errors=errors), 422
    flash(_("The password of %(name)s was reset; their other sessions were signed out.", name=user.name), "success")
    return redirect(url_for("org.user_detail", user_id=user.id))
