"""Enquiry statistics pages (blueprint `enquiries`, under /enquiries): the statistics (rates with the
previous window, trend chart, daily tables per platform and per salesperson, exports), the platform
figures' week grid and import with its error report, a salesperson's own week and screenshots, the
screenshot gallery and a row's history. URL variables: `screenshot_id`, `import_id`, `enquiry_id`,
`figure_id` (the isolation crawler knows them)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.files import stored_path
from crm.core.objects import register_action_label
from crm.core.tabular import MIMETYPES
from crm.core.web import attempt
from crm.core.web import download
from crm.core.web import int_arg
from crm.core.web import stored_file_response
from crm.enquiries import export
from crm.enquiries import queries
from crm.enquiries import services
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquirySalespersonDaily
from crm.org.models import PLATFORM_LABELS

bp = Blueprint("enquiries", __name__, template_folder="templates", url_prefix="/enquiries")

register_action_label("enquiry_imported", _l("Imported from a file"))


def _week_of(raw: Any) -> list[date]:
    """Monday to Sunday of the week holding the day `raw` (today when unreadable)."""
    try:
        day = date.fromisoformat(str(raw or "")[:10])
    except ValueError:
        day = queries.local_today()
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def _errors_text(exc: DomainError) -> str:
    return "; ".join(m for msgs in exc.errors.values() for m in msgs) or str(exc.message)


# Statistics ---------------------------------------------------------------------------------------------------
@bp.get("/")
@permission_required("enquiry.view")
def index() -> Any:
    key, filters = queries.filters_of(request.args, current_user)
    platform = queries.platform_rows(current_user, filters)
    people = queries.people_rows(current_user, filters)
    rates, now, before = queries.rates(current_user, filters)
    chart = queries.trend(platform, people, filters.window)
    stores, departments = queries.unit_choices(current_user)
    chart["labels"] = {"enquiries": _("Enquiries"), "new_enquiries": _("New enquiries"),
                       "wechat_adds": _("WeChat adds"), "contacts": _("Contacts"), "total": _("All")}
    return render_template("enquiries/index.html", window_key=key, filters=filters, windows=queries.WINDOWS,
                           platform=platform, people=people, rates=rates, now=now, before=before, chart=chart,
                           stores=stores, departments=departments, persons=queries.people_choices(current_user), platform_labels=PLATFORM_LABELS,
                           capped=queries.MAX_TABLE_ROWS)


def _export(which: str) -> Any:
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": _("Choose CSV or Excel.")})
    _key, filters = queries.filters_of(request.args, current_user)
    write = export.platform_file if which == "platform" else export.people_file
    body, name = write(current_user, filters, fmt)
    return download(body, MIMETYPES[fmt], name)


@bp.get("/export/platform")
@permission_required("enquiry.view")
def export_platform() -> Any:
    """The daily table per platform (the page's filters) as CSV or XLSX."""
    return _export("platform")


@bp.get("/export/people")
@permission_required("enquiry.view")
def export_people() -> Any:
    """The daily table per salesperson (the page's filters) as CSV or XLSX."""
    return _export("people")


# Platform figures: the week grid and the import --------------------------------------------------------------
@bp.route("/platform", methods=["GET", "POST"])
@permission_required("enquiry.enter_platform")
def platform_entry() -> Any:
    stores = services.entry_stores(current_user)
    days = _week_of(request.values.get("week"))
    wanted = int_arg("store_id") or (int(request.form["store_id"]) if request.form.get("store_id", "").isdigit()
                                     else None)
    store = next((s for s in stores if s.id == wanted), stores[0] if stores else None)
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        cells = {d.isoformat(): (request.form.get(f"enquiries-{d.isoformat()}"),
                                 request.form.get(f"new_enquiries-{d.isoformat()}")) for d in days}
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}

        def saved() -> Any:
            counts = services.save_platform_week(request.form.get("store_id"), cells, actor=current_user)
            flash(_("Saved: %(created)d new days, %(updated)d corrected.", created=counts["created"],
                    updated=counts["updated"]), "success")
            return redirect(url_for("enquiries.platform_entry", store_id=request.form.get("store_id"),
                                    week=days[0].isoformat()))

        def refused(exc: DomainError) -> Any:
            errors.update(exc.errors)
            return None

        done = attempt(saved, refused)
        if done is not None:
            return done
    rows = queries.store_week(current_user, store.id, days) if store is not None else {}
    return render_template("enquiries/platform_entry.html", stores=stores, store=store, days=days, rows=rows,
                           errors=errors, values=values, today=queries.local_today(),
                           previous_week=(days[0] - timedelta(days=7)).isoformat(),
                           next_week=(days[0] + timedelta(days=7)).isoformat()), 422 if errors else 200


@bp.route("/import", methods=["GET", "POST"])
@permission_required("enquiry.enter_platform")
def import_upload() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        upload = request.files.get("file")

        def imported() -> Any:
            if upload is None or not upload.filename:
                raise ValidationFailed({"file": _("Choose a .csv or .xlsx file.")})
            job = services.import_platform(upload.filename, upload.stream, actor=current_user)
            return redirect(url_for("enquiries.import_result", import_id=job.id))

        def refused(exc: DomainError) -> Any:
            errors.update(exc.errors or {"file": [str(exc.message)]})
            return None

        done = attempt(imported, refused)
        if done is not None:
            return done
    return render_template("enquiries/import.html", errors=errors, columns=services.IMPORT_COLUMNS), \
        422 if errors else 200


