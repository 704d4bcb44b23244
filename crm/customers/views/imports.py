"""Import pages: upload, column mapping with preview, progress (htmx polling), result and error report."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.auth.scopes import get_visible
from crm.core.errors import ValidationFailed
from crm.core.web import forget_refused_write
from crm.customers import imports as services
from crm.customers.models import ImportJob
from crm.customers.models import ImportStatus
from crm.customers.views.common import bp
from crm.customers.views.common import people_choices
from crm.customers.views.common import store_choices


@bp.route("/import", methods=["GET", "POST"])
@permission_required("customer.import")
def import_upload() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationFailed({"file": _("Choose a .csv or .xlsx file.")})
            job = services.upload(upload.filename, upload.stream, actor=current_user,
                                  store_id=request.form.get("store_id"),
                                  target="leads" if request.form.get("target") == "leads" else "customers")
        except ValidationFailed as exc:
            forget_refused_write(exc)
            errors = exc.errors
        else:  # "to=pool": opened from the high seas, rows without an owner column go to the pool
            to = {"to": "pool"} if request.form.get("to") == "pool" else {}
            return redirect(url_for("customers.import_mapping", job_id=job.id, **to))
    return render_template("customers/import_upload.html", errors=errors,
                           stores=store_choices() if current_user.store_id is None else [],
                           preset_store=request.values.get("store_id", type=int)), 422 if errors else 200


def _job(job_id: int) -> ImportJob:
    return get_visible(ImportJob, job_id, current_user)


@bp.route("/import/<int:job_id>", methods=["GET", "POST"])
@permission_required("customer.import")
def import_mapping(job_id: int) -> Any:
    job = _job(job_id)
    if job.status != ImportStatus.DRAFT:
        return redirect(url_for("customers.import_status", job_id=job.id))
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        mapping = {field: request.form.get(f"map_{field}") for field in services.FIELDS}
        row_choices = {key[4:]: value for key, value in request.form.items() if key.startswith("row_")}
        try:
            if request.form.get("step") == "check":  # keep the mapping, show the duplicates it finds
                services.save_mapping(job, mapping)
                to = {"to": "pool"} if request.args.get("to") == "pool" else {}
                return redirect(url_for("customers.import_mapping", job_id=job.id, **to) + "#duplicates")
            services.confirm(job, mapping, request.form.get("on_duplicate", "skip"),
                             request.form.get("default_owner_id"), actor=current_user, row_choices=row_choices)
        except ValidationFailed as exc:
            forget_refused_write(exc)
            job = _job(job_id)
            errors = exc.errors
        else:
            flash(_("The import has started; this page shows its progress."), "success")
            return redirect(url_for("customers.import_status", job_id=job.id))
    columns, rows = services.preview(job)
    duplicates = services.duplicate_preview(job, current_user)
    return render_template("customers/import_mapping.html", job=job, columns=columns, rows=rows, fields=services.FIELDS,
                           column_choices=[(i, c or f"#{i + 1}") for i, c in enumerate(columns)],
                           errors=errors, people=people_choices(job.store_id, owners=True), duplicates=duplicates,
                           row_choices=[("", _("As chosen above"))] + [
                               (c, {"skip": _("Skip"), "update": _("Update"), "create": _("Create anyway")}[c])
                               for c in services.choices_for(job)]), 422 if errors else 200


@bp.route("/import/<int:job_id>/status")
@permission_required("customer.import")
def import_status(job_id: int) -> Any:
    job = _job(job_id)
    template = "customers/_import_progress.html" if request.headers.get("HX-Request") else "customers/import_status.html"
    return render_template(template, job=job)


@bp.route("/import/<int:job_id>/errors.csv")
@permission_required("customer.import")
def import_errors(job_id: int) -> Any:
    job = _job(job_id)
    return Response(services.error_report(job), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'})
