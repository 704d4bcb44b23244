"""Approval pages (blueprint `approvals`, under /approvals): the supervisors' queue (pending, decided by
me, all in scope), deciding one or many, a request's page, and the chain admin (steps, order, versions,
preview). URL variables: `task_id`, `request_id`, `chain_id`, `index` (the isolation crawler knows them)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_required
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import queries
from crm.approvals import rules
from crm.approvals import services
from crm.approvals.models import ApprovalChain
from crm.approvals.models import ApprovalChainVersion
from crm.approvals.models import ApprovalRequest
from crm.approvals.models import RequestStatus
from crm.approvals.registry import approvables
from crm.approvals.schemas import StepInput
from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.core.web import forget_refused_write
from crm.core.web import int_arg
from crm.core.web import wants_json
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User

bp = Blueprint("approvals", "crm.approvals", template_folder="templates", url_prefix="/approvals")

VIEWS = {"pending": _l("Waiting for me"), "decided": _l("Decided by me"), "all": _l("All in my scope")}


# No badge of its own: approval tasks are inbox tasks, counted by the Tasks badge (one query per page).


@bp.app_context_processor
def approval_helpers() -> dict[str, Any]:
    """`approval_requests(object_type, object_id)` for the status block object pages include
    (`{% include "approvals/_status.html" %}` with `object_type` and `object_id` set)."""

    def approval_requests(object_type: str, object_id: int) -> list[Any]:
        if not current_user or not current_user.is_authenticated:
            return []
        return queries.requests_of(object_type, object_id, current_user)

    return {"approval_requests": approval_requests}


def _filters() -> queries.QueueFilters:
    key = (request.args.get("chain") or "").strip()
    object_type = (request.args.get("object_type") or "").strip()
    return queries.QueueFilters(
        chain_key=key if re.fullmatch(r"[a-z0-9_]{1,60}", key) else None,
        store_id=int_arg("store_id"),
        object_type=object_type if re.fullmatch(r"[a-z_]{1,50}", object_type) else None,
        q=(request.args.get("q") or "").strip()[:100] or None,
    )


@bp.get("/")
@login_required
def queue() -> Any:
    return _queue()


def _queue(refused: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The queue page; `refused` {"task_id", "errors", "comment"}: a decision refused, shown at its row."""
    view = request.args.get("view") or "pending"
    if view not in VIEWS or (view == "all" and not current_user.can("approval.view_all")):
        view = "pending"
    filters = _filters()
    cursor = request.args.get("cursor") or None
    if view == "pending":
        page = queries.pending(current_user, filters, cursor=cursor)
    elif view == "decided":
        page = queries.decided_by(current_user, filters, cursor=cursor)
    else:
        page = queries.requests_in_scope(current_user, filters, request.args.get("status"), cursor=cursor)
    users = _names({r.submitter_id for r in _requests_of(page, view)})
    return render_template("approvals/queue.html", view=view, views=VIEWS, page=page, filters=filters,
                           chain_keys=approval_chains.KNOWN_KEYS, users=users, types=approvables(),
                           refused=refused or {}), status


def _requests_of(page: Any, view: str) -> list[Any]:
    return list(page.items) if view == "all" else [row[1] for row in page.items]


