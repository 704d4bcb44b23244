"""Settlement pages: the list of batches (filters, keyset pages), recording a batch (its fields, vouchers and
lines picked from the store's orders waiting for money), a batch's page (vouchers in a viewer, each line's
collection and status, "Verify all") and its vouchers."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.audit import timeline
from crm.core.clock import local_today
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.validation import as_id
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.finance.blueprint import bp
from crm.finance.ledger import queries as ledger_queries
from crm.finance.payments.models import METHOD_LABELS
from crm.finance.payments.models import STATUS_LABELS
from crm.finance.payments.models import PaymentMethod
from crm.finance.settlements import queries
from crm.finance.settlements import services
from crm.finance.settlements.queries import SettlementFilters
from crm.workflow.tasks import queries as task_queries

FIELDS = ("payer", "reference", "method", "paid_on", "amount", "note")


@bp.route("/settlements")
@permission_required("finance.view")
def settlements() -> Any:
    filters = SettlementFilters.from_args(request.args)
    page = queries.settlement_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template("finance/settlements.html", page=page, filters=filters,
                           stores=task_queries.store_choices(current_user), store_names=queries.store_names(page.items),
                           method_labels=METHOD_LABELS)


def _form(form: dict[str, Any], store_id: int | None, ticked: dict[int, str], errors: dict[str, list[str]] | None = None,
          status: int = 200) -> Any:
    errors = errors or {}
    stores = task_queries.store_choices(current_user)
    if store_id is None and len(stores) == 1:
        store_id = stores[0][0]
    candidates = queries.candidates(current_user, store_id=store_id) if store_id else []
    known = {c.id for c in candidates}
    chosen = [int(k) for k in ticked]
    # A line's messages ("lines.2.amount") shown on its order's row; those of orders no longer offered on top.
    line_errors: dict[int, list[str]] = {}
    general = [m for k, ms in errors.items() if not k.startswith("lines.") for m in ms if k not in FIELDS + ("vouchers",)]
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(chosen):
            order_id = chosen[int(parts[1])]
            line_errors.setdefault(order_id, []).extend(messages)
            if order_id not in known:
                general.extend(messages)
    return render_template(
        "finance/settlement_form.html", form=form, errors=errors, stores=stores, store_id=store_id,
        candidates=candidates, ticked=ticked, line_errors=line_errors, general=general,
        methods=[(m.value, label) for m, label in METHOD_LABELS.items()]), status


@bp.route("/settlements/new", methods=["GET", "POST"])
@permission_required("finance.view", "finance.collection.record")
def new_settlement() -> Any:
    store_id = as_id(request.values.get("store_id")) or None
    if request.method == "GET":
        return _form({"paid_on": local_today().isoformat(), "method": PaymentMethod.PLATFORM.value}, store_id or None, {})
    form = {k: request.form.get(k, "") for k in FIELDS}
    ticked = {}
    for raw in request.form.getlist("order"):
        if as_id(raw) and raw not in ticked:
            ticked[raw] = request.form.get(f"amount_{raw}", "")
    lines = [{"order_id": order_id, "amount": amount} for order_id, amount in ticked.items()]
    uploads = [(f.filename, f.stream) for f in request.files.getlist("vouchers") if f and f.filename]
    try:
        settlement = services.record_settlement({**form, "lines": lines}, uploads, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _form(form, store_id or None, {int(k): v for k, v in ticked.items()}, exc.errors, 422)
    except DomainError as exc:
        flash_refusal(exc)
        return redirect(url_for("finance.settlements"), code=303)
    flash(_("The settlement %(reference)s was recorded: %(n)d collections wait for verification.",
            reference=settlement.reference, n=len(lines)), "success")
    return redirect(url_for("finance.settlement_detail", settlement_id=settlement.id), code=303)


@bp.route("/settlements/<int:settlement_id>")
@permission_required("finance.view")
def settlement_detail(settlement_id: int) -> Any:
    settlement = services.get_settlement(settlement_id, current_user)
    lines = services.lines_of(settlement.id)
    (summary,) = queries.listed([settlement])
    return render_template(
        "finance/settlement_detail.html", settlement=settlement, summary=summary, lines=lines,
        names=ledger_queries.labels(lines), store_names=queries.store_names([settlement]),
        people=task_queries.user_names({settlement.recorded_by_id} if settlement.recorded_by_id else set()),
        status_labels=STATUS_LABELS, method_labels=METHOD_LABELS,
        can_verify_all=summary.waiting > 0 and services.may_verify_all(settlement, current_user),
        entries=timeline(db.session, "settlement", settlement.id))


@bp.route("/settlements/<int:settlement_id>/verify", methods=["POST"])
@permission_required("finance.view", "finance.collection.verify")
def verify_settlement(settlement_id: int) -> Any:
    try:
        verified = services.verify_all(settlement_id, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("%(n)d collections of the settlement were verified.", n=len(verified)), "success")
    return redirect(url_for("finance.settlement_detail", settlement_id=settlement_id), code=303)


@bp.route("/settlements/<int:settlement_id>/vouchers/<int:voucher_id>")
@permission_required("finance.view")
def settlement_voucher(settlement_id: int, voucher_id: int) -> Any:
    item, path = services.voucher_file(settlement_id, voucher_id, current_user)
    return stored_file_response(path, item.content_type, item.original_name, inline=item.is_image)
