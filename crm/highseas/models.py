"""High-seas tables. A customer is in the pool of its store when its `owner_id` is NULL (customers
context); these tables hold the pool settings (one pool per store, created on demand), its members and
admins, every move in or out with its reason, the claim applications and the reminders sent."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.org.models import User


class HighSeasPool(Audited, Base):
    """The pool of a store and its rules. `follow_up_days` / `deal_days` NULL: that rule is off;
    `level_days` ({"a": 60, ...}) overrides `follow_up_days` per customer level."""

    __tablename__ = "highseas_pool"
    __table_args__ = (Index("uq_highseas_pool_store", "store_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    name: Mapped[str] = mapped_column(String(100))
    auto_recycle: Mapped[bool] = mapped_column(default=True)
    follow_up_days: Mapped[int | None] = mapped_column(default=30)
    deal_days: Mapped[int | None] = mapped_column(default=None)
    level_days: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exempt_won: Mapped[bool] = mapped_column(default=True)
    exempt_open_opportunity: Mapped[bool] = mapped_column(default=True)
    remind_days: Mapped[int | None] = mapped_column(default=3)
    cooldown_days: Mapped[int] = mapped_column(default=7)
    daily_claim_quota: Mapped[int | None] = mapped_column(default=5)
    max_owned: Mapped[int | None] = mapped_column(default=None)
    max_locked: Mapped[int | None] = mapped_column(default=None)
    won_counts: Mapped[bool] = mapped_column(default=False)
    return_visit_days: Mapped[int] = mapped_column(default=3)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}
    __visibility__ = Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)


class PoolRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str({PoolRole.MEMBER: _l("Member"), PoolRole.ADMIN: _l("Admin")}[self])


class HighSeasPoolMember(Base):
    """Who may see and claim (member) or also assign and configure (admin). A pool without any member
    row is open to every user of its store."""

    __tablename__ = "highseas_pool_member"
    __table_args__ = (Index("uq_highseas_pool_member", "pool_id", "user_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("highseas_pool.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[PoolRole] = mapped_column(str_enum(PoolRole, "highseas_pool_role"), default=PoolRole.MEMBER)

    user: Mapped[User] = relationship(foreign_keys=[user_id], viewonly=True)


class MoveKind(enum.StrEnum):
    RECYCLED = "recycled"      # the sweep, by a rule
    RELEASED = "released"      # manual "move to the high seas"
    CLAIMED = "claimed"        # an approved claim set the owner
    ASSIGNED = "assigned"      # a supervisor / pool admin gave it to someone
    RETURNED = "returned"      # no return visit in time after a claim

    @property
    def label(self) -> str:
        return str(MOVE_LABELS[self])


MOVE_LABELS = {
    MoveKind.RECYCLED: _l("Recycled by a rule"),
    MoveKind.RELEASED: _l("Moved to the high seas"),
    MoveKind.CLAIMED: _l("Claimed"),
    MoveKind.ASSIGNED: _l("Assigned"),
    MoveKind.RETURNED: _l("Returned: no visit in time"),
}
INTO_POOL = (MoveKind.RECYCLED, MoveKind.RELEASED, MoveKind.RETURNED)


class HighSeasMove(Base):
    """Every move into or out of the pool, with its reason (the history and the cooldown read this)."""

    __tablename__ = "highseas_move"
    __table_args__ = (
        Index("ix_highseas_move_customer", "customer_id", "at", "id"),
        Index("ix_highseas_move_from", "from_owner_id", "customer_id", "at"),
        Index("ix_highseas_move_store_at", "store_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[MoveKind] = mapped_column(str_enum(MoveKind, "highseas_move_kind"))
    from_owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __visibility__ = Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"        # waiting for the approval chain
    VISITING = "visiting"      # approved, owner set, waiting for the return visit
    KEPT = "kept"              # visited in time
    RETURNED = "returned"      # no visit in time: back in the pool
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(CLAIM_LABELS[self])


CLAIM_LABELS = {
    ClaimStatus.PENDING: _l("Waiting for approval"),
    ClaimStatus.VISITING: _l("Approved: visit due"),
    ClaimStatus.KEPT: _l("Kept"),
    ClaimStatus.RETURNED: _l("Returned to the pool"),
    ClaimStatus.REJECTED: _l("Rejected"),
}
OPEN_CLAIM = (ClaimStatus.PENDING, ClaimStatus.VISITING)


class HighSeasClaim(Base):
    """A salesperson's application for a pool customer. At most one open (pending or visiting) claim per
    customer: a partial unique index, so two concurrent applications cannot both be written."""

    __tablename__ = "highseas_claim"
    __table_args__ = (
        Index("uq_highseas_claim_open", "customer_id", unique=True,
              sqlite_where=text("status IN ('pending', 'visiting')"),
              postgresql_where=text("status IN ('pending', 'visiting')")),
        Index("ix_highseas_claim_applicant", "applicant_id", "created_at", "id"),
        Index("ix_highseas_claim_store", "store_id", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    former_owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus, "highseas_claim_status"),
                                                default=ClaimStatus.PENDING)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    visit_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id], viewonly=True)

    __visibility__ = Visibility(location="store_id", owner="applicant_id", store="store_id",
                                location_is_store=True)


class HighSeasReminder(Base):
    """One reminder per customer, owner and recycle day (the sweep runs daily; never twice)."""

    __tablename__ = "highseas_reminder"
    __table_args__ = (Index("uq_highseas_reminder", "customer_id", "owner_id", "due_on", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    due_on: Mapped[str] = mapped_column(String(10))  # ISO date of the recycle
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