def _names(ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.post("/tasks/<int:task_id>/decide")
@login_required
def decide(task_id: int) -> Any:
    services.approval_task_for(task_id, current_user)  # 404 before looking at the input
    choice = request.form.get("decision")
    if choice not in ("approve", "reject"):
        raise ValidationFailed({"decision": _l("Choose approve or reject.")})
    try:
        req = services.decide(task_id, approved=choice == "approve", comment=request.form.get("comment"),
                              actor=current_user)
    except ValidationFailed as exc:  # answered in place: the field's error at the form that was sent
        if wants_json():
            raise
        forget_refused_write(exc)
        refused = {"task_id": task_id, "errors": exc.errors, "comment": request.form.get("comment") or ""}
        if request.form.get("next") == "request":
            task = services.approval_task_for(task_id, current_user)
            req_id = db.session.scalar(select(ApprovalRequest.id).where(ApprovalRequest.instance_id == task.instance_id)
                                       .order_by(ApprovalRequest.id.desc()).limit(1))
            return _request_page(int(req_id or 0), refused, 422)
        return _queue(refused, 422)
    flash(_l("Approved.") if choice == "approve" else _l("Rejected."), "success")
    nxt = request.form.get("next")
    if nxt == "request":
        return redirect(url_for("approvals.request_detail", request_id=req.id))
    return redirect(url_for("approvals.queue"))


@bp.post("/bulk")
@login_required
def bulk() -> Any:
    ids = [int(v) for v in request.form.getlist("task_ids") if v.isdigit() and 0 < int(v) < 2**31][:200]
    if not ids:
        raise ValidationFailed({"task_ids": _l("Select at least one approval.")})
    result = services.bulk_approve(ids, comment=request.form.get("comment"), actor=current_user)
    flash(_l("%(n)s approved, %(m)s skipped (already decided or not yours).", n=len(result["approved"]),
             m=len(result["skipped"])), "success" if not result["skipped"] else "warning")
    return redirect(url_for("approvals.queue"))


@bp.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int) -> Any:
    return _request_page(request_id)


def _request_page(request_id: int, refused: dict[str, Any] | None = None, status: int = 200) -> Any:
    req = queries.request_for(request_id, current_user)
    task = queries.open_task_of(req, current_user)
    users = _names({req.submitter_id, *(d.decided_by_id for d in req.decisions),
                    *(u for s in req.steps for u in s.get("approvers") or [])})
    return render_template("approvals/request.html", req=req, task=task, users=users, statuses=RequestStatus,
                           modes=rules.MODES, rules_=rules.RULES, describe=rules.describe_condition,
                           refused=refused or {}), status


# Chains (admin) -------------------------------------------------------------------------------------------
def _stores() -> list[OrgUnit]:
    """The stores the admin may configure a chain for (within their place in the org tree)."""
    from crm.auth.scopes import visible

    return list(db.session.scalars(visible(select(OrgUnit), current_user, OrgUnit)
                                   .where(OrgUnit.kind == "store", OrgUnit.active).order_by(OrgUnit.name)))


@bp.get("/chains")
@login_required
@permission_required("approval.configure")
def chains() -> Any:
    stores = {s.id: s.name for s in _stores()}
    chains_ = [c for c in queries.chains() if c.store_id is None or c.store_id in stores]
    return render_template("approvals/chains.html", chains=chains_, stores=stores, keys=approval_chains.KNOWN_KEYS,
                           errors={}, form={})


