"""Work report pages: my reports and those sent to me, a new report pre-filled with the period's figures,
a report with its read receipts and comments, and the manager's day (who has and has not reported, the
reports side by side).

The URL variable is `work_report_id` (the isolation crawler finds routes by it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from crm.auth.decorators import permission_required
from crm.core.clock import local_today
from crm.core.errors import DomainError
from crm.core.errors import ValidationFailed
from crm.core.validation import day_or_none
from crm.core.validation import enum_or_none
from crm.core.web import flash_refusal
from crm.core.web import forget_refused_write
from crm.core.web import form_data
from crm.core.web import int_arg
from crm.work.reports import queries
from crm.work.reports import services
from crm.work.reports.figures import figures
from crm.work.reports.figures import period
from crm.work.reports.models import FIGURE_LABELS
from crm.work.reports.models import KIND_LABELS
from crm.work.reports.models import ReportKind
from crm.workflow.tasks import queries as task_queries

bp = Blueprint("work_reports", __name__, template_folder="templates", url_prefix="/work/reports")



def _common() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "figure_labels": FIGURE_LABELS}


@bp.route("/")
@login_required
def index() -> Any:
    view = request.args.get("view", "mine")
    if view not in queries.VIEWS:
        view = "mine"
    kind = enum_or_none(request.args.get("kind"), ReportKind)
    page = queries.list_reports(current_user, view, request.args.get("cursor") or None,
                                current_app.config["PAGE_SIZE"], kind=kind)
    return render_template("work/reports/list.html", page=page, view=view, kind=kind, **_common())


def _render_form(form: dict[str, Any], errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    kind = enum_or_none(form.get("kind"), ReportKind) or ReportKind.DAILY
    day = day_or_none(form.get("day")) or local_today()
    start, end = period(kind, day)
    return render_template("work/reports/form.html", form=form, errors=errors or {}, start=start, end=end,
                           figures=figures(current_user, start, end), kind_choices=list(KIND_LABELS.items()),
                           people=queries.recipient_choices(current_user),
                           supervisor=queries.names({current_user.supervisor_id or 0}).get(current_user.supervisor_id or 0),
                           **_common()), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(services.FILE)
def new() -> Any:
    if request.method == "GET":
        kind = enum_or_none(request.args.get("kind"), ReportKind) or ReportKind.DAILY
        day = day_or_none(request.args.get("day")) or local_today()
        return _render_form({"kind": kind.value, "day": day.isoformat()})
    form = form_data()
    form["recipient_ids"] = request.form.getlist("recipient_ids")
    try:
        report = services.submit(form, actor=current_user)
    except ValidationFailed as exc:
        forget_refused_write(exc)
        return _render_form(form, exc.errors, 422)
    except DomainError as exc:
        flash_refusal(exc)
        return redirect(url_for("work_reports.index"), code=303)
    flash(_("The report was sent."), "success")
    return redirect(url_for("work_reports.detail", work_report_id=report.id), code=303)


@bp.route("/<int:work_report_id>")
@login_required
def detail(work_report_id: int) -> Any:
    report = services.get_report(work_report_id, current_user)
    return render_template("work/reports/detail.html", page=queries.report_page(report, current_user), **_common())


@bp.route("/<int:work_report_id>/comments", methods=["POST"])
@login_required
def comment_add(work_report_id: int) -> Any:
    try:
        services.add_comment(work_report_id, form_data(), actor=current_user)
    except DomainError as exc:
        flash_refusal(exc)
    else:
        flash(_("Your comment was added."), "success")
    return redirect(url_for("work_reports.detail", work_report_id=work_report_id, _anchor="comments"), code=303)


@bp.route("/team")
@login_required
@permission_required(services.REVIEW)
def team() -> Any:
    kind = enum_or_none(request.args.get("kind"), ReportKind) or ReportKind.DAILY
    day = day_or_none(request.args.get("day")) or local_today()
    store_id = int_arg("store_id")
    result = queries.team_day(current_user, kind, day, store_id=store_id)
    return render_template("work/reports/team.html", team=result, day=day, kind_choices=list(KIND_LABELS.items()),
                           stores=task_queries.store_choices(current_user), store_id=store_id, **_common())
