"""Make-up pages: the list with filters, a make-up's page (its approval, withdrawal, history), the request
form from an order, and the make-ups section finance adds to the order page."""

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
from crm.extensions import db
from crm.finance.blueprint import bp
from crm.finance.makeups import queries
from crm.finance.makeups import services
from crm.finance.makeups.models import KIND_LABELS
from crm.finance.makeups.models import OBJECT_TYPE
from crm.finance.makeups.models import STATUS_BADGES
from crm.finance.makeups.models import STATUS_LABELS
from crm.finance.makeups.models import MakeUpKind
from crm.finance.makeups.models import MakeUpStatus
from crm.finance.makeups.queries import MakeUpFilters
from crm.sales.orders import queries as order_queries
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.workflow import runtime
from crm.workflow.models import event_label
from crm.workflow.tasks import queries as task_queries

FIELDS = ("amount", "kind", "reason", "due_on")
SEE_MAKE_UPS = ("finance.view", services.PERMISSION)


def _globals() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "status_badges": STATUS_BADGES, "kind_labels": KIND_LABELS,
            "kinds": [(k.value, label) for k, label in KIND_LABELS.items()]}


@bp.route("/make-ups")
@permission_required()
def make_ups() -> Any:
    if not any(current_user.can(p) for p in SEE_MAKE_UPS):
        raise PermissionDenied()
    filters = MakeUpFilters.from_args(request.args)
    page = queries.make_up_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template("finance/make_ups.html", page=page, filters=filters, names=queries.labels(page.items),
                           owners=order_queries.owner_choices(current_user),
                           stores=task_queries.store_choices(current_user), **_globals())


@bp.route("/make-ups/<int:make_up_id>")
@permission_required("order.view")
def make_up_detail(make_up_id: int) -> Any:
    make_up = services.get_make_up(make_up_id, current_user)
    events = [e for i in runtime.instances_of(OBJECT_TYPE, make_up.id) for e in runtime.history(i.id)]
    return render_template(
        "finance/make_up_detail.html", make_up=make_up, names=queries.labels([make_up]),
        entries=timeline(db.session, "make_up", make_up.id), events=events, event_label=event_label,
        people=task_queries.user_names({e.actor_id for e in events if e.actor_id}),
        can_withdraw=make_up.status == MakeUpStatus.REQUESTED and make_up.requested_by_id == current_user.id,
        **_globals())


@bp.route("/make-ups/<int:make_up_id>/withdraw", methods=["POST"])
@permission_required("order.view")
def withdraw_make_up(make_up_id: int) -> Any:
    try:
        services.withdraw_make_up(make_up_id, actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("The make-up was withdrawn."), "success")
    return redirect(url_for("finance.make_up_detail", make_up_id=make_up_id), code=303)


def _form(order: Order, form: dict[str, Any], errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    return render_template("finance/make_up_form.html", order=order, form=form, errors=errors or {},
                           **_globals()), status


@bp.route("/orders/<int:order_id>/make-ups/new", methods=["GET", "POST"])
@permission_required(services.PERMISSION)
def request_make_up(order_id: int) -> Any:
    order = order_services.get_order(order_id, current_user)
    if request.method == "GET":
        return _form(order, {"kind": MakeUpKind.FREIGHT.value})
    form = {k: request.form.get(k, "") for k in FIELDS}
    try:
        make_up = services.request_make_up(order_id, form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _form(order, form, exc.errors, 422)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        forget_refused_write(exc)
        flash(str(exc.message), "danger")
        return redirect(url_for("sales.order_detail", order_id=order_id), code=303)
    if make_up.status == MakeUpStatus.APPROVED:
        flash(_("The make-up of ¥%(amount)s was approved: the order now owes it too.", amount=f"{make_up.amount:,.2f}"),
              "success")
    else:
        flash(_("The make-up of ¥%(amount)s was requested; it counts once approved.", amount=f"{make_up.amount:,.2f}"),
              "success")
    return redirect(url_for("finance.make_up_detail", make_up_id=make_up.id), code=303)


def order_section(order: Order) -> Markup:
    """The order's make-ups with their status, what the approved ones add, and the request form while the
    order takes make-ups."""
    rows = queries.of_order(order.id, current_user)
    can_request = services.may_request(order, current_user)
    if not rows and not can_request:
        return Markup("")
    return Markup(render_template("finance/_make_up_section.html", order=order, make_ups=rows,
                                  names=queries.labels(rows), can_request=can_request, form={"kind": "freight"},
                                  errors={}, **_globals()))
