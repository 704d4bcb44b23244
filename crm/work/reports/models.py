"""Work reports (`work_report`): one per person, kind and period — a day, a week (Monday to Sunday) or a
month — with what was done, the plan, the problems and free text, and the period's figures as the system
counted them when it was filed (`figures`, a snapshot: later changes of the records do not rewrite a
report someone has read).

A report is placed at its author's org unit and store and seen by its author, its recipients (the
supervisor and the colleagues chosen, `work_report_recipient`, whose `read_at` is the read receipt) and
whoever's data scope covers the author. `work_report_reminder` keeps the reminder to file the daily
report to one per person and day."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.extensions import db


class ReportKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


KIND_LABELS = {ReportKind.DAILY: _l("Daily report"), ReportKind.WEEKLY: _l("Weekly report"),
               ReportKind.MONTHLY: _l("Monthly report")}

# The figures a report is pre-filled with, in the order shown.
FIGURE_LABELS = {
    "follow_ups": _l("Follow-ups recorded"),
    "new_customers": _l("New customers"),
    "quotes": _l("Quotes"),
    "orders_signed": _l("Orders signed"),
    "orders_amount": _l("Amount signed"),
    "tasks_completed": _l("Work tasks completed"),
}


class WorkReport(Base):
    __tablename__ = "work_report"
    __table_args__ = (
        UniqueConstraint("author_id", "kind", "period_start"),
        # The manager's day: the reports of a kind and period, by author; the author's own, newest first.
        Index("ix_work_report_period", "kind", "period_start", "author_id"),
        Index("ix_work_report_author", "author_id", "period_start", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "work_report_kind"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    done: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[ReportKind(self.kind)])


class WorkReportRecipient(Base):
    __tablename__ = "work_report_recipient"
    __table_args__ = (Index("ix_work_report_recipient_user", "user_id", "report_id"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("work_report.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime | None]


class WorkReportComment(Base):
    __tablename__ = "work_report_comment"
    __table_args__ = (Index("ix_work_report_comment_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("work_report.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkReportReminder(Base):
    """The reminder sent to a person without a daily report for a day (at most one per person and day)."""

    __tablename__ = "work_report_reminder"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    day: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


def _involved(actor: Any) -> Any:
    """Reports the actor wrote or received: theirs whatever their data scope says."""
    received = exists().where(WorkReportRecipient.report_id == WorkReport.id, WorkReportRecipient.user_id == actor.id)
    return or_(WorkReport.author_id == actor.id, received)


def _involves(report: WorkReport, actor: Any) -> bool:
    if report.author_id == actor.id:
        return True
    return db.session.scalar(select(WorkReportRecipient.user_id).where(
        WorkReportRecipient.report_id == report.id, WorkReportRecipient.user_id == actor.id)) is not None


WorkReport.__visibility__ = Visibility(  # type: ignore[attr-defined]
    location="unit_id", owner="author_id", store="store_id", extra=_involved, involves=_involves,
)
