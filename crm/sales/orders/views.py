"""Order pages: the list in scope with filters (status, payment mode, store, salesperson, dates, terminal),
the export of signed orders (XLSX/CSV), making an order from an approved quote, the order page (the
pipeline diagram showing where the order is, its open tasks, items, delivery, collections, invoices,
after-sales and a timeline of the operation log and the process history), cancel. Money is
recorded through the finance context's section of the order page.

The pipeline's steps themselves are tasks in their people's inbox (`/tasks/...`); the order page links to
the open ones."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core import tabular
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.i18n import translate
from crm.core.objects import register_action_label
from crm.core.web import download
from crm.core.web import forget_refused_write
from crm.extensions import db
from crm.sales.blueprint import bp
from crm.sales.history import history
from crm.sales.history import readable_history
from crm.sales.orders import export as order_export
from crm.sales.orders import queries as order_queries
from crm.sales.orders import services as order_services
from crm.sales.orders.models import ORDER_STATUS_LABELS
from crm.sales.orders.models import PAYMENT_MODE_LABELS
from crm.sales.orders.models import TERMINAL_LABELS
from crm.sales.orders.models import OrderStatus
from crm.sales.orders.queries import OrderFilters
from crm.sales.quotes import services as quote_services
from crm.workflow import layout
from crm.workflow import progress
from crm.workflow.admin import instances as workflow_instances
from crm.workflow.models import event_label
from crm.workflow.tasks import queries as task_queries

STATUS_BADGES = {
    OrderStatus.CONTRACTING: "text-bg-secondary", OrderStatus.PENDING_COLLECTION: "text-bg-warning",
    OrderStatus.PENDING_OUTBOUND: "text-bg-info", OrderStatus.PENDING_DELIVERY: "text-bg-info",
    OrderStatus.PENDING_RECEIPT: "text-bg-primary", OrderStatus.PENDING_REFUND: "text-bg-danger",
    OrderStatus.COMPLETED: "text-bg-success", OrderStatus.CANCELLED: "text-bg-light border",
}
for _action_name, _label in {"payment_recorded": _l("Payment recorded"),
                             "cancel_requested": _l("Cancellation requested")}.items():
    register_action_label(_action_name, _label)
FIELD_LABELS = {"payment_mode": _l("Payment mode"), "terminal": _l("Terminal"), "ship_name": _l("Consignee"),
                "ship_phone": _l("Consignee's phone"), "ship_address": _l("Shipping address"), "note": _l("Note"),
                "quote_id": _l("Quote"), "reason": _l("Reason"), "amount": _l("Amount"), "method": _l("Method"),
                "reference": _l("Reference"), "customer_id": _l("Customer"), "lines": _l("Lines"),
                # The order's own columns, as its history lists them.
                "store_id": _l("Store"), "owner_id": _l("Salesperson"), "number": _l("Number"),
                "delivery_note_no": _l("Delivery note"), "status": _l("Status"), "list_total": _l("List total"),
                "total": _l("Total"), "paid_amount": _l("Paid"), "refunded_amount": _l("Refunded"),
                "contract_no": _l("Contract number"), "signed_at": _l("Signed"), "paid_at": _l("Last payment"),
                "outbound_at": _l("Outbound"), "carrier": _l("Carrier"), "tracking_no": _l("Tracking number"),
                "shipped_at": _l("Shipped"), "received_at": _l("Received"),
                "receipt_auto": _l("Receipt confirmed automatically"), "rating": _l("Customer's rating"),
                "rating_comment": _l("Customer's comment"), "completed_at": _l("Completed"),
                "cancel_reason": _l("Cancellation reason"), "cancelled_at": _l("Cancelled"),
                "created_by_id": _l("Created by")}


def _globals() -> dict[str, Any]:
    return {"status_labels": ORDER_STATUS_LABELS, "status_badges": STATUS_BADGES, "mode_labels": PAYMENT_MODE_LABELS,
            "terminal_labels": TERMINAL_LABELS, "field_labels": FIELD_LABELS}


@bp.route("/orders/")
@permission_required("order.view")
def orders() -> Any:
    filters = OrderFilters.from_args(request.args)
    page = order_queries.list_orders(current_user, filters, cursor=request.args.get("cursor") or None,
                                     limit=current_app.config["PAGE_SIZE"])
    owners, stores = order_queries.names(list(page.items))
    return render_template("sales/orders.html", page=page, filters=filters, owners=owners, stores=stores,
                           totals=order_queries.totals(current_user, filters),
                           store_choices=task_queries.store_choices(current_user),
                           owner_choices=order_queries.owner_choices(current_user), args=filters.as_args(), **_globals())


@bp.route("/orders/export")
@permission_required("order.export")
def orders_export() -> Any:
    filters = OrderFilters.from_args(request.args)
    fmt = request.args.get("format", "xlsx")
    if fmt not in tabular.FORMATS:
        fmt = "xlsx"
    body, mimetype, name = order_export.signed_orders_file(current_user, filters, fmt)
    return download(body, mimetype, name)


def _order_form(quote: Any, form: dict[str, Any], errors: dict[str, Any], status: int = 200) -> Any:
    return render_template("sales/order_form.html", quote=quote, form=form, errors=errors, **_globals()), status


@bp.route("/quotes/<int:quote_id>/order", methods=["GET", "POST"])
@permission_required("order.create")
def order_from_quote(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    customer = quote.customer
    if request.method == "GET":
        form = {"payment_mode": "prepay", "terminal": "pc", "ship_name": customer.name,
                "ship_phone": customer.mobile or "", "ship_address": customer.address or "", "note": ""}
        return _order_form(quote, form, {})
    form = {k: request.form.get(k, "") for k in ("payment_mode", "terminal", "ship_name", "ship_phone", "ship_address",
                                                 "note")}
    try:
        order = order_services.create_from_quote(quote_id, form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _order_form(quote_services.get_quote(quote_id, current_user), form, exc.errors, 422)
    except DomainError as exc:
        forget_refused_write()  # nothing is kept, not even the error record of a failed process step
        if exc.status == 404:
            abort(404)
        return _order_form(quote_services.get_quote(quote_id, current_user), form, {"_form": [str(exc.message)]},
                           exc.status)
    flash(_("Order %(number)s was created; it waits for the customer's signature.", number=order.number), "success")
    return redirect(url_for("sales.order_detail", order_id=order.id), code=303)


SHIP_FIELDS = ("payment_mode", "terminal", "ship_name", "ship_phone", "ship_address", "note")


def _direct_form(form: dict[str, Any], errors: dict[str, Any], status: int = 200) -> Any:
    """The order without a quote: its lines are the quote form's (sales/_lines.html: the product picker,
    live amounts and rates, the notice under the audit's threshold)."""
    from sqlalchemy import select

    from crm.auth.scopes import visible
    from crm.customers.models import Customer
    from crm.sales.quotes.views import priced_lines

    customers = [(r.id, r.name) for r in db.session.execute(
        visible(select(Customer.id, Customer.name), current_user, Customer).order_by(Customer.name, Customer.id).limit(500))]
    return render_template("sales/order_direct.html", form=form, errors=errors, customers=customers,
                           history={"customer": {}, "store": {}}, **priced_lines(form.get("lines") or []),
                           **_globals()), status


