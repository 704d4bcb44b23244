"""Invoice pages: the list with filters, an invoice's page (its file, where it waits, void), the request
form from an order or a quote, the customer-supplied file on an order (kept on its quote), and the
invoice sections finance adds to the order and quote pages."""

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

from crm.auth.decorators import permission_required
from crm.core.audit import timeline
from crm.core.errors import DomainError
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.finance.blueprint import bp
from crm.finance.invoices import queries
from crm.finance.invoices import services
from crm.finance.invoices.models import OBJECT_TYPE
from crm.finance.invoices.models import STATUS_BADGES
from crm.finance.invoices.models import STATUS_LABELS
from crm.finance.invoices.models import TYPE_LABELS
from crm.finance.invoices.models import InvoiceStatus
from crm.finance.invoices.models import InvoiceType
from crm.finance.invoices.queries import InvoiceFilters
from crm.finance.invoices.queries import Target
from crm.sales.orders import queries as order_queries
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import Quote
from crm.workflow import runtime
from crm.workflow.models import event_label
from crm.workflow.tasks import queries as task_queries

REQUEST_FIELDS = ("type", "title", "taxpayer_no", "amount", "email", "mailing_address", "note")
SEE_INVOICES = ("finance.view", "finance.invoice.request", "finance.invoice.issue", "finance.invoice.mail")


def _may_list() -> None:
    if not any(current_user.can(p) for p in SEE_INVOICES):
        raise PermissionDenied()


def _globals() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES, "type_labels": TYPE_LABELS}


@bp.route("/invoices")
@permission_required()
def invoices() -> Any:
    _may_list()
    filters = InvoiceFilters.from_args(request.args)
    page = queries.invoice_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template("finance/invoices.html", page=page, filters=filters, names=queries.labels(page.items),
                           owners=order_queries.owner_choices(current_user),
                           stores=task_queries.store_choices(current_user), **_globals())


@bp.route("/invoices/<int:invoice_id>")
@permission_required()
def invoice_detail(invoice_id: int) -> Any:
    invoice = services.get_invoice(invoice_id, current_user)
    task = queries.open_task(invoice)
    events = [e for i in runtime.instances_of(OBJECT_TYPE, invoice.id) for e in runtime.history(i.id)]
    return render_template(
        "finance/invoice_detail.html", invoice=invoice, task=task, names=queries.labels([invoice]),
        entries=timeline(db.session, "invoice", invoice.id), events=events, event_label=event_label,
        people=task_queries.user_names({e.actor_id for e in events if e.actor_id}),
        can_void=current_user.can("finance.invoice.issue") and invoice.status in (InvoiceStatus.ISSUED,
                                                                                  InvoiceStatus.MAILED),
        **_globals())