@bp.get("/imports/<int:import_id>")
@permission_required("enquiry.enter_platform")
def import_result(import_id: int) -> Any:
    job = queries.get_import(import_id, current_user)
    return render_template("enquiries/import_result.html", job=job)


@bp.get("/imports/<int:import_id>/errors.csv")
@permission_required("enquiry.enter_platform")
def import_errors(import_id: int) -> Any:
    job = queries.get_import(import_id, current_user)
    return Response(services.error_report(job), mimetype=MIMETYPES["csv"],
                    headers={"Content-Disposition": f'attachment; filename="enquiry-import-{job.id}-errors.csv"'})


# A salesperson's own figures and screenshots ------------------------------------------------------------------
@bp.route("/mine", methods=["GET", "POST"])
@permission_required("enquiry.enter_own")
def mine() -> Any:
    days = _week_of(request.values.get("week"))
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        cells = {d.isoformat(): (request.form.get(f"wechat_adds-{d.isoformat()}"),
                                 request.form.get(f"contacts-{d.isoformat()}")) for d in days}
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}

        def saved() -> Any:
            counts = services.save_own_week(cells, actor=current_user)
            flash(_("Saved: %(created)d new days, %(updated)d corrected.", created=counts["created"],
                    updated=counts["updated"]), "success")
            return redirect(url_for("enquiries.mine", week=days[0].isoformat()))

        def refused(exc: DomainError) -> Any:
            errors.update(exc.errors or {"store_id": [str(exc.message)]})
            return None

        done = attempt(saved, refused)
        if done is not None:
            return done
    rows, shots = queries.own_week(current_user, days)
    return render_template("enquiries/mine.html", days=days, rows=rows, shots=shots, errors=errors, values=values,
                           today=queries.local_today(), previous_week=(days[0] - timedelta(days=7)).isoformat(),
                           next_week=(days[0] + timedelta(days=7)).isoformat()), 422 if errors else 200


@bp.post("/mine/screenshots")
@permission_required("enquiry.enter_own")
def upload_screenshots() -> Any:
    day = request.form.get("day", "")
    files = [(f.filename, f.stream) for f in request.files.getlist("screenshots")]

    def uploaded() -> Any:
        shots = services.add_screenshots(day, files, actor=current_user)
        flash(_("%(n)d screenshots uploaded.", n=len(shots)), "success")
        return redirect(url_for("enquiries.mine", week=day))

    def refused(exc: DomainError) -> Any:
        flash(_errors_text(exc), "danger")
        return redirect(url_for("enquiries.mine", week=day))

    return attempt(uploaded, refused)


@bp.get("/screenshots")
@permission_required("enquiry.view")
def screenshots() -> Any:
    """The screenshots of a salesperson (and day) in the viewer's scope: their own, their team's."""
    try:
        day = date.fromisoformat(request.args.get("day", "")[:10])
    except ValueError:
        day = None
    shots = queries.screenshots(current_user, int_arg("user_id"), day)
    names = queries.user_names({s.user_id for s in shots})
    return render_template("enquiries/screenshots.html", shots=shots, names=names, day=day)


@bp.get("/screenshots/<int:screenshot_id>")
@permission_required("enquiry.view")
def screenshot(screenshot_id: int) -> Any:
    shot = queries.get_screenshot(screenshot_id, current_user)
    return stored_file_response(stored_path(shot.stored_name), shot.content_type, shot.original_name, inline=True)


@bp.post("/screenshots/<int:screenshot_id>/delete")
@permission_required("enquiry.enter_own")
def delete_screenshot(screenshot_id: int) -> Any:
    shot = queries.get_screenshot(screenshot_id, current_user)
    week = shot.day.isoformat()
    services.remove_screenshot(shot.id, actor=current_user)
    flash(_("The screenshot was removed."), "success")
    return redirect(url_for("enquiries.mine", week=week))


# History of a row -----------------------------------------------------------------------------------------------
@bp.get("/platform/<int:enquiry_id>/history")
@permission_required("enquiry.view")
def platform_history(enquiry_id: int) -> Any:
    row, entries = queries.history(EnquiryDaily, enquiry_id, current_user)
    store = queries.unit_names({row.store_id}).get(row.store_id, "")
    return render_template("enquiries/history.html", title=f"{store} · {row.day.isoformat()}", timeline_entries=entries,
                           field_labels=queries.HISTORY_FIELDS)


@bp.get("/people/<int:figure_id>/history")
@permission_required("enquiry.view")
def people_history(figure_id: int) -> Any:
    row, entries = queries.history(EnquirySalespersonDaily, figure_id, current_user)
    person = queries.user_names({row.user_id}).get(row.user_id, "")
    return render_template("enquiries/history.html", title=f"{person} · {row.day.isoformat()}",
                           timeline_entries=entries, field_labels=queries.HISTORY_FIELDS)
