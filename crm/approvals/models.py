"""Approval chains (admin configuration, versioned) and approval requests (one per run of the `approval`
process, carrying the snapshot of the chain it started with and every decision).

- `ApprovalChain` — a key (`discount_audit`, `high_seas_claim` …) for the whole company (store_id NULL) or
  for one store; the store's chain wins over the company-wide one. Its steps live in versions: every edit
  writes `ApprovalChainVersion` N+1 and moves `current_version`; running requests keep theirs.
- `ApprovalRequest` — the object asked about, the submitter, the snapshot (chain version, steps as
  resolved: approvers, mode, condition outcome, why a step was skipped or auto-passed), status and step.
- `ApprovalDecision` — who decided what, when, with which comment; also auto-passes, reminders and
  escalations, so the request's page tells the whole story."""

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
from sqlalchemy import or_
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.core.i18n import current_language
from crm.core.i18n import recognised
from crm.core.i18n import rendered


class ApprovalChain(Base):
    """One configured chain. `store_id` NULL: the company-wide chain of that key."""

    __tablename__ = "approval_chain"
    __table_args__ = (UniqueConstraint("key", "store_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    current_version: Mapped[int] = mapped_column(default=1)
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": lock_version}

    versions: Mapped[list[ApprovalChainVersion]] = relationship(
        back_populates="chain", order_by="ApprovalChainVersion.version", cascade="all, delete-orphan"
    )


class ApprovalChainVersion(Base):
    """The steps of one version of a chain (immutable once written)."""

    __tablename__ = "approval_chain_version"
    __table_args__ = (UniqueConstraint("chain_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("approval_chain.id", ondelete="CASCADE"))
    version: Mapped[int]
    steps: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(String(500))

    chain: Mapped[ApprovalChain] = relationship(back_populates="versions")


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the process left the approval before it ended (its submitter took it back)

    @property
    def label(self) -> str:
        return str(REQUEST_STATUS_LABELS[self])


REQUEST_STATUS_LABELS = {
    RequestStatus.PENDING: _l("Pending"),
    RequestStatus.APPROVED: _l("Approved"),
    RequestStatus.REJECTED: _l("Rejected"),
    RequestStatus.WITHDRAWN: _l("Withdrawn"),
}


class ApprovalRequest(Base):
    """One approval: started by the `approval` call activity of a process about one object."""

    __tablename__ = "approval_request"
    __table_args__ = (
        Index("ix_approval_request_object", "object_type", "object_id"),
        Index("ix_approval_request_store_status", "store_id", "status", "id"),
        Index("ix_approval_request_submitter", "submitter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    chain_key: Mapped[str] = mapped_column(String(60), index=True)
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("approval_chain.id", ondelete="SET NULL"))
    chain_version: Mapped[int | None]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[int | None]
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "approval_status"), default=RequestStatus.PENDING)
    current_step: Mapped[int | None]  # index into snapshot["steps"] of the step waiting for decisions
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the object as the queue shows it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    decisions: Mapped[list[ApprovalDecision]] = relationship(
        back_populates="request", order_by="ApprovalDecision.id", cascade="all, delete-orphan"
    )

    @property
    def shown(self) -> dict[str, Any]:
        """The summary in the reader's language (what the pages and the API show), once per language."""
        cache = self.__dict__.setdefault("_shown", {})
        key = (current_language(), id(self.summary))  # a summary replaced is rendered again
        if key not in cache:
            cache[key] = shown_summary(self.summary)
        return cache[key]  # type: ignore[no-any-return]

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.snapshot.get("steps") or [])

    @property
    def step(self) -> dict[str, Any] | None:
        if self.current_step is None:
            return None
        for s in self.steps:
            if s.get("index") == self.current_step:
                return s
        return None


def shown_summary(summary: dict[str, Any] | None) -> dict[str, Any]:
    """A request's summary with its words in the reader's language: the title, the kind, the lines'
    labels and values and the table's columns rendered from the keys kept beside them (`i18n`); a summary
    written before those were kept shows its text, in the reader's language where the catalogue
    recognises it (values, a customer's name or a reason, as written)."""
    summary = dict(summary or {})
    kept = summary.pop("i18n", None) or {}
    if kept:
        title, type_label = rendered(kept.get("title")), rendered(kept.get("type_label"))
        lines = [[rendered(label) or "", rendered(value) or ""] for label, value in kept.get("lines") or []]
    else:
        title, type_label = recognised(summary.get("title")), recognised(summary.get("type_label"))
        lines = [[recognised(label) or "", value] for label, value in summary.get("lines") or []]
    summary.update(title=title or summary.get("title") or "", lines=lines)
    if type_label or "type_label" in summary:
        summary["type_label"] = type_label or summary.get("type_label")
    table = summary.get("table")
    if isinstance(table, dict):
        columns = kept.get("columns")
        summary["table"] = {**table, "columns": [rendered(c) or "" for c in columns] if columns is not None
                            else [recognised(c) or "" for c in table.get("columns") or []]}
    return summary


class DecisionOutcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    AUTO_PASSED = "auto_passed"
    SKIPPED = "skipped"
    REMINDED = "reminded"
    ESCALATED = "escalated"

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self])


