"""Changes of work reports. Every function takes the actor, checks everything before it writes, flushes
and never commits (the request or the job does).

Anyone with `work.report.file` files their own reports: one per kind and period, pre-filled with the
period's figures (kept on the report), sent to their supervisor and the colleagues they choose (active
people of their store, or of their unit outside stores). Whoever may see a report reads and comments it; a
recipient's first reading is their read receipt. Managers with `work.report.review` see who has and has
not reported (crm.work.reports.queries); the reminder job tells whoever has not filed the day's report by
the configured time."""

from __future__ import annotations

from datetime import date
from datetime import time
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.auth.models import Role
from crm.auth.models import user_role
from crm.auth.scopes import get_visible
from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.notify.services import notify
from crm.notify.services import notify_many
from crm.org.models import User
from crm.work.reports.figures import figures
from crm.work.reports.figures import period
from crm.work.reports.models import KIND_LABELS
from crm.work.reports.models import ReportKind
from crm.work.reports.models import WorkReport
from crm.work.reports.models import WorkReportComment
from crm.work.reports.models import WorkReportRecipient
from crm.work.reports.models import WorkReportReminder
from crm.work.reports.schemas import ReportCommentInput
from crm.work.reports.schemas import ReportInput

FILE = "work.report.file"
REVIEW = "work.report.review"


def report_url(report_id: int) -> str:
    return f"/work/reports/{report_id}"


def get_report(report_id: Any, actor: User) -> WorkReport:
    return get_visible(WorkReport, report_id, actor)


def colleague_ids(actor: User) -> set[int]:
    """Whom the actor may send a report to: active people of their store (of their unit outside stores)."""
    stmt = select(User.id).where(User.active, User.id != actor.id)
    stmt = stmt.where(User.store_id == actor.store_id) if actor.store_id is not None \
        else stmt.where(User.org_unit_id == actor.org_unit_id)
    return set(db.session.scalars(stmt))


def submit(data: Loaded | dict[str, Any], *, actor: User) -> WorkReport:
    """File a report of the period holding `day`: pre-filled figures, to the supervisor and the chosen
    colleagues, each told. A second report of the same kind and period is refused."""
    if not actor.can(FILE):
        raise PermissionDenied()
    loaded = load_input(ReportInput(), data)
    values, errors = loaded.values, dict(loaded.errors)
    chosen = values.get("recipient_ids") or []
    if chosen and "recipient_ids" not in errors:
        allowed = colleague_ids(actor)
        if actor.supervisor_id:
            allowed.add(actor.supervisor_id)
        if any(uid not in allowed for uid in chosen):
            errors["recipient_ids"] = str(_l("Send reports to active colleagues of your store."))
    start = end = None
    if "kind" not in errors and "day" not in errors:
        start, end = period(values["kind"], values["day"])
        if start > utcnow().astimezone(LOCAL_ZONE).date():
            errors["day"] = str(_l("A report is for a period that has begun."))
        elif db.session.scalar(select(WorkReport.id).where(WorkReport.author_id == actor.id,
                                                           WorkReport.kind == values["kind"],
                                                           WorkReport.period_start == start)):
            errors["day"] = str(_l("You have filed this report already."))
    if errors:
        raise ValidationFailed(errors)
    assert start is not None and end is not None
    report = WorkReport(store_id=actor.store_id, unit_id=actor.org_unit_id, author_id=actor.id, kind=values["kind"],
                        period_start=start, period_end=end, done=values.get("done"), plan=values.get("plan"),
                        problems=values.get("problems"), notes=values.get("notes"),
                        figures=figures(actor, start, end), submitted_at=utcnow())
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # the same report filed twice at once
        raise Conflict(_l("You have filed this report already.")) from None
    recipients = list(dict.fromkeys([*([actor.supervisor_id] if actor.supervisor_id else []), *chosen]))
    recipients = [uid for uid in recipients if uid != actor.id]
    if recipients:
        db.session.add_all([WorkReportRecipient(report_id=report.id, user_id=uid) for uid in recipients])
        db.session.flush()
        notify(recipients, "work_report_received",
               _l("%(name)s filed a report: %(kind)s %(day)s", name=actor.name, kind=KIND_LABELS[report.kind],
                  day=start.isoformat()), url=report_url(report.id), store_id=report.store_id)
    return report


