"""Collection and refund pages: record a collection for an order (with its vouchers), a payment's page
(vouchers in a viewer, its verification in place for the finance user whose task it is, history), the
vouchers themselves, and the finance section of the order page."""

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
from markupsafe import Markup
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.core.audit import timeline
from crm.core.clock import local_today
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.finance.blueprint import bp
from crm.finance.ledger import queries as ledger_queries
from crm.finance.payments import services
from crm.finance.payments.models import METHOD_LABELS
from crm.finance.payments.models import OBJECT_TYPE
from crm.finance.payments.models import STATUS_LABELS
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentMethod
from crm.finance.plans import queries as plan_queries
from crm.finance.plans import services as plan_services
from crm.finance.plans.models import INSTALMENT_STATUS_LABELS
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.models import event_label
from crm.workflow.tasks import queries as task_queries
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission

COLLECTION_FIELDS = ("amount", "paid_on", "method", "payer", "reference", "note", "instalment_id")


def _uploads(name: str = "vouchers") -> list[tuple[Any, Any]]:
    return [(f.filename, f.stream) for f in request.files.getlist(name) if f and f.filename]


def _collection_form(order: Order, form: dict[str, Any], errors: dict[str, list[str]] | None = None,
                     status: int = 200) -> Any:
    instalments = [(i.id, _("Instalment %(n)d · due %(day)s · %(amount)s open", n=i.number, day=i.due_on.isoformat(),
                          amount=f"¥{i.open_amount:,.2f}")) for i in plan_queries.open_instalments(order.id)]
    return render_template("finance/collection_form.html", order=order, form=form, errors=errors or {},
                           due=services.still_due(order), instalments=instalments,
                           methods=[(m.value, label) for m, label in METHOD_LABELS.items()]), status


@bp.route("/orders/<int:order_id>/collections/new", methods=["GET", "POST"])
@permission_required("finance.collection.record")
def record_collection(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    if request.method == "GET":
        return _collection_form(order, {"amount": f"{services.still_due(order):.2f}", "paid_on": local_today().isoformat(),
                                        "method": PaymentMethod.BANK_TRANSFER.value,
                                        "instalment_id": request.args.get("instalment_id", "")})
    form = {k: request.form.get(k, "") for k in COLLECTION_FIELDS}
    try:
        payment = services.record_collection(order_id, form, _uploads(), actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _collection_form(order, form, exc.errors, 422)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id), code=303)
    flash(_("The collection of ¥%(amount)s was recorded; finance verifies it against the voucher.",
            amount=f"{payment.amount:,.2f}"), "success")
    return redirect(url_for("finance.payment_detail", payment_id=payment.id), code=303)


def _open_task(payment: Payment) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.object_type == OBJECT_TYPE, HumanTask.object_id == payment.id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).order_by(HumanTask.id.desc()).limit(1))


@bp.route("/payments/<int:payment_id>")
@permission_required("order.view")
def payment_detail(payment_id: int) -> Any:
    payment = services.get_payment(payment_id, current_user)
    task = _open_task(payment)
    can_decide = (task is not None and task.bpmn_id == "cv_verify" and tasks.can_complete(task, current_user)
                  and payment.recorded_by_id != current_user.id)
    names = ledger_queries.labels([payment])
    events = [e for i in runtime.instances_of(OBJECT_TYPE, payment.id) for e in runtime.history(i.id)]
    return render_template(
        "finance/payment_detail.html", payment=payment, task=task, can_decide=can_decide, names=names,
        status_labels=STATUS_LABELS, method_labels=METHOD_LABELS, entries=timeline(db.session, "payment", payment.id),
        events=events, event_label=event_label, people=task_queries.user_names({e.actor_id for e in events if e.actor_id}),
        can_add_vouchers=services.voucher_refusal(payment, current_user) is None)


@bp.route("/payments/<int:payment_id>/decide", methods=["POST"])
@permission_required("finance.collection.verify")
def decide(payment_id: int) -> Any:
    """Verify or reject from the payment's page: the same task completion as the inbox's."""
    payment = services.get_payment(payment_id, current_user)
    task = _open_task(payment)
    if task is None or task.bpmn_id != "cv_verify":
        flash(_("This collection is not waiting for verification."), "warning")
        return redirect(url_for("finance.payment_detail", payment_id=payment_id), code=303)
    decision = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", "")}
    try:
        tasks.complete(task.id, JsonSubmission({"verification": decision}), actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
        return redirect(url_for("finance.payment_detail", payment_id=payment_id), code=303)
    flash(_("The collection was verified.") if decision["decision"] == "verify" else
          _("The collection was rejected and went back to its recorder."), "success")
    return redirect(url_for("finance.payment_detail", payment_id=payment_id), code=303)


@bp.route("/payments/<int:payment_id>/vouchers", methods=["POST"])
@permission_required("order.view")
def add_vouchers(payment_id: int) -> Any:
    try:
        services.add_vouchers(payment_id, _uploads(), actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The vouchers were added."), "success")
    return redirect(url_for("finance.payment_detail", payment_id=payment_id), code=303)


@bp.route("/payments/<int:payment_id>/vouchers/<int:voucher_id>")
@permission_required("order.view")
def voucher(payment_id: int, voucher_id: int) -> Any:
    item, path = services.voucher_file(payment_id, voucher_id, current_user)
    return stored_file_response(path, item.content_type, item.original_name, inline=item.is_image)


def order_section(order: Order) -> Markup:
    """The finance part of the order page: money due, the receivable plan with each instalment's status,
    collections with their vouchers and status, refunds, and the buttons to record a collection while the
    order waits for one and to create or edit the plan."""
    if not current_user.can("finance.view") and current_user.id != order.owner_id:
        return Markup("")
    payments = ledger_queries.of_order(order.id)
    accepts = services.accepts_collections(order, runtime.instances_of("order", order.id))  # a read: no lock
    plan = plan_queries.plan_data(order)
    return Markup(render_template(
        "finance/_order_section.html", order=order, payments=payments, names=ledger_queries.labels(payments),
        status_labels=STATUS_LABELS, method_labels=METHOD_LABELS, due=services.still_due(order),
        amount_due=services.amount_due(order), plan=plan, instalment_labels=INSTALMENT_STATUS_LABELS,
        instalment_numbers={i["id"]: i["number"] for i in plan["instalments"]} if plan else {},
        can_plan=plan_services.may_edit(order, current_user),
        can_record=current_user.can("finance.collection.record") and accepts))
