"""Log-in, log-out, own account (password, API tokens), language and store switchers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.auth import defaults
from crm.auth import queries
from crm.auth import services
from crm.auth.decorators import permission_required
from crm.auth.models import Role
from crm.auth.permissions import CATALOGUE
from crm.auth.permissions import SCOPE_LABELS
from crm.auth.permissions import DataScope
from crm.auth.scopes import scope_context
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.core.web import keep_despite_error
from crm.core.web import problem
from crm.core.web import safe_next
from crm.core.web import wants_json
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

bp = Blueprint("auth", __name__, template_folder="templates")


# Flask-Login hooks (registered by create_app) --------------------------------------------------------
def load_user(user_id: str) -> User | None:
    """Session cookie -> user. The id carries the security stamp, so a password change or disabling
    the account ends every other session."""
    if request.path.startswith("/api/"):
        return None  # cookies never authenticate the API: only load_user_from_token does
    raw_id, _sep, stamp = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    # Roles in the same statement: every request needs them (permissions, scope).
    user = db.session.get(User, int(raw_id), options=[joinedload(User.roles)])
    if user is None or not user.active or user.security_stamp != stamp:
        return None
    return user


def load_user_from_token(req: Any) -> User | None:
    """`Authorization: Bearer crm_...` -> user, for /api/v1 only (cookies never authenticate the API)."""
    if not req.path.startswith("/api/"):
        return None
    header = req.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    user = services.user_for_token(token.strip())
    if user is not None and not user.can("api.use"):
        return None
    return user


def unauthorized() -> Any:
    if wants_json():
        return problem(401, _("Not signed in"), _("Send a valid API token: Authorization: Bearer <token>."))
    flash(_("Please sign in to see this page."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


# Log-in / log-out -------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    error = None
    identifier = ""
    if request.method == "POST":
        identifier = (request.form.get("identifier") or "").strip()
        password = request.form.get("password") or ""
        if not identifier or not password:
            error = _("Enter your mobile number or e-mail and your password.")
        else:
            try:
                # The address of the connection (or of the client, behind TRUSTED_PROXIES proxies).
                user = services.authenticate(identifier, password, address=request.remote_addr)
            except DomainError as exc:
                keep_despite_error()  # the failure count must be saved
                error = str(exc.message)
                return render_template("auth/login.html", error=error, identifier=identifier), exc.status
            session.clear()
            login_user(user, remember=bool(request.form.get("remember")))
            if user.locale:
                session["lang"] = user.locale
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))
        return render_template("auth/login.html", error=error, identifier=identifier), 422
    return render_template("auth/login.html", error=error, identifier=identifier)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    lang = session.get("lang")
    if current_user.is_authenticated:
        # A new stamp: this session cookie and the remember-me cookie, if replayed, sign nobody in (and
        # the user's sessions on other devices end too: the stamp is per user).
        services.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


# Own account ----------------------------------------------------------------------------------------------
@bp.route("/account")
@login_required
def account() -> Any:
    ctx = scope_context(current_user)
    return render_template(
        "auth/account.html",
        user=current_user,
        scope_labels=[str(SCOPE_LABELS[s]) for s in sorted(ctx.scopes)],
    )


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    if request.method == "POST":
        try:
            services.change_password(
                current_user,
                request.form.get("current_password", ""),
                request.form.get("new_password", ""),
                request.form.get("confirm_password", ""),
            )
        except ValidationFailed as exc:
            return render_template("auth/password.html", errors=exc.errors), 422
        # The stamp changed: sign this session in again with the new one, others are ended.
        login_user(current_user._get_current_object())  # the real user: a stored proxy would recurse
        flash(_("Your password was changed. Other sessions were signed out."), "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/password.html", errors={})


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> Any:
    if not current_user.can("api.use"):
        raise PermissionDenied()
    new_token = None
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            _row, new_token = services.create_token(current_user, request.form.get("name", ""))
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    return render_template(
        "auth/tokens.html", tokens=queries.tokens_of(current_user), new_token=new_token, errors=errors
    ), status


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Any:
    token = queries.get_own_token(current_user, token_id)
    services.revoke_token(token, actor=current_user)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("auth.tokens"))


# Switchers ------------------------------------------------------------------------------------------------
@bp.route("/language", methods=["POST"])
def set_language() -> Any:
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.home")))


@bp.route("/store-filter", methods=["POST"])
@login_required
def set_store_filter() -> Any:
    from crm.auth.scopes import set_store_filter as apply_filter

    raw = request.form.getlist("store_id")
    ids = [int(v) for v in raw if v.isdigit() and int(v) < 2**31]
    chosen = apply_filter(current_user, ids or None)
    if chosen:
        session["store_filter"] = chosen
    else:
        session.pop("store_filter", None)
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.home")))


@bp.app_context_processor
def store_switcher_context() -> dict[str, Any]:
    if not current_user or not current_user.is_authenticated:
        return {}

    def switcher() -> dict[str, Any] | None:
        ctx = scope_context(current_user)
        store_ids = ctx.selectable_stores()
        if len(store_ids) < 2:
            return None
        stores = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(store_ids)).order_by(OrgUnit.path)).all()
        return {"stores": stores, "selected": set(ctx.store_filter or [])}

    return {"store_switcher": switcher}


# Roles and the permission matrix (admin) ---------------------------------------------------------------


def _permission_groups() -> list[dict[str, Any]]:
    """CATALOGUE as template-friendly rows: [{"label", "permissions": [(key, label)]}]."""
    groups = []
    for key, group in CATALOGUE.items():
        permissions: dict[str, Any] = group["permissions"]  # type: ignore[assignment]
        groups.append({"key": key, "label": str(group["label"]), "permissions": [(p, str(label)) for p, label in permissions.items()]})
    return groups


def _scope_choices() -> list[tuple[str, str, str]]:
    return [(s.value, s.label, s.description) for s in DataScope]


def _render_matrix(submitted: dict[int, dict[str, Any]], errors: dict[str, list[str]], status: int = 200) -> Any:
    return render_template(
        "auth/roles.html",
        rows=queries.roles_with_counts(),
        groups=_permission_groups(),
        scope_choices=_scope_choices(),
        submitted=submitted,
        errors=errors,
        pending=defaults.pending_defaults(),
        permission_labels={p: str(label) for group in CATALOGUE.values()
                           for p, label in group["permissions"].items()},  # type: ignore[attr-defined]
    ), status


def _matrix_submission(roles: dict[int, Role]) -> dict[int, dict[str, Any]]:
    """role id -> {"permissions", "data_scope"} for every role the form speaks about. The page lists each
    editable role in a hidden `role` field, so a column with every box cleared still counts."""
    listed = {int(v) for v in request.form.getlist("role") if v.isdigit()}
    mentioned = set(listed)
    for key in request.form:
        prefix, _sep, raw_id = key.partition("-")
        if prefix in ("perm", "scope") and raw_id.isdigit():
            mentioned.add(int(raw_id))
    out: dict[int, dict[str, Any]] = {}
    for role_id in mentioned:
        role = roles.get(role_id)
        if role is None:
            raise NotFound()
        perm_key = f"perm-{role_id}"
        if role_id in listed or perm_key in request.form:
            permissions = sorted(set(request.form.getlist(perm_key)))
        else:
            permissions = sorted(role.permission_list)
        out[role_id] = {
            "permissions": permissions,
            "data_scope": request.form.get(f"scope-{role_id}", role.data_scope.value),
        }
    return out


@bp.route("/admin/roles", methods=["GET", "POST"])
@permission_required("role.manage")
def roles() -> Any:
    if request.method == "GET":
        return _render_matrix({}, {})
    by_id = {role.id: role for role in queries.all_roles()}
    submitted = _matrix_submission(by_id)
    errors: dict[str, list[str]] = {}
    changed = 0
    for role_id, values in sorted(submitted.items()):
        role = by_id[role_id]
        if values["permissions"] == sorted(role.permission_list) and values["data_scope"] == role.data_scope.value:
            continue
        data = {"name": role.name, "description": role.description, **values}
        try:
            # Refuses the super admin role with PermissionDenied (403): it is shown read-only.
            services.save_role(role, data, actor=current_user)
        except ValidationFailed as exc:
            errors.update({f"{field}-{role_id}": messages for field, messages in exc.errors.items()})
        changed += 1
    if errors:
        forget_refused_write()  # all or nothing
        return _render_matrix(submitted, errors, 422)
    if changed:
        flash(_("The permissions of %(n)d roles were saved.", n=changed), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("auth.roles"))


def _render_role_form(role: Role | None, form: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    holders = {r.id: n for r, n in queries.roles_with_counts()}.get(role.id, 0) if role else 0
    return render_template(
        "auth/roles_form.html",
        role=role,
        form=form,
        errors=errors,
        holders=holders,
        groups=_permission_groups(),
        scope_choices=_scope_choices(),
    ), status


def _role_form_data() -> dict[str, Any]:
    return {
        "key": request.form.get("key", ""),
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
        "data_scope": request.form.get("data_scope", ""),
        "permissions": request.form.getlist("permissions"),
    }


@bp.route("/admin/roles/defaults", methods=["POST"])
@permission_required("role.manage")
def role_defaults() -> Any:
    """Grant or decline what this release adds to the default roles (the notice above the matrix)."""
    action = request.form.get("action")
    if action not in ("grant", "decline"):
        raise ValidationFailed({"action": _l("Choose grant or decline.")})
    applied = defaults.apply_defaults(grant=action == "grant", actor=current_user)
    created = [item.label for item in applied if item.role is None]
    offered = [item for item in applied if item.role is not None]
    if created:
        flash(_("Default roles created: %(names)s.", names=", ".join(created)), "success")
    if offered and action == "grant":
        flash(ngettext("New default permissions granted to %(num)d role.",
                       "New default permissions granted to %(num)d roles.", len(offered)), "success")
    elif offered:
        flash(ngettext("New default permissions declined for %(num)d role; they will not be offered again.",
                       "New default permissions declined for %(num)d roles; they will not be offered again.",
                       len(offered)), "info")
    if not applied:
        flash(_("The roles are up to date."), "info")
    return redirect(url_for("auth.roles"))


@bp.route("/admin/roles/new", methods=["GET", "POST"])
@permission_required("role.manage")
def role_new() -> Any:
    if request.method == "GET":
        return _render_role_form(None, {"data_scope": DataScope.SELF.value, "permissions": []}, {})
    form = _role_form_data()
    try:
        role = services.save_role(None, form, actor=current_user)
    except ValidationFailed as exc:
        return _render_role_form(None, form, exc.errors, 422)
    flash(_("The role %(name)s was created.", name=role.display_name), "success")
    return redirect(url_for("auth.roles"))


@bp.route("/admin/roles/<int:role_id>/edit", methods=["GET", "POST"])
@permission_required("role.manage")
def role_edit(role_id: int) -> Any:
    role = queries.get_role(role_id)
    if role.is_system:
        raise PermissionDenied(_l("The super admin role cannot be changed."))
    if request.method == "GET":
        form = {
            "name": role.name,
            "description": role.description or "",
            "data_scope": role.data_scope.value,
            "permissions": role.permission_list,
        }
        return _render_role_form(role, form, {})
    form = _role_form_data()
    try:
        services.save_role(role, form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_role_form(role, form, exc.errors, 422)
    flash(_("The role %(name)s was saved.", name=role.display_name), "success")
    return redirect(url_for("auth.roles"))


@bp.route("/admin/roles/<int:role_id>/delete", methods=["POST"])
@permission_required("role.manage")
def role_delete(role_id: int) -> Any:
    role = queries.get_role(role_id)
    name = role.display_name
    try:
        services.delete_role(role, actor=current_user)
    except PermissionDenied:
        raise
    except DomainError as exc:
        flash(str(exc.message), "danger")
        return redirect(url_for("auth.role_edit", role_id=role.id))
    flash(_("The role %(name)s was deleted.", name=name), "success")
    return redirect(url_for("auth.roles"))