def recipients(report: WorkReport) -> list[WorkReportRecipient]:
    return list(db.session.scalars(select(WorkReportRecipient).where(WorkReportRecipient.report_id == report.id)
                                   .order_by(WorkReportRecipient.user_id)))


def mark_read(report: WorkReport, actor: User) -> bool:
    """A recipient's first reading: their read receipt. Returns whether it was the first."""
    row = db.session.get(WorkReportRecipient, (report.id, actor.id))
    if row is None or row.read_at is not None:
        return False
    row.read_at = utcnow()
    db.session.flush()
    return True


def add_comment(report_id: Any, data: Loaded | dict[str, Any], *, actor: User) -> WorkReportComment:
    """A comment by someone who may see the report; its author and recipients are told."""
    report = get_report(report_id, actor)
    loaded = load_input(ReportCommentInput(), data)
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    comment = WorkReportComment(report_id=report.id, author_id=actor.id, body=loaded.values["body"],
                                created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    told = [uid for uid in [report.author_id, *(r.user_id for r in recipients(report))] if uid != actor.id]
    if told:
        notify(told, "work_report_comment", _l("%(name)s commented on a report", name=actor.name),
               body=comment.body[:500], url=report_url(report.id), store_id=report.store_id)
    return comment


def comments(report: WorkReport) -> list[WorkReportComment]:
    return list(db.session.scalars(select(WorkReportComment).where(WorkReportComment.report_id == report.id)
                                   .order_by(WorkReportComment.id)))


# Who reports, and the reminder -------------------------------------------------------------------------------
def reporter_ids_stmt() -> Any:
    """The active people whose role has `work.report.file` (the super admin's aside)."""
    role_ids = [r.id for r in db.session.scalars(select(Role)) if not r.is_system and FILE in r.permission_list]
    return select(User.id).where(User.active.is_(True),
                                 User.id.in_(select(user_role.c.user_id).where(user_role.c.role_id.in_(role_ids))))


def reminder_time() -> time:
    text = str(current_app.config.get("WORK_REPORT_REMINDER_AT") or "18:00").strip()
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


def reporting_day(day: date) -> bool:
    days = current_app.config.get("WORK_REPORT_DAYS") or [1, 2, 3, 4, 5]
    return day.isoweekday() in {int(d) for d in days}


def send_reminders() -> int:
    """Once the configured time (WORK_REPORT_REMINDER_AT, Asia/Shanghai) of a reporting day has come,
    remind everyone who files reports and has no daily report for today: at most once per person and day
    (`work_report_reminder`), however often the job runs."""
    now = utcnow().astimezone(LOCAL_ZONE)
    today = now.date()
    if now.time() < reminder_time() or not reporting_day(today):
        return 0
    filed = select(WorkReport.author_id).where(WorkReport.kind == ReportKind.DAILY, WorkReport.period_start == today)
    reminded = select(WorkReportReminder.user_id).where(WorkReportReminder.day == today)
    people = list(db.session.execute(
        select(User.id, User.store_id).where(User.id.in_(reporter_ids_stmt()), User.id.not_in(filed),
                                             User.id.not_in(reminded)).order_by(User.id)))
    if not people:
        return 0
    db.session.add_all([WorkReportReminder(user_id=uid, day=today, sent_at=utcnow()) for uid, _store in people])
    db.session.flush()
    title = _l("File your daily report (%(day)s)", day=today.isoformat())
    url = f"/work/reports/new?kind=daily&day={today.isoformat()}"
    by_store: dict[int | None, list[int]] = {}
    for uid, store_id in people:
        by_store.setdefault(store_id, []).append(uid)
    sent = 0
    for store_id, ids in by_store.items():
        sent += notify_many("work_report_reminder", [(uid, title, None, url) for uid in ids], store_id=store_id)
    return sent
