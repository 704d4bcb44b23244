"""/api/v1/work/reports — work reports: the caller's, those sent to them and those of their scope; the
figures a new report is pre-filled with; filing one (to the supervisor and chosen colleagues); one report
with its read receipts and comments (reading it is a recipient's receipt); comments; and the manager's day
(who has and has not reported). Reports the caller may not see answer 404. People come with their names."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.clock import local_today
from crm.work.reports import queries
from crm.work.reports import services
from crm.work.reports.figures import figures
from crm.work.reports.figures import period
from crm.work.reports.models import ReportKind
from crm.work.reports.models import WorkReport
from crm.work.reports.schemas import FiguresSchema
from crm.work.reports.schemas import PersonSchema
from crm.work.reports.schemas import ReportCommentInput
from crm.work.reports.schemas import ReportCommentSchema
from crm.work.reports.schemas import ReportDetailSchema
from crm.work.reports.schemas import ReportInput
from crm.work.reports.schemas import ReportSchema

blp = ApiBlueprint("Work reports", __name__, url_prefix="/api/v1/work/reports",
                   description="Daily, weekly and monthly reports pre-filled with the period's figures; read "
                               "receipts, comments, who has reported.")

# The bodies as the input schemas document them (required and nullable as they are); the input schema
# itself checks them, in the service.
ReportBody = ma.Schema.from_dict({name: fields.Raw(metadata=field.metadata, required=field.required,
                                                   allow_none=not field.required)
                                  for name, field in ReportInput().fields.items()}, name="WorkReportBody")
CommentBody = ma.Schema.from_dict({name: fields.Raw(metadata=field.metadata, required=field.required,
                                                    allow_none=not field.required)
                                   for name, field in ReportCommentInput().fields.items()}, name="WorkReportCommentBody")
ReportPageSchema = page_schema(ReportSchema, "WorkReportPage")
KINDS = [k.value for k in ReportKind]


class ReportListArgs(PageArgsSchema):
    view = fields.Str(load_default="mine", validate=validate.OneOf(queries.VIEWS),
                      metadata={"description": "mine, received (sent to the caller), all (in the caller's scope)."})
    kind = fields.Str(validate=validate.OneOf(KINDS))
    author_id = fields.Int(validate=validate.Range(1, 2**31 - 1))


class PeriodArgs(ma.Schema):
    kind = fields.Str(load_default="daily", validate=validate.OneOf(KINDS))
    day = fields.Date(metadata={"description": "A day of the period; today (Asia/Shanghai) when absent."})


class TeamArgs(PeriodArgs):
    store_id = fields.Int(validate=validate.Range(1, 2**31 - 1))


class PrefillSchema(ma.Schema):
    kind = fields.Str()
    period_start = fields.Date()
    period_end = fields.Date()
    figures = fields.Nested(FiguresSchema)


class TeamEntrySchema(ma.Schema):
    user = fields.Nested(PersonSchema)
    report = fields.Nested(ReportSchema)


class TeamSchema(ma.Schema):
    kind = fields.Str()
    period_start = fields.Date()
    period_end = fields.Date()
    reported = fields.List(fields.Nested(TeamEntrySchema))
    not_reported = fields.List(fields.Nested(PersonSchema))


def _person(uid: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    return None if uid is None else {"id": uid, "name": names.get(uid, "")}


def _report(report: WorkReport, names: dict[int, str], read: bool | None = None) -> dict[str, Any]:
    out = {name: getattr(report, name) for name in ("id", "kind", "period_start", "period_end", "store_id", "done",
                                                     "plan", "problems", "notes", "figures", "submitted_at")}
    out.update(author=_person(report.author_id, names), read=read)
    return out


def _detail(report: WorkReport) -> dict[str, Any]:
    page = queries.report_page(report, current_user)
    out = _report(report, page.names, page.read)
    out["recipients"] = [{**(_person(r.user_id, page.names) or {}), "read_at": r.read_at} for r in page.recipients]
    out["comments"] = [{"id": c.id, "author": _person(c.author_id, page.names), "body": c.body,
                        "created_at": c.created_at} for c in page.comments]
    return out


@blp.route("")
class Reports(MethodView):
    @blp.requires("api.use")
    @blp.arguments(ReportListArgs, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List reports, newest period first"""
        kind = ReportKind(args["kind"]) if args.get("kind") else None
        page = queries.list_reports(current_user, args["view"], args["cursor"], args["limit"], kind=kind,
                                    author_id=args.get("author_id"))
        return {"items": [_report(r, page.extra["names"], page.extra["read"].get(r.id)) for r in page.items],
                "next_cursor": page.next_cursor}

    @blp.requires("api.use", services.FILE)
    @blp.arguments(ReportBody)
    @blp.response(201, ReportDetailSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """File a report of the period holding `day`, pre-filled with its figures, to the supervisor and `recipient_ids`"""
        return _detail(services.submit(body, actor=current_user))


@blp.route("/prefill")
@blp.requires("api.use")
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, PrefillSchema)
def prefill(args: dict[str, Any]) -> Any:
    """The figures a report of the caller for the period holding `day` is pre-filled with"""
    kind = ReportKind(args["kind"])
    start, end = period(kind, args.get("day") or local_today())
    return {"kind": kind.value, "period_start": start, "period_end": end, "figures": figures(current_user, start, end)}


@blp.route("/team")
@blp.requires("api.use", services.REVIEW)
@blp.arguments(TeamArgs, location="query")
@blp.response(200, TeamSchema)
def team(args: dict[str, Any]) -> Any:
    """Who of the caller's scope has and has not filed the report of the period holding `day`"""
    result = queries.team_day(current_user, ReportKind(args["kind"]), args.get("day") or local_today(),
                              store_id=args.get("store_id"))
    names = {uid: name for uid, name, _r in result.reported}
    return {"kind": result.kind.value, "period_start": result.start, "period_end": result.end,
            "reported": [{"user": {"id": uid, "name": name}, "report": _report(r, names)}
                         for uid, name, r in result.reported],
            "not_reported": [{"id": uid, "name": name} for uid, name in result.missing]}


@blp.route("/<int:work_report_id>")
@blp.requires("api.use")
@blp.errors(404)
@blp.response(200, ReportDetailSchema)
def read(work_report_id: int) -> Any:
    """One report with its recipients' read receipts and its comments (reading it is the caller's receipt)"""
    return _detail(services.get_report(work_report_id, current_user))


@blp.route("/<int:work_report_id>/comments", methods=["POST"])
@blp.requires("api.use")
@blp.errors(404)
@blp.arguments(CommentBody)
@blp.response(201, ReportCommentSchema)
def comment(body: dict[str, Any], work_report_id: int) -> Any:
    """Comment on a report; its author and recipients are told"""
    made = services.add_comment(work_report_id, body, actor=current_user)
    return {"id": made.id, "author": {"id": current_user.id, "name": current_user.name}, "body": made.body,
            "created_at": made.created_at}