@bp.route("/orders/new", methods=["GET", "POST"])
@permission_required("order.create")
def order_new() -> Any:
    """An order without a quote, at 90 % of list price or more (under it: make a quote)."""
    if request.method == "GET":
        return _direct_form({"customer_id": request.args.get("customer_id", ""), "payment_mode": "prepay",
                             "terminal": "pc", "lines": []}, {})
    from crm.sales.quotes.views import posted_lines

    form: dict[str, Any] = {k: request.form.get(k, "") for k in ("customer_id", *SHIP_FIELDS)}
    form["lines"] = posted_lines()
    try:
        order = order_services.create_direct(form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _direct_form(form, exc.errors, 422)
    flash(_("Order %(number)s was created; it waits for the customer's signature.", number=order.number), "success")
    return redirect(url_for("sales.order_detail", order_id=order.id), code=303)


@bp.route("/orders/<int:order_id>")
@permission_required("order.view")
def order_detail(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    instances = order_queries.instances(order)
    instance = instances[-1] if instances else None
    states = workflow_instances.element_states(instance) if instance is not None else None
    tasks = order_queries.open_tasks(order)
    events = order_queries.process_history(order)
    people = {e.actor_id for e in events if e.actor_id} | {t.assignee_id for t in tasks if t.assignee_id}
    names = task_queries.user_names(people)
    quote = None
    if order.quote_id and current_user.can("quote.view"):
        try:
            quote = quote_services.get_quote(order.quote_id, current_user)
        except NotFound:
            quote = None
    return render_template(
        "sales/order_detail.html", order=order, instance=instance, states=states, tasks=tasks, events=events,
        steps=_steps(order, instance, states),
        event_label=event_label, names=names, quote=quote, entries=_history(order, quote),
        actions=order_queries.allowed_actions(order, current_user), sections=order_queries.order_sections(order),
        **_globals())


def _steps(order: Any, instance: Any, states: Any) -> list[dict[str, Any]]:
    """The stepper: the statuses the order's own pipeline version projects for its payment mode and data, in
    flow order; those before the order's status are done, its status is the current one."""
    if instance is None:
        return []
    data = {"payment_mode": order.payment_mode.value, **(states.data if states is not None else {})}
    names = progress.statuses(instance.definition.bpmn_xml, instance.process_key, data)
    current = order.status.value
    at = names.index(current) if current in names else (len(names) if current == "completed" else -1)
    steps = []
    for i, name in enumerate(names):
        try:
            label = ORDER_STATUS_LABELS[OrderStatus(name)]
        except ValueError:
            label = name
        state = "done" if (at >= 0 and i < at) or current == "completed" else "current" if i == at else "todo"
        steps.append({"status": name, "label": label, "state": state})
    return steps


def _history(order: Any, quote: Any) -> list[dict[str, Any]]:
    """The order's history with labels for its enums, and its quote by number when the reader may see it."""
    show: dict[str, Any] = {"status": label_of(ORDER_STATUS_LABELS), "payment_mode": label_of(PAYMENT_MODE_LABELS),
                            "terminal": label_of(TERMINAL_LABELS)}
    if quote is not None:
        show["quote_id"] = name_of({quote.id: f"{quote.number} v{quote.version}"})
    return readable_history(history("order", order), order, show)


@bp.route("/orders/<int:order_id>/diagram")
@permission_required("order.view")
def order_diagram(order_id: int) -> Any:
    """The diagram of the pipeline version the order runs on (for the viewer on the order page)."""
    order = order_services.get_order(order_id, current_user)
    instances = order_queries.instances(order)
    if not instances:
        abort(404)
    instance = instances[-1]
    names = workflow_instances.element_states(instance).names  # rendered from the order's data, in the reader's language
    return Response(layout.labelled(layout.with_layout(instance.definition.bpmn_xml), names, translate),
                    mimetype="application/xml")


def _act(order_id: int, fn: Any, done: str) -> Any:
    try:
        fn()
    except ValidationFailed as exc:
        forget_refused_write(exc)
        for field, messages in exc.errors.items():
            for message in messages:
                flash(f"{FIELD_LABELS.get(field.split('.')[0], field)}: {message}", "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id), code=303)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)  # a failed process step keeps its error record
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id), code=303)
    flash(done, "success")
    return redirect(url_for("sales.order_detail", order_id=order_id), code=303)


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@permission_required("order.cancel")
def order_cancel(order_id: int) -> Any:
    return _act(order_id, lambda: order_services.cancel_order(order_id, {"reason": request.form.get("reason", "")},
                                                              actor=current_user),
                _("The cancellation was recorded."))
