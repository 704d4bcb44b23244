"""Quote pages: the list in scope, a quote with its lines, rates, margins (for `product.cost` holders) and
the customer's and store's past prices beside each line; create and edit drafts, submit (starts
`quote_approval`), revise a rejected or expired quote as a new version, PDF, a customer-supplied invoice
file; other contexts add sections (finance: invoices, through `queries.register_quote_section`)."""

from __future__ import annotations

import re
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
from sqlalchemy import select

from crm.auth.decorators import permission_required
from crm.auth.scopes import visible
from crm.core import files
from crm.core.audit import ids_in
from crm.core.audit import label_of
from crm.core.audit import name_of
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.objects import register_action_label
from crm.core.validation import as_id
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.customers.models import Customer
from crm.extensions import db
from crm.sales.blueprint import bp
from crm.sales.catalog import queries as catalog_queries
from crm.sales.history import history
from crm.sales.history import readable_history
from crm.sales.opportunities import queries as opportunity_queries
from crm.sales.orders import prices
from crm.sales.orders.models import Order
from crm.sales.orders.services import audit_threshold
from crm.sales.quotes import queries as quote_queries
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import QUOTE_STATUS_LABELS
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus
from crm.sales.quotes.pdf import render_quote

FORM_ROWS = 3
LINE_KEY = re.compile(r"^lines-(\d{1,4})-(?:product_id|quantity|unit_price)$")
STATUS_BADGES = {
    QuoteStatus.DRAFT: "text-bg-secondary", QuoteStatus.PENDING_APPROVAL: "text-bg-warning",
    QuoteStatus.APPROVED: "text-bg-success", QuoteStatus.REJECTED: "text-bg-danger",
    QuoteStatus.CONVERTED: "text-bg-primary", QuoteStatus.EXPIRED: "text-bg-light border",
}
for _action_name, _label in {"submitted": _l("Submitted"), "revised": _l("Revised as a new version"),
                             "expired": _l("Expired"), "invoice_attached": _l("Invoice attached"),
                             "invoice_requested": _l("Invoice requested")}.items():
    register_action_label(_action_name, _label)
FIELD_LABELS = {"customer_id": _l("Customer"), "valid_until": _l("Valid until"), "note": _l("Note"),
                "lines": _l("Lines"), "from_version": _l("Revised from version"),
                # The quote's own columns, as its history lists them.
                "store_id": _l("Store"), "owner_id": _l("Salesperson"), "opportunity_id": _l("Opportunity"),
                "number": _l("Number"), "version": _l("Version"), "previous_id": _l("Previous version"),
                "status": _l("Status"), "list_total": _l("List total"), "total": _l("Total"),
                "submitted_at": _l("Submitted"), "decided_at": _l("Decided"),
                "decision_comment": _l("Approver's comment"), "invoice_requested": _l("Invoice requested"),
                "invoice_original_name": _l("Invoice"), "created_by_id": _l("Created by")}


def _globals() -> dict[str, Any]:
    return {"status_labels": QUOTE_STATUS_LABELS, "status_badges": STATUS_BADGES,
            "show_cost": bool(current_user.can("product.cost"))}


@bp.route("/quotes/")
@permission_required("quote.view")
def quotes() -> Any:
    status = request.args.get("status") or None
    if status not in {s.value for s in QuoteStatus}:
        status = None
    customer_id = as_id(request.args.get("customer_id")) or None
    page = quote_queries.list_quotes(current_user, status=status, customer_id=customer_id,
                                     cursor=request.args.get("cursor") or None, limit=current_app.config["PAGE_SIZE"])
    return render_template("sales/quotes.html", page=page, status=status, **_globals())


def _customer_choices() -> list[tuple[int, str]]:
    stmt = visible(select(Customer.id, Customer.name), current_user, Customer).order_by(Customer.name, Customer.id).limit(500)
    return [(row.id, row.name) for row in db.session.execute(stmt)]


def posted_lines() -> list[dict[str, Any]]:
    """The posted rows `lines-<i>-<field>` of priced lines (sales/_lines.html: the quote form, the order
    without a quote) in index order, whatever rows the page's script added or removed."""
    indices = sorted({int(m.group(1)) for key in request.form if (m := LINE_KEY.match(key))})
    return [{k: request.form.get(f"lines-{i}-{k}", "") for k in ("product_id", "quantity", "unit_price")}
            for i in indices[: quote_services.MAX_LINES + FORM_ROWS]]


