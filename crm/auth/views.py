"""Log-in, log-out, own account (password, API tokens), language and store switchers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import select

from crm.auth import queries
from crm.auth import services
from crm.auth.permissions import SCOPE_LABELS
from crm.auth.scopes import scope_context
from crm.core.errors import DomainError
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
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
    raw_id, _sep, stamp = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    user = db.session.get(User, int(raw_id))
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
                user = services.authenticate(identifier, password)
            except DomainError as exc:
                g.commit_on_error = True  # the failure count must be saved
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
        login_user(current_user)
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
