"""Tables of the workflow runtime: definitions, spec blobs, instances, human tasks (the inbox), history,
message subscriptions and unmatched messages; and what people add to tasks: comments, attachments, and
their saved inbox filters."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.core.i18n import SOURCE_LANGUAGE
from crm.core.i18n import current_language
from crm.core.i18n import shown
from crm.extensions import db


class ProcessDefinition(Base):
    """One deployed version of one process (one .bpmn file; file name = process id)."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(200))  # "file:processes/x.bpmn" or "editor"
    comment: Mapped[str | None] = mapped_column(String(1000))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessDraft(Base):
    """A diagram saved in the editor without becoming a version: one per process, shared by the process
    owners (the last save wins; `lock_version` refuses a save over someone else's newer one). It is
    validated when saved (`problems` keeps what the deployment pipeline said, empty when it would deploy)
    and becomes the next version only through the same deployment as any diagram."""

    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(String(1000))
    problems: Mapped[list[Any]] = mapped_column(default=list)  # the messages, as text
    based_on_version: Mapped[int | None]  # the current version when it was saved (None: a new process)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class ProcessSpec(Base):
    """The serialized spec and subprocess specs an instance runs on, stored once per content hash
    (guide §8.3: the serialized workflow would otherwise embed them in every instance)."""

    __tablename__ = "process_spec"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    specs: Mapped[str] = mapped_column(Text)  # JSON {"spec": ..., "subprocess_specs": ...}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return str(INSTANCE_STATUS_LABELS[self])


INSTANCE_STATUS_LABELS = {
    InstanceStatus.RUNNING: _l("Running"),
    InstanceStatus.COMPLETED: _l("Completed"),
    InstanceStatus.ERROR: _l("Error"),
    InstanceStatus.SUSPENDED: _l("Suspended"),
    InstanceStatus.TERMINATED: _l("Terminated"),
}


# What the history timeline calls each kind of process event (instance page, task page).
EVENT_LABELS = {
    "created": _l("Process started"),
    "task_completed": _l("Task completed"),
    "timer_fired": _l("Timer fired"),
    "message_received": _l("Message received"),
    "message_held": _l("Message kept until the process runs again"),
    "held_message_released": _l("Kept message no longer awaited (stored as unmatched)"),
    "error": _l("Error"),
    "retried": _l("Retried"),
    "suspended": _l("Suspended"),
    "resumed": _l("Resumed"),
    "terminated": _l("Terminated"),
    "migrated": _l("Moved to another version"),
    "claimed": _l("Claimed"),
    "unclaimed": _l("Released to the group"),
    "reassigned": _l("Reassigned"),
    "delegated": _l("Delegated"),
    "delegation_returned": _l("Returned by the delegate"),
    "task_updated": _l("Dates or priority changed"),
    "commented": _l("Commented"),
    "comment_deleted": _l("Comment deleted"),
    "attachment_added": _l("File attached"),
    "attachment_removed": _l("File removed"),
    "draft_saved": _l("Draft saved"),
    "task_due_soon": _l("Reminded: due soon"),
    "task_overdue": _l("Overdue"),
    "task_escalated": _l("Escalated"),
}


