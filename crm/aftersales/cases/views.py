"""After-sales pages: the case list with filters, saved views and its export, a case's page (lines, shipments,
inspection and photos, refund and invoice records, its live diagram, the timeline of the operation log and
the process history), the form that opens a case from an order, and the after-sales box of the order page."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from crm.aftersales.blueprint import bp
from crm.aftersales.cases import queries
from crm.aftersales.cases import services
from crm.aftersales.cases.models import OBJECT_TYPE
from crm.aftersales.cases.models import STATUS_BADGES
from crm.aftersales.cases.models import STATUS_LABELS
from crm.aftersales.cases.models import TYPE_LABELS
from crm.aftersales.cases.models import CaseType
from crm.aftersales.cases.queries import CaseFilters
from crm.auth.decorators import permission_required
from crm.core import saved_views
from crm.core import tabular
from crm.core.audit import timeline
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.i18n import translate
from crm.core.saved_views import views as saved_view_pages
from crm.core.web import download
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.extensions import db
from crm.finance.payments.models import Payment
from crm.sales.orders import queries as order_queries
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.workflow import layout
from crm.workflow import runtime
from crm.workflow.admin import instances as workflow_instances
from crm.workflow.models import event_label
from crm.workflow.tasks import queries as task_queries

EXPORT_LIMIT = 10000
LIST_KEY = "aftersales_cases"  # its saved views
TITLES = [_l("Case"), _l("Requested"), _l("Type"), _l("Status"), _l("Order"), _l("Customer"), _l("Store"),
          _l("Salesperson"), _l("Amount"), _l("Refunded"), _l("Reason"), _l("Closed")]


def _globals() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES, "type_labels": TYPE_LABELS,
            "types": [(t.value, label) for t, label in TYPE_LABELS.items()]}


@bp.route("")
@permission_required("order.view")
def cases() -> Any:
    view, opening = saved_view_pages.open_view(LIST_KEY, "aftersales.cases", current_user)
    if opening is not None:  # opening a saved view: its filters
        return opening
    filters = CaseFilters.from_args(request.args)
    page = queries.case_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template("aftersales/cases.html", page=page, filters=filters, names=queries.labels(page.items),
                           owners=order_queries.owner_choices(current_user), args=filters.as_args(),
                           stores=task_queries.store_choices(current_user), view=view,
                           views=saved_views.views_of(LIST_KEY, current_user), **_globals())


# Saved views: POST /after-sales/views and /after-sales/views/<view_id>/delete (crm/core/saved_views).
saved_view_pages.add_routes(bp, LIST_KEY, "aftersales.cases", permission_required("order.view"), lambda: current_user)


def _rows(rows: list[Any]) -> Any:
    names = queries.labels(rows)
    for c in rows:
        yield [c.number, c.requested_at, str(TYPE_LABELS[c.type]), str(STATUS_LABELS[c.status]),
               names["orders"].get(c.order_id, ""), names["customers"].get(c.customer_id, ""),
               names["stores"].get(c.store_id, ""), names["people"].get(c.owner_id, ""), c.amount,
               c.refunded_amount, c.reason, c.closed_at]


@bp.route("/export")
@permission_required("order.export")
def cases_export() -> Any:
    """The filtered cases as XLSX or CSV (the shared writer: formulas neutralised)."""
    filters = CaseFilters.from_args(request.args)
    fmt = request.args.get("format", "xlsx")
    if fmt not in tabular.FORMATS:
        fmt = "xlsx"
    rows = queries.for_export(current_user, filters, EXPORT_LIMIT)
    body = tabular.write_table([str(t) for t in TITLES], _rows(rows), fmt, sheet="after-sales")
    return download(body, tabular.MIMETYPES[fmt], f"after-sales.{fmt}")


@bp.route("/<int:case_id>")
@permission_required("order.view")
def case_detail(case_id: int) -> Any:
    case = services.get_case(case_id, current_user)
    instances = runtime.instances_of(OBJECT_TYPE, case.id)
    instance = instances[-1] if instances else None
    states = workflow_instances.element_states(instance) if instance is not None else None
    events = [e for i in instances for e in runtime.history(i.id)]
    tasks = [t for i in instances for t in workflow_instances.open_tasks(i)]
    people = {e.actor_id for e in events if e.actor_id} | {t.assignee_id for t in tasks if t.assignee_id}
    people |= {case.inspected_by_id} if case.inspected_by_id else set()
    refund = db.session.get(Payment, case.refund_payment_id) if case.refund_payment_id else None
    return render_template(
        "aftersales/case_detail.html", case=case, names=queries.labels([case]), instance=instance, states=states,
        tasks=tasks, entries=timeline(db.session, OBJECT_TYPE, case.id), events=events, event_label=event_label,
        people=task_queries.user_names(people), refund=refund,
        can_add_photos=services.photo_refusal(case, current_user) is None, **_globals())


@bp.route("/<int:case_id>/diagram")
@permission_required("order.view")
def case_diagram(case_id: int) -> Any:
    """The diagram of the version the case runs on (for the viewer on the case and order pages)."""
    case = services.get_case(case_id, current_user)
    instances = runtime.instances_of(OBJECT_TYPE, case.id)
    if not instances:
        abort(404)
    instance = instances[-1]
    names = workflow_instances.element_states(instance).names
    return Response(layout.labelled(layout.with_layout(instance.definition.bpmn_xml), names, translate),
                    mimetype="application/xml")


@bp.route("/<int:case_id>/photos", methods=["POST"])
@permission_required("order.view")
def add_photos(case_id: int) -> Any:
    uploads = [(f.filename, f.stream) for f in request.files.getlist("photos") if f and f.filename]
    try:
        services.add_photos(case_id, uploads, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The photos were added."), "success")
    return redirect(url_for("aftersales.case_detail", case_id=case_id), code=303)


@bp.route("/<int:case_id>/photos/<int:photo_id>")
@permission_required("order.view")
def photo(case_id: int, photo_id: int) -> Any:
    item, path = services.photo_file(case_id, photo_id, current_user)
    return stored_file_response(path, item.content_type, item.original_name, inline=True)


def _form_values() -> dict[str, Any]:
    """The case form: one quantity field per order line (`qty_<line id>`); lines left at 0 are not in it."""
    lines = []
    for key in request.form:
        if key.startswith("qty_") and request.form.get(key, "").strip() not in ("", "0"):
            line_id = key[4:]
            lines.append({"order_line_id": line_id, "quantity": request.form.get(key),
                          "note": request.form.get(f"note_{line_id}", "")})
    return {"type": request.form.get("type", ""), "reason": request.form.get("reason", ""),
            "amount": request.form.get("amount", ""), "invoice_reissue": request.form.get("invoice_reissue") == "1",
            "lines": lines}


def _open_form(order: Order, form: dict[str, Any], errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    choices = services.line_choices(order)
    # Errors of `lines.N.*` shown beside the order line they are about.
    line_errors: dict[str, Any] = {}
    for i, raw in enumerate(form.get("lines") or []):
        for field in ("order_line_id", "quantity"):
            message = (errors or {}).get(f"lines.{i}.{field}")
            if message:
                line_errors[str(raw.get("order_line_id"))] = message
    quantities = {str(raw.get("order_line_id")): raw.get("quantity") for raw in form.get("lines") or []}
    return render_template("aftersales/case_form.html", order=order, form=form, errors=errors or {},
                           choices=choices, line_errors=line_errors, quantities=quantities,
                           refundable=services.refundable(order), **_globals()), status


@bp.route("/orders/<int:order_id>/new", methods=["GET", "POST"])
@permission_required(services.PERMISSION)
def open_case(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    if request.method == "GET":
        kind = request.args.get("type", CaseType.RETURN_REFUND.value)
        return _open_form(order, {"type": kind if kind in TYPE_LABELS else CaseType.RETURN_REFUND.value})
    form = _form_values()
    try:
        case = services.open_case(order_id, form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _open_form(order, form, exc.errors, 422)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id), code=303)
    flash(_("After-sales case %(no)s was opened.", no=case.number), "success")
    return redirect(url_for("aftersales.case_detail", case_id=case.id), code=303)


def order_section(order: Order) -> Markup:
    """The order's after-sales box: its cases with type, status and amounts, each linking to its page with
    the live diagram (the order page's own viewer shows the pipeline), and the link that opens a new case."""
    rows = queries.of_order(order.id, current_user)
    can_open = services.may_open(order, current_user)
    return Markup(render_template("aftersales/_order_section.html", order=order, cases=rows, can_open=can_open,
                                  names=queries.labels(rows), **_globals()))


def customer_link(customer: Any) -> Markup:
    """The customer page's after-sales line: the number of cases, the list filtered to the customer."""
    if not current_user.is_authenticated or not current_user.can("order.view"):
        return Markup("")
    page = queries.case_page(current_user, CaseFilters(customer_id=customer.id), limit=10)
    return Markup(render_template("aftersales/_customer_cases.html", customer=customer, cases=page.items,
                                  **_globals()))