OUTCOME_LABELS = {
    DecisionOutcome.APPROVED: _l("Approved"),
    DecisionOutcome.REJECTED: _l("Rejected"),
    DecisionOutcome.AUTO_PASSED: _l("Passed automatically"),
    DecisionOutcome.SKIPPED: _l("Skipped"),
    DecisionOutcome.REMINDED: _l("Reminder sent"),
    DecisionOutcome.ESCALATED: _l("Escalated"),
}


class ApprovalDecision(Base):
    """One entry of a request's story. `task_id` is the inbox row decided (unique: a task is decided once)."""

    __tablename__ = "approval_decision"
    __table_args__ = (
        Index("ix_approval_decision_request", "request_id", "id"),
        Index("ix_approval_decision_by", "decided_by_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_request.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    step_index: Mapped[int | None]
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id", ondelete="SET NULL"), unique=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    outcome: Mapped[DecisionOutcome] = mapped_column(str_enum(DecisionOutcome, "decision_outcome"))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ApprovalRequest] = relationship(back_populates="decisions")


def _request_involves_clause(actor: Any) -> Any:
    """Requests the actor submitted, decided or may decide: theirs whatever their data scope says."""
    from sqlalchemy import exists

    from crm.workflow.models import HumanTask
    from crm.workflow.models import HumanTaskCandidate

    decided = exists().where(ApprovalDecision.request_id == ApprovalRequest.id,
                             ApprovalDecision.decided_by_id == actor.id)
    asked = exists().where(HumanTask.instance_id == ApprovalRequest.instance_id,
                           HumanTaskCandidate.task_id == HumanTask.id, HumanTaskCandidate.user_id == actor.id)
    return or_(ApprovalRequest.submitter_id == actor.id, decided, asked)


def _request_involves(request: ApprovalRequest, actor: Any) -> bool:
    if request.submitter_id == actor.id or any(d.decided_by_id == actor.id for d in request.decisions):
        return True
    from sqlalchemy import select

    from crm.extensions import db
    from crm.workflow.models import HumanTask
    from crm.workflow.models import HumanTaskCandidate

    return db.session.scalar(select(HumanTask.id).join(HumanTaskCandidate, HumanTaskCandidate.task_id == HumanTask.id)
                             .where(HumanTask.instance_id == request.instance_id,
                                    HumanTaskCandidate.user_id == actor.id).limit(1)) is not None


# Managers and supervisors see the requests of their scope (the submitter is the owner).
ApprovalRequest.__visibility__ = Visibility(  # type: ignore[attr-defined]
    location="store_id", owner="submitter_id", location_is_store=True,
    extra=_request_involves_clause, involves=_request_involves,
)
