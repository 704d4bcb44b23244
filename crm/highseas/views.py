"""High-seas pages (blueprint `highseas`, under /high-seas): the pool of a store (filters, days in the pool,
claim, batch assignment), "My claim applications", "Claim audit" for supervisors, and the pool's rules and
members for admins. URL variables: `store_id`, `customer_id` (the isolation crawler knows them)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.objects import register_action_label
from crm.core.web import download
from crm.core.web import forget_refused_write
from crm.core.web import form_data
from crm.core.web import int_arg
from crm.customers.models import CustomerLevel
from crm.highseas import queries
from crm.highseas import rules
from crm.highseas import services
from crm.highseas import sweep as recycling
from crm.highseas.models import CLAIM_LABELS
from crm.highseas.models import ClaimStatus
from crm.highseas.models import PoolRole

bp = Blueprint("highseas", __name__, template_folder="templates", url_prefix="/high-seas")





for _action, _label in {
    "high_seas_recycled": _l("Recycled to the high seas"),
    "high_seas_released": _l("Moved to the high seas"),
    "high_seas_claimed": _l("Claimed from the high seas"),
    "high_seas_assigned": _l("Assigned from the high seas"),
    "high_seas_returned": _l("Returned to the pool"),
    "high_seas_claim_applied": _l("Claim applied for"),
    "high_seas_claim_rejected": _l("Claim rejected"),
}.items():
    register_action_label(_action, _label)


@bp.app_context_processor
def highseas_helpers() -> dict[str, Any]:
    """`days_until_recycle(customer)` for the customer pages' badge (None: not due / exempt)."""

    def days_until_recycle(customer: Any) -> int | None:
        try:
            return recycling.days_until_recycle(customer)
        except DomainError:
            return None

    return {"days_until_recycle": days_until_recycle}


def _store() -> tuple[Any, list[Any]]:
    stores = queries.pool_stores(current_user)
    if not stores:
        raise NotFound()
    wanted = int_arg("store_id") or current_user.store_id
    store = next((s for s in stores if s.id == wanted), stores[0])
    return store, stores


def _filters() -> queries.PoolFilters:
    q = (request.args.get("q") or "").strip()[:60] or None
    try:
        level = CustomerLevel(request.args.get("level") or "")
    except ValueError:
        level = None
    return queries.PoolFilters(q=q, level=level)


@bp.get("/")
@permission_required("highseas.view")
def pool() -> Any:
    store, stores = _store()
    the_pool = rules.pool_for(store.id)
    role = rules.role_in(the_pool, current_user)
    page = queries.pool_page(store.id, _filters(), cursor=request.args.get("cursor") or None)
    people = queries.store_people(store.id) if role == PoolRole.ADMIN else []
    return render_template("highseas/pool.html", page=page, store=store, stores=stores, pool=the_pool, role=role,
                           filters=_filters(), levels=list(CustomerLevel), people=people)


@bp.get("/export")
@permission_required("customer.export")
def export() -> Any:
    """The pool's customers (the store and filters of the page) as CSV or XLSX."""
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _("Choose CSV or Excel.")})
    store, _stores = _store()
    body, name, mimetype = queries.export_file(store.id, _filters(), fmt)
    return download(body, mimetype, name)


def _back(store_id: int | None) -> Any:
    return redirect(url_for("highseas.pool", store_id=store_id) if store_id else url_for("highseas.pool"))


@bp.post("/customers/<int:customer_id>/claim")
@permission_required("highseas.view")
def claim(customer_id: int) -> Any:
    pool, customer = services.get_pool_customer(customer_id, current_user)  # 404 outside the actor's pools
    try:
        row = services.apply_claim(customer_id, request.form.get("reason", ""), actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        flash("; ".join(str(m) for msgs in exc.errors.values() for m in msgs), "danger")
        return _back(pool.store_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write()  # nothing is kept, not even the error record of a failed process step
        flash(str(exc.message), "danger")
        return _back(pool.store_id)
    if row.status == ClaimStatus.PENDING:
        flash(_("Your claim of %(name)s was sent for approval.", name=customer.name), "success")
    else:
        flash(_("%(name)s is yours now. Record a visit in time to keep the customer.", name=customer.name), "success")
    return redirect(url_for("highseas.my_claims"))


@bp.post("/assign")
@permission_required("highseas.assign")
def assign() -> Any:
    data = form_data()
    ids = data.get("customer_ids") or []
    ids = ids if isinstance(ids, list) else [ids]
    store_id = int_arg("store_id")
    try:
        n = services.assign(ids, data.get("owner_id"), data.get("reason", ""), actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        flash("; ".join(str(m) for msgs in exc.errors.values() for m in msgs), "danger")
        return _back(store_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return _back(store_id)
    flash(_("%(n)d customers were assigned.", n=n), "success")
    return _back(store_id)


@bp.get("/claims")
@permission_required("highseas.view")
def my_claims() -> Any:
    page = queries.my_claims(current_user, cursor=request.args.get("cursor") or None)
    return render_template("highseas/claims.html", page=page, audit=False, labels=CLAIM_LABELS, status=None)


@bp.get("/audit")
@permission_required("highseas.assign")
def audit() -> Any:
    try:
        status = ClaimStatus(request.args.get("status") or "")
    except ValueError:
        status = None
    page = queries.audit_claims(current_user, status, cursor=request.args.get("cursor") or None)
    return render_template("highseas/claims.html", page=page, audit=True, labels=CLAIM_LABELS, status=status)


def _settings_pool(store_id: int) -> Any:
    stores = queries.pool_stores(current_user)
    if store_id not in {s.id for s in stores}:
        raise NotFound()
    the_pool = rules.pool_for(store_id)
    rules.check_admin(the_pool, current_user)
    return the_pool, next(s for s in stores if s.id == store_id)


@bp.get("/settings")
@permission_required("highseas.configure")
def rules_page() -> Any:
    """The menu's "High-seas rules": the rules of the chosen store's pool (`store_id`), else of the actor's
    own store, else of the first store they may configure."""
    store, _stores = _store()
    return redirect(url_for("highseas.settings", store_id=store.id))


@bp.route("/settings/<int:store_id>", methods=["GET", "POST"])
@permission_required("highseas.configure")
def settings(store_id: int) -> Any:
    the_pool, store = _settings_pool(store_id)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        values = form_data()
        try:
            if values.get("action") == "member":
                rules.set_member(the_pool, values.get("user_id"), values.get("role"), actor=current_user)
                flash(_("The pool's members were saved."), "success")
            else:
                rules.update_pool(the_pool, values, actor=current_user, lock_version=values.get("lock_version"))
                flash(_("The pool's rules were saved."), "success")
            return redirect(url_for("highseas.settings", store_id=store_id))
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors, status = exc.errors, 422
            the_pool, store = _settings_pool(store_id)
        except DomainError as exc:
            if exc.status == 404:
                raise
            forget_refused_write(exc)
            flash(str(exc.message), "danger")
            return redirect(url_for("highseas.settings", store_id=store_id))
    return render_template("highseas/settings.html", pool=the_pool, store=store, errors=errors, values=values,
                           members=rules.members(the_pool), people=queries.store_people(store_id),
                           levels=list(CustomerLevel), roles=list(PoolRole)), status
