"""Recording follow-ups, their attachments, and the "to follow up" list (overdue, today, upcoming)."""

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
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.core.web import stored_file_response
from crm.customers import queries
from crm.customers.services import follow_ups as services
from crm.customers.views.common import bp
from crm.customers.views.common import form_values
from crm.customers.views.common import load


@bp.route("/<int:customer_id>/follow-ups", methods=["POST"])
@permission_required("customer.edit")
def follow_up_add(customer_id: int) -> Any:
    from crm.customers.views.customers import _render_detail

    customer = load(customer_id)
    files = [(f.filename, f.stream) for f in request.files.getlist("attachments") if f and f.filename]
    try:
        services.record_follow_up(customer, form_values(), actor=current_user, files=files)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_detail(load(customer_id), exc.errors, form_values(), 422, "follow_ups")
    except DomainError as exc:
        if exc.status == 404:
            raise
        forget_refused_write()  # nothing is kept, not even the error record of a failed process step
        flash(str(exc.message), "danger")
        return redirect(url_for("customers.detail", customer_id=customer_id))
    flash(_("The follow-up was recorded."), "success")
    return redirect(url_for("customers.detail", customer_id=customer_id) + "#follow_ups")


@bp.route("/<int:customer_id>/follow-ups/<int:follow_up_id>/files/<int:index>")
@permission_required("customer.view")
def follow_up_file(customer_id: int, follow_up_id: int, index: int) -> Any:
    customer = load(customer_id)
    item, path = services.get_attachment(customer, follow_up_id, index)
    if not path.is_file():
        raise NotFound()
    # Bytes, not the path: the file handle is closed at once (uploads are at most a few MB).
    return stored_file_response(path, item["type"], item["name"])


@bp.route("/follow-up")
@permission_required("customer.view")
def to_follow_up() -> Any:
    buckets = {b: queries.to_follow_up(current_user, b) for b in ("overdue", "today", "upcoming")}
    return render_template("customers/to_follow_up.html", buckets=buckets)
