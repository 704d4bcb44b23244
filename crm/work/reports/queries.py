"""Reads of work reports: my reports and those sent to me (keyset pages), one report's page, and the
manager's day — who of their scope has and has not reported, with the reports side by side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org.models import User
from crm.work.reports import services
from crm.work.reports.figures import period
from crm.work.reports.models import ReportKind
from crm.work.reports.models import WorkReport
from crm.work.reports.models import WorkReportComment
from crm.work.reports.models import WorkReportRecipient

VIEWS = ("mine", "received", "all")
MAX_TEAM = 300


def names(ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {int(i): n for i, n in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def _listed(actor: Any, view: str, kind: ReportKind | None, author_id: int | None) -> Select[Any]:
    stmt = visible(select(WorkReport), actor, WorkReport)
    if view == "mine":
        stmt = stmt.where(WorkReport.author_id == actor.id)
    elif view == "received":
        stmt = stmt.where(WorkReport.id.in_(select(WorkReportRecipient.report_id)
                                            .where(WorkReportRecipient.user_id == actor.id)))
    if kind is not None:
        stmt = stmt.where(WorkReport.kind == kind)
    if author_id:
        stmt = stmt.where(WorkReport.author_id == author_id)
    return stmt


def list_reports(actor: Any, view: str, cursor: str | None, limit: int, *, kind: ReportKind | None = None,
                 author_id: int | None = None) -> Page[Any]:
    """Newest period first: my reports, those sent to me, or every report of my scope."""
    keys = [SortKey(WorkReport.period_start, descending=True), SortKey(WorkReport.id, descending=True)]
    page = keyset_page(db.session, _listed(actor, view, kind, author_id), keys, cursor=cursor, limit=limit)
    ids = [r.id for r in page.items]
    reads = {int(i): at for i, at in db.session.execute(select(WorkReportRecipient.report_id, WorkReportRecipient.read_at)
                                                         .where(WorkReportRecipient.report_id.in_(ids),
                                                                WorkReportRecipient.user_id == actor.id))} if ids else {}
    page.extra["read"] = {i: (reads[i] is not None) if i in reads else None for i in ids}
    page.extra["names"] = names({r.author_id for r in page.items})
    return page


@dataclass
class ReportPage:
    report: WorkReport
    recipients: list[WorkReportRecipient]
    comments: list[WorkReportComment]
    names: dict[int, str]
    read: bool | None  # the reader's receipt (None: not sent to them)


def report_page(report: WorkReport, actor: Any) -> ReportPage:
    """The report as its reader sees it; a recipient's first reading writes their receipt."""
    services.mark_read(report, actor)
    people = services.recipients(report)
    notes = services.comments(report)
    mine = next((r for r in people if r.user_id == actor.id), None)
    return ReportPage(report=report, recipients=people, comments=notes,
                      names=names({report.author_id, *(r.user_id for r in people), *(c.author_id or 0 for c in notes)}),
                      read=None if mine is None else mine.read_at is not None)


@dataclass
class TeamDay:
    kind: ReportKind
    start: date
    end: date
    reported: list[tuple[int, str, WorkReport]]
    missing: list[tuple[int, str]]


def team_day(actor: Any, kind: ReportKind, day: date, store_id: int | None = None) -> TeamDay:
    """Who of the actor's scope files reports (themselves aside), and who has filed the report of the
    period holding `day`: the reports side by side, then who has not."""
    start, end = period(kind, day)
    people_stmt = visible(select(User.id, User.name).where(User.id.in_(services.reporter_ids_stmt()),
                                                           User.id != actor.id), actor, User)  # type: ignore[arg-type]
    if store_id:
        people_stmt = people_stmt.where(User.store_id == store_id)
    people = [(int(i), n) for i, n in db.session.execute(people_stmt.order_by(User.name, User.id).limit(MAX_TEAM))]
    ids = [i for i, _n in people]
    reports = {r.author_id: r for r in db.session.scalars(visible(select(WorkReport).where(
        WorkReport.kind == kind, WorkReport.period_start == start, WorkReport.author_id.in_(ids)), actor, WorkReport))} \
        if ids else {}
    return TeamDay(kind=kind, start=start, end=end,
                   reported=[(i, n, reports[i]) for i, n in people if i in reports],
                   missing=[(i, n) for i, n in people if i not in reports])


def filed(actor: Any, kind: ReportKind, day: date) -> int | None:
    """The id of the actor's own report of the period holding `day`, if filed."""
    start, _end = period(kind, day)
    return db.session.scalar(select(WorkReport.id).where(WorkReport.author_id == actor.id, WorkReport.kind == kind,
                                                         WorkReport.period_start == start))


def missing_count(actor: Any, kind: ReportKind, day: date) -> int:
    """How many people of the actor's scope (themselves aside) have not filed the report of the period
    holding `day`: the count of `team_day`'s "not reported", in one statement (and the roles' read)."""
    start, _end = period(kind, day)
    filed_ids = visible(select(WorkReport.author_id).where(WorkReport.kind == kind, WorkReport.period_start == start),
                        actor, WorkReport)
    stmt = visible(select(func.count(User.id)).where(User.id.in_(services.reporter_ids_stmt()), User.id != actor.id,
                                                     User.id.not_in(filed_ids)), actor, User)  # type: ignore[arg-type]
    return int(db.session.scalar(stmt) or 0)


def recipient_choices(actor: Any) -> list[tuple[int, str]]:
    """Whom a report may go to besides the supervisor, by name."""
    ids = services.colleague_ids(actor)
    if actor.supervisor_id:
        ids.discard(actor.supervisor_id)
    if not ids:
        return []
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids)).order_by(User.name, User.id).limit(500))
    return [(int(i), n) for i, n in rows]