def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind.replace("_", " ").capitalize()))


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_object", "object_type", "object_id"),
        Index("ix_process_instance_next_timer_at", "next_timer_at"),
        # The instance admin filters (starter, start dates) and its keyset order (newest first).
        Index("ix_process_instance_started_by", "started_by_id", "id"),
        Index("ix_process_instance_started_at", "started_at", "id"),
        # The analytics of one version: its instances started in a period (crm.workflow.admin.analytics).
        Index("ix_process_instance_definition_started", "definition_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[InstanceStatus] = mapped_column(str_enum(InstanceStatus, "instance_status"), index=True)
    # The business status projected from the `status` property of waiting tasks and events (guide §3.2).
    business_status: Mapped[str | None] = mapped_column(String(64))
    spec_sha256: Mapped[str] = mapped_column(ForeignKey("process_spec.sha256"))
    state: Mapped[str] = mapped_column(Text)  # the serialized workflow without its specs
    lock_version: Mapped[int] = mapped_column(default=1)
    next_timer_at: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_task_id: Mapped[str | None] = mapped_column(String(36))
    # What the instance waited for after its last step: {"tasks": [guids], "messages": [names]}. Lets a
    # step skip the inbox and subscription queries when neither changed (timer steps, mostly).
    waiting: Mapped[dict[str, Any] | None]

    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(TASK_STATUS_LABELS[self])


TASK_STATUS_LABELS = {
    TaskStatus.OPEN: _l("Open"),
    TaskStatus.CLAIMED: _l("Claimed"),
    TaskStatus.COMPLETED: _l("Completed"),
    TaskStatus.CANCELLED: _l("Cancelled"),
}


class HumanTask(Base):
    """A READY user task of an instance, as the inbox sees it (kept in step by workflow.inbox_sync)."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid"),
        Index("ix_human_task_open_assignee", "assignee_id", "status", "id"),
        Index("ix_human_task_status_due", "status", "due_at"),
        # The one inbox's "all in scope", newest first: read backwards, stopping at the page's end.
        Index("ix_human_task_created", "created_at", "id"),
        Index("ix_human_task_object", "object_type", "object_id"),
        # The due-date job (crm.workflow.tasks.deadlines): reminders and escalations still to send.
        Index("ix_human_task_remind_at", "remind_at"),
        Index("ix_human_task_escalate_at", "escalate_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    process_key: Mapped[str] = mapped_column(String(100), index=True)  # the (sub)process owning the task
    bpmn_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))  # in the source language (English), as the BPMN says it
    instructions: Mapped[str | None] = mapped_column(Text)
    # Title and instructions in the app's other languages, rendered when the task opened (crm.workflow.i18n).
    texts: Mapped[dict[str, Any] | None]
    form_schema: Mapped[str | None] = mapped_column(String(200))
    form_uischema: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Who handed the task to its assignee by delegation (they get it back when the delegate returns it).
    delegated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, "task_status"), index=True)
    priority: Mapped[int] = mapped_column(default=0)  # 0 normal, 1 high, 2 urgent
    due_at: Mapped[datetime | None]
    # The due-date job's marks (crm.workflow.deadlines): the reminder still to send (NULL once sent, or when
    # there is none), the next escalation still to send (NULL when none is left) and how many were sent,
    # and what the element said about them when the task opened (lead, role, delay in working minutes).
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalate_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")  # raw inserts (bench) too
    due_policy: Mapped[dict[str, Any] | None]
    follow_up_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    draft: Mapped[dict[str, Any] | None]  # form data saved but not submitted
    # The multi-instance item this task stands for (e.g. the approver), when there is one.
    item: Mapped[dict[str, Any] | None]

    instance: Mapped[ProcessInstance] = relationship()

    inbox_kind = "process"  # the one inbox lists these beside work tasks (crm.work)

    @property
    def is_open(self) -> bool:
        return self.status in (TaskStatus.OPEN, TaskStatus.CLAIMED)

    @property
    def shown_title(self) -> str:
        """The title in the reader's language (pages, API answers); `title` stays the source text."""
        return shown(self.texts, "title", self.title) or self.title

    @property
    def shown_instructions(self) -> str | None:
        return shown(self.texts, "instructions", self.instructions)

    @property
    def priority_label(self) -> str:
        return str(PRIORITY_LABELS.get(self.priority, self.priority))


PRIORITY_LABELS = {0: _l("Normal"), 1: _l("High"), 2: _l("Urgent")}


def title_columns() -> list[Any]:
    """What a search of task titles looks in: the source title, and the reader's language's where it is another."""
    language = current_language()
    columns: list[Any] = [HumanTask.title]
    if language != SOURCE_LANGUAGE:
        columns.append(HumanTask.texts[(language, "title")].as_string())
    return columns


class HumanTaskCandidate(Base):
    """Who may claim / complete a task. The inbox lists tasks through this table, indexed by user."""

    __tablename__ = "human_task_candidate"
    __table_args__ = (Index("ix_human_task_candidate_user", "user_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


def _involved(actor: Any) -> Any:
    """Tasks the actor is assigned to or a candidate of: theirs whatever their data scope says."""
    candidate = exists().where(HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == actor.id)
    return or_(HumanTask.assignee_id == actor.id, candidate)


# Supervisors and managers see the tasks of their scope (the assignee is the owner, the store the
# location); everyone sees the tasks they are assigned to or a candidate of.
TASK_SCOPE = Visibility(location="store_id", owner="assignee_id", location_is_store=True)
def _involves(task: HumanTask, actor: Any) -> bool:
    """_involved, on a loaded task: its assignee or one of its candidates."""
    if task.assignee_id == actor.id:
        return True
    return db.session.scalar(
        select(HumanTaskCandidate.user_id).where(
            HumanTaskCandidate.task_id == task.id, HumanTaskCandidate.user_id == actor.id
        )
    ) is not None


HumanTask.__visibility__ = Visibility(
    location="store_id", owner="assignee_id", location_is_store=True, extra=_involved, involves=_involves
)


class ProcessEvent(Base):
    """The history of an instance: created, task completed (by whom, with what), timer fired, message
    received, error, retried, suspended, resumed, terminated, migrated; and the passage of each step through
    the diagram's elements (`crm.workflow.runtime.PASSAGE_KINDS`, read by the analytics, not shown)."""

    __tablename__ = "process_event"
    __table_args__ = (
        Index("ix_process_event_instance", "instance_id", "id"),
        # The analytics read one kind of row of each instance of a version (element_passed, flow_taken, …)
        # and look up whether a wait was closed by (instance, kind, task): with `kind` second, each instance's
        # rows of that kind are one index range instead of a filter over all its history.
        Index("ix_process_event_kind", "instance_id", "kind", "task_guid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    task_guid: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MessageSubscription(Base):
    """An instance waiting for a message, found by (message name, object reference) when it is sent."""

    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_message_subscription_lookup", "message_name", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]


class UnmatchedMessage(Base):
    """A message nobody waited for: kept for admins, never silently dropped."""

    __tablename__ = "unmatched_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class TaskComment(Base):
    """A remark on a task, shown with the task and in the instance history."""

    __tablename__ = "task_comment"
    __table_args__ = (Index("ix_task_comment_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskAttachment(Base):
    """A file uploaded to a task (by hand, or through a file field of its form). The file lives on disk
    under the upload folder with a random name; `stored_name` is its path relative to that folder."""

    __tablename__ = "task_attachment"
    __table_args__ = (Index("ix_task_attachment_task", "task_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(200))  # the form field it was uploaded through
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedTaskFilter(Base):
    """A user's named inbox filter: the list's query string, re-applied with one click."""

    __tablename__ = "saved_task_filter"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _instance_involved(actor: Any) -> Any:
    """Instances with a task the actor is assigned to or a candidate of: theirs whatever their scope."""
    task = exists().where(HumanTask.instance_id == ProcessInstance.id, _involved(actor))
    return or_(ProcessInstance.started_by_id == actor.id, task)


# Instances are placed by their object's store and owned by who started them (DESIGN §5); the people on
# one of their tasks see them too.
ProcessInstance.__visibility__ = Visibility(
    location="store_id", owner="started_by_id", location_is_store=True, extra=_instance_involved
)
UnmatchedMessage.__visibility__ = Visibility(
    location="store_id", owner="sent_by_id", location_is_store=True
)