@bp.post("/chains")
@login_required
@permission_required("approval.configure")
def create_chain() -> Any:
    form = request.form.to_dict()
    try:
        chain = approval_chains.create_chain({"key": form.get("key"), "name": form.get("name"), "store_id": form.get("store_id"),
                                       "steps": []}, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        stores = {s.id: s.name for s in _stores()}
        chains_ = [c for c in queries.chains() if c.store_id is None or c.store_id in stores]
        return render_template("approvals/chains.html", chains=chains_, stores=stores,
                               keys=approval_chains.KNOWN_KEYS, errors=exc.errors, form=form), 422
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


def _chain(chain_id: int) -> ApprovalChain:
    """A chain the admin may see: company-wide, or of a store within their scope."""
    chain = db.session.get(ApprovalChain, chain_id)
    if chain is None or (chain.store_id is not None and chain.store_id not in {s.id for s in _stores()}):
        raise NotFound()
    return chain


def _render_chain(chain: ApprovalChain, *, errors: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
                  preview: list[dict[str, Any]] | None = None, status: int = 200, editing: int | None = None) -> Any:
    versions = list(db.session.scalars(select(ApprovalChainVersion).where(ApprovalChainVersion.chain_id == chain.id)
                                       .order_by(ApprovalChainVersion.version.desc()).limit(20)))
    steps = approval_chains.current_steps(chain)
    ids = {u for s in steps for u in s.get("user_ids") or []} | {s.get("fallback_admin_id") for s in steps}
    ids |= {u for s in preview or [] for u in s.get("approvers") or []}
    store = db.session.get(OrgUnit, chain.store_id) if chain.store_id else None
    from crm.auth.models import Role

    roles = list(db.session.execute(select(Role.key, Role.name).order_by(Role.name)).all())
    return render_template("approvals/chain.html", chain=chain, steps=steps, versions=versions, store=store,
                           users=_names(ids), rules_=rules.RULES, modes=rules.MODES, operators=rules.OPERATORS,
                           on_empty=rules.ON_EMPTY, roles=roles, errors=errors or {}, form=form or {},
                           preview=preview, describe=rules.describe_condition, types=approvables(), people=_people(),
                           condition_fields={fd.name for t in approvables() for fd in t.fields},
                           editing=editing), status


@bp.get("/chains/<int:chain_id>")
@login_required
@permission_required("approval.configure")
def chain_detail(chain_id: int) -> Any:
    """The chain; `?edit=<index>` opens that step in the step form."""
    chain = _chain(chain_id)
    index = request.args.get("edit", "")
    steps = approval_chains.current_steps(chain)
    if index.isdigit() and int(index) < len(steps):
        return _render_chain(chain, form=_form_of(steps[int(index)]), editing=int(index))
    return _render_chain(chain)


def _form_of(step: dict[str, Any]) -> dict[str, Any]:
    cond = step.get("condition") or {}
    value = cond.get("value")
    return {
        "title": step.get("title"), "rule": step.get("rule"), "mode": step.get("mode"),
        "user_ids": [str(u) for u in step.get("user_ids") or []], "level": step.get("level") or "",
        "role": step.get("role") or "", "on_empty": step.get("on_empty"),
        "fallback_admin_id": step.get("fallback_admin_id") or "", "reminder_hours": step.get("reminder_hours") or "",
        "escalation_hours": step.get("escalation_hours") or "", "condition_field": cond.get("field") or "",
        "condition_op": cond.get("op") or "", "condition_value": ", ".join(value) if isinstance(value, list) else (value or ""),
    }


PEOPLE_CAP = 500


def _people() -> list[tuple[str, list[tuple[int, str]]]]:
    """Active users the admin may see, for the user choices of a step, grouped by store (the company's
    own departments first, as "Headquarters and departments"), by name within a store ("name · unit"),
    capped. The pickers filter them as one types (data-filter-select)."""
    from sqlalchemy.orm import aliased

    from crm.auth.scopes import visible

    store = aliased(OrgUnit)
    rows = db.session.execute(
        visible(select(User.id, User.name, OrgUnit.name, store.name).join(OrgUnit, OrgUnit.id == User.org_unit_id)
                .outerjoin(store, store.id == OrgUnit.store_id).where(User.active), current_user, User)
        .order_by(store.name.is_not(None), store.name, User.name, User.id).limit(PEOPLE_CAP)
    ).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for uid, name, unit, store_name in rows:
        groups.setdefault(store_name or str(_l("Headquarters and departments")), []).append(
            (int(uid), f"{name} · {unit}"))
    return list(groups.items())


def _step_from_form(form: Any) -> dict[str, Any]:
    return {
        "title": form.get("title"), "rule": form.get("rule"), "mode": form.get("mode"),
        "user_ids": form.getlist("user_ids") if len(form.getlist("user_ids")) > 1 else form.get("user_ids"), "level": form.get("level"), "role": form.get("role"),
        "on_empty": form.get("on_empty"), "fallback_admin_id": form.get("fallback_admin_id"),
        "reminder_hours": form.get("reminder_hours"), "escalation_hours": form.get("escalation_hours"),
        "condition": {"field": form.get("condition_field"), "op": form.get("condition_op"),
                      "value": form.get("condition_value")},
    }


def _posted() -> dict[str, Any]:
    """The step form as sent, to show it again (the user choice keeps all its values)."""
    return request.form.to_dict() | {"user_ids": request.form.getlist("user_ids")}


def _lock() -> int | None:
    raw = request.form.get("lock_version") or ""
    return int(raw) if raw.isdigit() and int(raw) < 2**31 else None


@bp.post("/chains/<int:chain_id>/steps")
@login_required
@permission_required("approval.configure")
def add_step(chain_id: int) -> Any:
    chain = _chain(chain_id)
    try:
        step = load_input(StepInput(), _step_from_form(request.form))
        approval_chains.put_step(chain.id, None, step, actor=current_user, lock_version=_lock())
    except ValidationFailed as exc:
        forget_refused_write(exc)
        errors = {k.replace("condition.", "condition_"): v for k, v in exc.errors.items()}
        return _render_chain(_chain(chain_id), errors=errors, form=_posted(), status=422)
    flash(_l("Step added: version %(v)s.", v=chain.current_version), "success")
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


@bp.post("/chains/<int:chain_id>/steps/<int:index>")
@login_required
@permission_required("approval.configure")
def edit_step(chain_id: int, index: int) -> Any:
    chain = _chain(chain_id)
    try:
        step = load_input(StepInput(), _step_from_form(request.form))
        approval_chains.put_step(chain.id, index, step, actor=current_user, lock_version=_lock())
    except ValidationFailed as exc:
        forget_refused_write(exc)
        errors = {k.replace("condition.", "condition_"): v for k, v in exc.errors.items()}
        return _render_chain(_chain(chain_id), errors=errors, form=_posted(), status=422, editing=index)
    flash(_l("Step saved: version %(v)s.", v=chain.current_version), "success")
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


@bp.post("/chains/<int:chain_id>/steps/<int:index>/move")
@login_required
@permission_required("approval.configure")
def move_step(chain_id: int, index: int) -> Any:
    chain = _chain(chain_id)
    delta = -1 if request.form.get("direction") == "up" else 1
    approval_chains.move_step(chain.id, index, delta, actor=current_user, lock_version=_lock())
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


@bp.post("/chains/<int:chain_id>/steps/<int:index>/delete")
@login_required
@permission_required("approval.configure")
def delete_step(chain_id: int, index: int) -> Any:
    chain = _chain(chain_id)
    approval_chains.remove_step(chain.id, index, actor=current_user, lock_version=_lock())
    flash(_l("Step removed."), "success")
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


@bp.post("/chains/<int:chain_id>/settings")
@login_required
@permission_required("approval.configure")
def chain_settings(chain_id: int) -> Any:
    chain = _chain(chain_id)
    approval_chains.save_steps(chain.id, approval_chains.current_steps(chain), actor=current_user, lock_version=_lock(),
                        name=request.form.get("name") or chain.name, active=request.form.get("active") == "on")
    flash(_l("Saved."), "success")
    return redirect(url_for("approvals.chain_detail", chain_id=chain.id))


@bp.get("/chains/<int:chain_id>/preview")
@login_required
@permission_required("approval.configure")
def preview(chain_id: int) -> Any:
    """Who would approve: as a submitter, for a real object (type + id) or for field values (`amount=60000`)."""
    chain = _chain(chain_id)
    submitter_id = int_arg("submitter_id")
    form = request.args.to_dict()
    if submitter_id is None:
        return _render_chain(chain, errors={"submitter_id": [str(_l("Choose the submitter (user id)."))]}, form=form,
                             status=422)
    from crm.auth.scopes import get_visible

    try:
        submitter = get_visible(User, submitter_id, current_user)
    except DomainError:
        return _render_chain(chain, errors={"submitter_id": [str(_l("No such user in your scope."))]}, form=form,
                             status=422)
    values: dict[str, Any] = {}
    for line in (request.args.get("values") or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()[:60]] = v.strip()[:100]
    object_type = (request.args.get("object_type") or "").strip() or None
    object_id = int_arg("object_id")
    store_id = chain.store_id or submitter.store_id
    resolved = services.preview(chain, submitter=submitter, store_id=store_id, values=values,
                                object_type=object_type, object_id=object_id, actor=current_user)
    return _render_chain(chain, form=form, preview=resolved)