def priced_lines(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """What sales/_lines.html needs besides the errors: the lines as entered plus one empty row (at least
    FORM_ROWS without script; the page's script adds and removes rows), the products of the entered lines by
    id (the picker searches the rest on the server), the discount audit's threshold from the diagram."""
    entered = [ln for ln in lines or [] if any(str(ln.get(k) or "").strip() for k in ("product_id", "quantity",
                                                                                        "unit_price"))]
    threshold = audit_threshold()
    return {"lines": entered + [{} for _i in range(max(1, FORM_ROWS - len(entered)))],
            "picked": catalog_queries.by_ids({as_id(ln.get("product_id")) for ln in entered} - {0}),
            "threshold": threshold, "threshold_label": _percent(threshold)}


def _form_of(quote: Quote | None) -> dict[str, Any]:
    if quote is None:
        return {"customer_id": request.args.get("customer_id", ""), "opportunity_id": request.args.get("opportunity_id", ""),
                "valid_until": "", "note": "", "lines": []}
    return {"customer_id": quote.customer_id, "valid_until": quote.valid_until.isoformat(), "note": quote.note or "",
            "lock_version": quote.lock_version,
            "lines": [{"product_id": ln.product_id, "quantity": ln.quantity, "unit_price": ln.unit_price}
                      for ln in quote.lines]}


def _render_form(quote: Quote | None, form: dict[str, Any], errors: dict[str, Any], status: int = 200) -> Any:
    history = prices.price_history(quote) if quote is not None else {"customer": {}, "store": {}}
    return render_template("sales/quote_form.html", quote=quote, form=form, errors=errors, history=history,
                           customers=_customer_choices(), **priced_lines(form.get("lines") or []), **_globals()), status


def _percent(rate: Any) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + " %" if rate is not None else "—"


@bp.route("/quotes/new", methods=["GET", "POST"])
@permission_required("quote.edit")
def quote_new() -> Any:
    if request.method == "GET":
        return _render_form(None, _form_of(None), {})
    form = {"customer_id": request.form.get("customer_id", ""), "opportunity_id": request.form.get("opportunity_id", ""),
            "valid_until": request.form.get("valid_until", ""),
            "note": request.form.get("note", ""), "lines": posted_lines()}
    try:
        quote = quote_services.create_quote(form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(None, form, exc.errors, 422)
    flash(_("Quote %(number)s was saved as a draft.", number=quote.number), "success")
    return redirect(url_for("sales.quote_detail", quote_id=quote.id), code=303)


@bp.route("/quotes/<int:quote_id>/edit", methods=["GET", "POST"])
@permission_required("quote.edit")
def quote_edit(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    if request.method == "GET":
        if not quote.editable:
            flash(_("Only a draft can be edited; revise the quote to change it."), "warning")
            return redirect(url_for("sales.quote_detail", quote_id=quote.id), code=303)
        return _render_form(quote, _form_of(quote), {})
    form = {"valid_until": request.form.get("valid_until", ""), "note": request.form.get("note", ""),
            "lines": posted_lines(), "customer_id": quote.customer_id,
            "lock_version": request.form.get("lock_version")}
    try:
        quote_services.update_quote(quote_id, form, actor=current_user, lock_version=request.form.get("lock_version"))
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(quote_services.get_quote(quote_id, current_user), form, exc.errors, 422)
    except DomainError as exc:
        forget_refused_write(exc)
        return _render_form(quote_services.get_quote(quote_id, current_user), form, {"_form": [str(exc.message)]},
                            exc.status)
    flash(_("The quote was saved."), "success")
    return redirect(url_for("sales.quote_detail", quote_id=quote_id), code=303)


@bp.route("/quotes/<int:quote_id>")
@permission_required("quote.view")
def quote_detail(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    order = None
    if quote.status == QuoteStatus.CONVERTED and current_user.can("order.view"):
        order = db.session.scalar(visible(select(Order), current_user, Order).where(Order.quote_id == quote.id))
    return render_template("sales/quote_detail.html", quote=quote, order=order,
                           history=prices.price_history(quote),
                           versions=quote_queries.versions(quote), sections=quote_queries.quote_sections(quote),
                           entries=_history(quote),
                           field_labels=FIELD_LABELS, **_globals())


def _history(quote: Any) -> list[dict[str, Any]]:
    """The quote's history: its status by label, the version it replaced and its opportunity by name."""
    entries = history("quote", quote)
    return readable_history(entries, quote, {
        "status": label_of(QUOTE_STATUS_LABELS),
        "previous_id": name_of(quote_queries.numbers(ids_in(entries, {"previous_id"}), current_user)),
        "opportunity_id": name_of(opportunity_queries.names(ids_in(entries, {"opportunity_id"}), current_user)),
    })


def _action(quote_id: int, fn: Any, done: str) -> Any:
    try:
        result = fn(quote_id, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        for field, messages in exc.errors.items():
            for message in messages:
                flash(f"{FIELD_LABELS.get(field.split('.')[0], field)}: {message}", "danger")
        return redirect(url_for("sales.quote_detail", quote_id=quote_id), code=303)
    except DomainError as exc:
        forget_refused_write()  # nothing is kept, not even the error record of a failed process step
        if exc.status == 404:
            abort(404)
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.quote_detail", quote_id=quote_id), code=303)
    flash(done, "success")
    return redirect(url_for("sales.quote_detail", quote_id=result.id), code=303)


@bp.route("/quotes/<int:quote_id>/submit", methods=["POST"])
@permission_required("quote.edit")
def quote_submit(quote_id: int) -> Any:
    return _action(quote_id, quote_services.submit_quote, _("The quote was submitted."))


@bp.route("/quotes/<int:quote_id>/revise", methods=["POST"])
@permission_required("quote.edit")
def quote_revise(quote_id: int) -> Any:
    return _action(quote_id, quote_services.revise_quote, _("A new version was created as a draft."))


@bp.route("/quotes/<int:quote_id>/invoice", methods=["GET", "POST"])
@permission_required("quote.view")
def quote_invoice(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    if request.method == "GET":
        if not quote.invoice_stored_name:
            abort(404)
        return stored_file_response(files.stored_path(quote.invoice_stored_name), quote.invoice_content_type or
                                    "application/octet-stream", quote.invoice_original_name or "invoice")
    if not current_user.can("quote.edit"):
        abort(403)
    upload = request.files.get("invoice")

    def attach(qid: int, actor: Any) -> Quote:
        if upload is None or not upload.filename:
            raise ValidationFailed({"invoice": _l("Choose a file.")})
        return quote_services.attach_invoice(qid, upload.filename, upload.stream, actor=actor)

    return _action(quote_id, attach, _("The invoice was attached."))


@bp.route("/quotes/<int:quote_id>/pdf")
@permission_required("quote.view")
def quote_pdf(quote_id: int) -> Any:
    quote = quote_services.get_quote(quote_id, current_user)
    name = f"{quote.number}-v{quote.version}.pdf"
    return Response(render_quote(quote), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})
