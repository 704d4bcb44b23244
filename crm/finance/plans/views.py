"""The receivable plan's page: create or edit an order's instalments (the salesperson of the order or
finance, `finance.plan.edit`); the order page shows the plan in its finance section."""

from __future__ import annotations

from typing import Any

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
from crm.core.web import forget_refused_write
from crm.finance.blueprint import bp
from crm.finance.payments.models import METHOD_LABELS
from crm.finance.payments.services import amount_due
from crm.finance.plans import queries
from crm.finance.plans import services
from crm.finance.plans.models import INSTALMENT_STATUS_LABELS
from crm.finance.plans.models import MAX_INSTALMENTS
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order

FIELDS = ("id", "amount", "due_on", "method", "remind_days")
BLANK_ROWS = 2


def _rows_from_form() -> list[dict[str, str]]:
    """The typed rows; a blank row is left out (an existing instalment emptied is removed), so the positions
    the messages name are those of the rows kept, which the form shows again."""
    count = request.form.get("rows", "")
    count = min(int(count), MAX_INSTALMENTS + BLANK_ROWS + 4) if count.isdigit() else MAX_INSTALMENTS
    rows = []
    for i in range(count):
        row = {k: request.form.get(f"instalments-{i}-{k}", "").strip() for k in FIELDS}
        if any(row[k] for k in ("amount", "due_on", "method", "remind_days")):
            rows.append(row)
    return rows


def _render(order: Order, form: dict[str, Any], errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    plan = queries.plan_data(order)
    rows = list(form["instalments"]) + [{} for _i in range(BLANK_ROWS if form["instalments"] else 3)]
    return render_template(
        "finance/plan_form.html", order=order, plan=plan, form=form, rows=rows, errors=errors or {},
        due=amount_due(order), reminder_days=services.reminder_days(), status_labels=INSTALMENT_STATUS_LABELS,
        methods=[(m.value, label) for m, label in METHOD_LABELS.items()]), status


@bp.route("/orders/<int:order_id>/plan", methods=["GET", "POST"])
@permission_required("finance.plan.edit")
def edit_plan(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    if request.method == "GET":
        plan = queries.plan_of(order.id)
        if not services.plan_editable(order):
            flash(_("The plan of a cancelled or completed order can no longer change."), "warning")
            return redirect(url_for("sales.order_detail", order_id=order.id, _anchor="receivable-plan"), code=303)
        rows = ([{"id": i.id, "amount": f"{i.amount:.2f}", "due_on": i.due_on.isoformat(),
                  "method": i.method.value if i.method else "", "remind_days": i.remind_days}
                 for i in plan.instalments] if plan is not None else
                [{"amount": f"{amount_due(order):.2f}", "due_on": "", "method": "", "remind_days": ""}])
        return _render(order, {"instalments": rows, "note": plan.note if plan else "",
                               "lock_version": plan.lock_version if plan else ""})
    form = {"instalments": _rows_from_form(), "note": request.form.get("note", ""),
            "lock_version": request.form.get("lock_version", "")}
    try:
        services.save_plan(order_id, {"instalments": form["instalments"], "note": form["note"]}, actor=current_user,
                           lock_version=form["lock_version"])
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render(order, form, exc.errors, 422)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id, _anchor="receivable-plan"), code=303)
    flash(_("The receivable plan was saved."), "success")
    return redirect(url_for("sales.order_detail", order_id=order_id, _anchor="receivable-plan"), code=303)
