"""Work tasks (`work_task`) and what hangs off them: participants, subtasks, tags (per store), comments,
attachments, and the recurring series an occurrence belongs to.

A task is placed at its owner's org unit (`unit_id`, the location of its visibility) and store
(`store_id`, NULL for people outside any store). It is seen by its owner, its participants, its creator
and whoever's data scope covers its owner (`__visibility__`).

The due time is a day with an optional time of day, in the company's calendar (Asia/Shanghai); `due_at`
is that moment in UTC (a day without time counts until 23:59:59 of that day) and is what the inbox sorts
and buckets by. `remind_at` is `due_at` less the reminder's minutes; the reminder job sets `reminded_at`
once it dealt with the task.

A recurring task is one occurrence of a `work_task_series`: the next occurrence is made when this one
is completed or its due time passes (whichever comes first), exactly once — `(series_id, occurrence_on)`
is unique and the insert skips on conflict; `next_made_at` marks an occurrence whose next one exists."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import SmallInteger
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum
from crm.extensions import db


class WorkStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


STATUS_LABELS = {WorkStatus.OPEN: _l("Open"), WorkStatus.DONE: _l("Done"), WorkStatus.CANCELLED: _l("Cancelled")}


class Priority(enum.IntEnum):
    """Stored as a number so the one inbox sorts work and process tasks (0 normal, 1 high, 2 urgent)
    together: a high work task ranks with an urgent process task."""

    NONE = -1
    LOW = 0
    MEDIUM = 1
    HIGH = 2


PRIORITY_NAMES = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW, "none": Priority.NONE}
PRIORITY_LABELS = {Priority.HIGH: _l("High"), Priority.MEDIUM: _l("Medium"), Priority.LOW: _l("Low"),
                   Priority.NONE: _l("None")}


class Recurrence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


RECURRENCE_LABELS = {Recurrence.DAILY: _l("Daily"), Recurrence.WEEKLY: _l("Weekly"), Recurrence.MONTHLY: _l("Monthly")}

# What a task may be about: one record of these kinds, visible to whoever reads it.
RELATED_TYPES = ("customer", "contact", "opportunity", "quote", "order")


class WorkTaskSeries(Base):
    """A recurring task: how often, and the day of month a monthly one keeps (31 stays the month's last)."""

    __tablename__ = "work_task_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    recurrence: Mapped[Recurrence] = mapped_column(str_enum(Recurrence, "work_recurrence"))
    anchor_day: Mapped[int] = mapped_column(SmallInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkTask(TimestampMixin, Base):
    __tablename__ = "work_task"
    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_on"),
        # The inbox: my open tasks by due time and newest first; the scope's open tasks by due time.
        Index("ix_work_task_owner_open", "owner_id", "status", "due_at", "id"),
        Index("ix_work_task_status_due", "status", "due_at", "id"),
        Index("ix_work_task_status_created", "status", "created_at", "id"),
        Index("ix_work_task_object", "object_type", "object_id"),
        # The reminder job: what is still to remind, by time.
        Index("ix_work_task_remind", "remind_at", postgresql_where=text("reminded_at IS NULL"),
              sqlite_where=text("reminded_at IS NULL")),
        # The recurrence job: occurrences whose next one is not made yet, by due time.
        Index("ix_work_task_series_due", "due_at",
              postgresql_where=text("series_id IS NOT NULL AND next_made_at IS NULL"),
              sqlite_where=text("series_id IS NOT NULL AND next_made_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(SmallInteger, default=Priority.NONE)
    status: Mapped[WorkStatus] = mapped_column(str_enum(WorkStatus, "work_status"), default=WorkStatus.OPEN)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    arranged: Mapped[bool] = mapped_column(default=False)  # made by a manager for someone else
    due_on: Mapped[date | None]
    due_time: Mapped[time | None]
    due_at: Mapped[datetime | None]
    remind_minutes: Mapped[int | None]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    series_id: Mapped[int | None] = mapped_column(ForeignKey("work_task_series.id", ondelete="SET NULL"))
    occurrence_on: Mapped[date | None]
    next_made_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    inbox_kind = "work"  # the one inbox lists these beside process tasks

    @property
    def is_open(self) -> bool:
        return self.status == WorkStatus.OPEN

    @property
    def shown_title(self) -> str:
        return self.title

    @property
    def priority_label(self) -> str:
        return str(PRIORITY_LABELS.get(Priority(self.priority), self.priority))

    @property
    def priority_name(self) -> str:
        return {v: k for k, v in PRIORITY_NAMES.items()}[Priority(self.priority)]


class WorkTaskParticipant(Base):
    __tablename__ = "work_task_participant"
    __table_args__ = (Index("ix_work_task_participant_user", "user_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("work_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class WorkSubtask(Base):
    __tablename__ = "work_subtask"
    __table_args__ = (Index("ix_work_subtask_task", "task_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_task.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class WorkTag(Base):
    """A tag of one store, managed by its managers (`work.tag.manage`)."""

    __tablename__ = "work_tag"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __visibility__ = Visibility(location="store_id", owner=None, location_is_store=True)


class WorkTaskTag(Base):
    __tablename__ = "work_task_tag"

    task_id: Mapped[int] = mapped_column(ForeignKey("work_task.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("work_tag.id", ondelete="CASCADE"), primary_key=True, index=True)


class WorkTaskComment(Base):
    __tablename__ = "work_task_comment"
    __table_args__ = (Index("ix_work_task_comment_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_task.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    mentioned: Mapped[list[Any] | None]  # who was told (user ids)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkTaskAttachment(Base):
    __tablename__ = "work_task_attachment"
    __table_args__ = (Index("ix_work_task_attachment_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("work_task.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


def _involved(actor: object) -> object:
    """Tasks the actor owns, takes part in or created: theirs whatever their data scope says."""
    uid = actor.id
    participant = exists().where(WorkTaskParticipant.task_id == WorkTask.id, WorkTaskParticipant.user_id == uid)
    return or_(WorkTask.owner_id == uid, WorkTask.created_by_id == uid, participant)


def _involves(task: WorkTask, actor: object) -> bool:
    uid = actor.id
    if uid in (task.owner_id, task.created_by_id):
        return True
    return db.session.scalar(select(WorkTaskParticipant.user_id).where(
        WorkTaskParticipant.task_id == task.id, WorkTaskParticipant.user_id == uid)) is not None


WorkTask.__visibility__ = Visibility(  # type: ignore[attr-defined]
    location="unit_id", owner="owner_id", store="store_id", extra=_involved, involves=_involves,  # type: ignore[arg-type]
)