@bp.route("/invoices/<int:invoice_id>/file")
@permission_required()
def invoice_file(invoice_id: int) -> Any:
    invoice, path = services.invoice_file(invoice_id, current_user)
    return stored_file_response(path, invoice.file_content_type or "application/octet-stream",
                                invoice.file_original_name or "invoice", inline=invoice.file_is_image)


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@permission_required("finance.invoice.issue")
def void_invoice(invoice_id: int) -> Any:
    try:
        services.void_invoice(invoice_id, {"reason": request.form.get("reason", "")}, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The invoice was voided; its amount can be invoiced again."), "success")
    return redirect(url_for("finance.invoice_detail", invoice_id=invoice_id), code=303)


# Requesting ------------------------------------------------------------------------------------------------
def _request_form(target: Target, label: str, back: str, form: dict[str, Any],
                  errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    return render_template("finance/invoice_request_form.html", label=label, back=back, form=form, errors=errors or {},
                           invoiceable=services.invoiceable(target),
                           types=[(t.value, name) for t, name in TYPE_LABELS.items()]), status


def _initial(target: Target, customer: Any) -> dict[str, Any]:
    return {"type": InvoiceType.ELECTRONIC.value, "title": customer.name, "amount": f"{services.invoiceable(target):.2f}",
            "email": getattr(customer, "email", None) or ""}


def _requested(submit: Any, target: Target, label: str, back: str) -> Any:
    form = {k: request.form.get(k, "") for k in REQUEST_FIELDS}
    try:
        invoice = submit(form)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _request_form(target, label, back, form, exc.errors, 422)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(back, code=303)
    flash(_("The invoice of ¥%(amount)s was requested; finance issues it.", amount=f"{invoice.amount:,.2f}"), "success")
    return redirect(url_for("finance.invoice_detail", invoice_id=invoice.id), code=303)


@bp.route("/orders/<int:order_id>/invoices/new", methods=["GET", "POST"])
@permission_required("finance.invoice.request")
def request_for_order(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    target = services.target_of_order(order)
    label, back = _("Order %(number)s", number=order.number), url_for("sales.order_detail", order_id=order.id)
    if request.method == "GET":
        return _request_form(target, label, back, _initial(target, order.customer))
    return _requested(lambda form: services.request_for_order(order_id, form, actor=current_user), target, label, back)


@bp.route("/quotes/<int:quote_id>/invoices/new", methods=["GET", "POST"])
@permission_required("finance.invoice.request")
def request_for_quote(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    order = queries.order_of_quote(quote.id)
    if order is not None:  # a quote that became an order is invoiced as the order
        return redirect(url_for("finance.request_for_order", order_id=order.id), code=303)
    target = services.target_of_quote(quote)
    label = _("Quote %(number)s v%(version)s", number=quote.number, version=quote.version)
    back = url_for("sales.quote_detail", quote_id=quote.id)
    if request.method == "GET":
        return _request_form(target, label, back, _initial(target, quote.customer))
    return _requested(lambda form: services.request_for_quote(quote_id, form, actor=current_user), target, label, back)


@bp.route("/orders/<int:order_id>/supplied-invoice", methods=["POST"])
@permission_required("quote.edit")
def attach_supplied(order_id: int) -> Any:
    """A customer-supplied invoice file attached from the order page; it is kept on the order's quote."""
    order = order_services.get_order(order_id, current_user)
    upload = request.files.get("invoice")
    try:
        if order.quote_id is None:
            raise ValidationFailed({"invoice": _("This order was made without a quote: there is nothing to attach it to.")})
        if upload is None or not upload.filename:
            raise ValidationFailed({"invoice": _("Choose a file.")})
        quote_services.attach_invoice(order.quote_id, upload.filename, upload.stream, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The invoice was attached."), "success")
    return redirect(url_for("sales.order_detail", order_id=order_id) + "#invoices", code=303)


# The sections of the order and quote pages -------------------------------------------------------------------
def _section(target: Target, *, order: Order | None, quote: Quote | None, request_url: str | None) -> Markup:
    invoices = queries.of_target(target, current_user)
    left = services.invoiceable(target)
    return Markup(render_template(
        "finance/_invoice_section.html", invoices=invoices, names=queries.labels(invoices), left=left, order=order,
        quote=quote, request_url=request_url if left > 0 and current_user.can("finance.invoice.request") else None,
        **_globals()))


def order_section(order: Order) -> Markup:
    """The invoices of the order (those asked on its quote included), what can still be invoiced, the
    request button, and the customer-supplied file kept on its quote."""
    quote = db.session.get(Quote, order.quote_id) if order.quote_id else None
    url = None if order.status in services.CLOSED_ORDERS else url_for("finance.request_for_order", order_id=order.id)
    return _section(services.target_of_order(order), order=order, quote=quote, request_url=url)


def quote_section(quote: Quote) -> Markup:
    """The quote's invoices (its order's once it has one) and the request button while it can be invoiced."""
    target = services.target_for_quote_page(quote)
    if target is None:
        return Markup("")
    url = (url_for("finance.request_for_order", order_id=target.order.id) if target.order is not None
           else url_for("finance.request_for_quote", quote_id=quote.id))
    return _section(target, order=None, quote=None, request_url=url)
