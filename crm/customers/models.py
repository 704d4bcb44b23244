"""Customer tables. Every row carries `store_id NOT NULL`; `owner_id` NULL means the customer sits in the
high seas (the highseas context builds on that). Uniqueness of the normalised mobile number and chat ID
within a store is enforced twice: by the services (to name the existing record) and by unique indexes
(so two concurrent inserts cannot both win)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import event
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.auth.scopes import scope_context
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum
from crm.core.db import trigram_index
from crm.org.models import OrgUnit
from crm.org.models import User


class CustomerLevel(enum.StrEnum):
    A = "a"
    B = "b"
    C = "c"
    D = "d"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    CustomerLevel.A: _l("A (key account)"),
    CustomerLevel.B: _l("B (regular)"),
    CustomerLevel.C: _l("C (occasional)"),
    CustomerLevel.D: _l("D (prospect)"),
}


class Intention(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"

    @property
    def label(self) -> str:
        return str(INTENTION_LABELS[self])


INTENTION_LABELS = {
    Intention.HIGH: _l("High"),
    Intention.MEDIUM: _l("Medium"),
    Intention.LOW: _l("Low"),
    Intention.NONE: _l("None yet"),
}


class FollowUpKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    VISIT = "visit"
    SMS = "sms"
    WECHAT = "wechat"

    @property
    def label(self) -> str:
        return str(FOLLOW_UP_KIND_LABELS[self])


FOLLOW_UP_KIND_LABELS = {
    FollowUpKind.PHONE: _l("Phone call"),
    FollowUpKind.EMAIL: _l("E-mail"),
    FollowUpKind.VISIT: _l("Visit"),
    FollowUpKind.SMS: _l("SMS"),
    FollowUpKind.WECHAT: _l("WeChat"),
}


class TeamAccess(enum.StrEnum):
    READ = "read"
    WRITE = "write"

    @property
    def label(self) -> str:
        return str(TEAM_ACCESS_LABELS[self])


TEAM_ACCESS_LABELS = {TeamAccess.READ: _l("Read only"), TeamAccess.WRITE: _l("Read and write")}


_TEAM_IDS = "customer_team_ids"


def _team_clause(actor: Any) -> Any:
    """Customers the actor is an unexpired team member of (the `extra` of the customer's visibility).

    The ids are read first (one small indexed query) and put in the clause as a list: OR-ed with the scope,
    a sub-select would keep PostgreSQL from using the owner / store indexes (a full scan at 1 M rows), while
    an empty list folds away and a short one becomes a primary-key lookup. They are kept in the actor's
    scope context (`memo`), which lives for one request: a list page's rows and its count both ask. A flush that writes a team row moves the session's team epoch on, which outdates every actor's
    (`_forget_team_ids`)."""
    from crm.extensions import db

    epoch = db.session.info.get(_TEAM_IDS, 0)
    memo = scope_context(actor).memo
    held = memo.get(_TEAM_IDS)
    if held is not None and held[0] == epoch:
        ids = held[1]
    else:
        now = utcnow()
        ids = list(db.session.scalars(select(CustomerTeamMember.customer_id).where(
            CustomerTeamMember.user_id == actor.id,
            or_(CustomerTeamMember.expires_at.is_(None), CustomerTeamMember.expires_at > now),
        ).limit(5000)))
        memo[_TEAM_IDS] = (epoch, ids)
    if not ids:
        return false()
    return Customer.id.in_(ids)


@event.listens_for(Session, "before_flush")
def _forget_team_ids(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(o, CustomerTeamMember) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_TEAM_IDS] = session.info.get(_TEAM_IDS, 0) + 1


class Customer(Audited, TimestampMixin, Base):
    __tablename__ = "customer"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "mobile_norm", "chat_id_norm", "lock_version",
                                   "last_activity_at", "tags_text"})
    __table_args__ = (
        Index("uq_customer_store_mobile", "store_id", "mobile_norm", unique=True),
        Index("uq_customer_store_chat", "store_id", "chat_id_norm", unique=True),
        # The list: by owner (self scopes) and by store (store scopes), newest / most recently active first.
        Index("ix_customer_owner_created", "owner_id", "created_at", "id"),
        Index("ix_customer_store_created", "store_id", "created_at", "id"),
        Index("ix_customer_owner_activity", "owner_id", "last_activity_at", "id"),
        Index("ix_customer_store_activity", "store_id", "last_activity_at", "id"),
        Index("ix_customer_store_name", "store_id", "name", "id"),
        Index("ix_customer_store_level", "store_id", "level"),
        Index("ix_customer_store_follow", "store_id", "last_follow_up_at"),
        # The high-seas pool list (owner_id IS NULL), newest first: a small partial index, so a store with
        # few pool customers among many owned ones does not scan the owned ones.
        Index("ix_customer_pool_created", "store_id", "created_at", "id",
              postgresql_where=text("owner_id IS NULL"), sqlite_where=text("owner_id IS NULL")),
        # The list's search box: name or company contains the text (PostgreSQL only; see queries.filtered).
        trigram_index("ix_customer_name_trgm", "name"),
        trigram_index("ix_customer_company_trgm", "company"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # NULL: in the high seas
    name: Mapped[str] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(32))
    # Normalised keys; NULL when absent (NULLs never collide in a unique index on either database).
    mobile_norm: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    chat_id_norm: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    source_platform: Mapped[str | None] = mapped_column(String(32))
    source_store: Mapped[str | None] = mapped_column(String(120))
    level: Mapped[CustomerLevel | None] = mapped_column(str_enum(CustomerLevel, "customer_level"))
    industry: Mapped[str | None] = mapped_column(String(80), index=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # ",vip,冷链," kept from `tags` on every write: the tag filter is one LIKE on both databases (JSON text
    # differs between them: SQLite escapes non-ASCII).
    tags_text: Mapped[str] = mapped_column(String(400), default="")
    product_preferences: Mapped[str | None] = mapped_column(String(500))
    intention: Mapped[Intention | None] = mapped_column(str_enum(Intention, "purchase_intention"))
    remarks: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(default=False)
    won: Mapped[bool] = mapped_column(default=False)
    last_follow_up_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    last_deal_at: Mapped[datetime | None]
    # When the current owner received the customer (high-seas recycling counts from here).
    owned_since: Mapped[datetime | None]
    # Never NULL (a sort key): the later of creation and the last follow-up.
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    store: Mapped[OrgUnit] = relationship(foreign_keys=[store_id], viewonly=True)
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], viewonly=True)

    __visibility__ = Visibility(
        location="store_id", owner="owner_id", store="store_id", location_is_store=True, extra=_team_clause,
        involves=lambda row, actor: row.owner_id == actor.id,
    )

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.name!r}>"

    @property
    def source_text(self) -> str:
        """Source platform (in words) and store: "Douyin · 抖音小店"."""
        return " · ".join(t for t in (platform_label(self.source_platform), self.source_store or "") if t)


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _tags_text(mapper: Any, connection: Any, target: Customer) -> None:
    target.tags_text = ("," + ",".join(target.tags) + ",") if target.tags else ""


class Contact(Audited, TimestampMixin, Base):
    __tablename__ = "customer_contact"
    __table_args__ = (Index("ix_customer_contact_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[str | None] = mapped_column(String(80))
    mobile: Mapped[str | None] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(default=False)
    remarks: Mapped[str | None] = mapped_column(String(500))


class CustomerTeamMember(Audited, Base):
    __tablename__ = "customer_team_member"
    __table_args__ = (
        Index("uq_customer_team_member", "customer_id", "user_id", unique=True),
        Index("ix_customer_team_member_user", "user_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    access: Mapped[TeamAccess] = mapped_column(str_enum(TeamAccess, "team_access"), default=TeamAccess.READ)
    expires_at: Mapped[datetime | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], viewonly=True)

    @property
    def active(self) -> bool:
        return self.expires_at is None or self.expires_at > utcnow()


class FollowUp(Audited, Base):
    __tablename__ = "customer_follow_up"
    __table_args__ = (
        Index("ix_customer_follow_up_customer", "customer_id", "occurred_at", "id"),
        # "To follow up": open reminders of an author, by time; and the reminder sweep.
        Index("ix_customer_follow_up_next", "author_id", "next_contact_at"),
        Index("ix_customer_follow_up_due", "reminder_sent_at", "next_contact_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("customer_contact.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind, "follow_up_kind"))
    content: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_contact_at: Mapped[datetime | None]
    # Set when the reminder signal went out (exactly once), or when a later follow-up made it moot.
    reminder_sent_at: Mapped[datetime | None]
    # [{"name": "quote.pdf", "stored": "2026/11/ab12.pdf", "size": 1234, "type": "application/pdf"}]
    attachments: Mapped[list[Any]] = mapped_column(default=list)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], viewonly=True)
    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id], viewonly=True)


class ImportStatus(enum.StrEnum):
    DRAFT = "draft"  # uploaded, waiting for the column mapping
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    """One import file, processed in the background by the `customers.run_imports` job in chunks, so the
    page can show progress and a 100 k-row file never holds a request."""

    __tablename__ = "customer_import_job"
    __table_args__ = (Index("ix_customer_import_job_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Customers without an owner column value go to this owner (NULL: to the high seas).
    default_owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx
    target: Mapped[str] = mapped_column(String(16), default="customers")  # customers | leads
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)  # our field -> column index
    on_duplicate: Mapped[str] = mapped_column(String(16), default="skip")  # skip | update (customers) | create (leads)
    # Choices made row by row on the preview ({"12": "update"}); other duplicates follow `on_duplicate`.
    row_choices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status"), default=ImportStatus.DRAFT)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    # [{"row": 12, "field": "mobile", "value": "123", "message": "..."}], capped
    errors: Mapped[list[Any]] = mapped_column(default=list)
    skip_reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Each skipped row: {"row", "reason", "customer_id" (the existing customer it matched) or "same_as_row"}.
    skipped_rows: Mapped[list[Any] | None] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))

    __visibility__ = Visibility(location="store_id", owner="created_by_id", location_is_store=True,
                                involves=lambda row, actor: row.created_by_id == actor.id)

    @property
    def progress(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0



# Leads (线索) ----------------------------------------------------------------------------------------------
class LeadStatus(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    CONVERTED = "converted"
    INVALID = "invalid"

    @property
    def label(self) -> str:
        return str(LEAD_STATUS_LABELS[self])


LEAD_STATUS_LABELS = {
    LeadStatus.NEW: _l("New"),
    LeadStatus.CONTACTED: _l("Contacted"),
    LeadStatus.CONVERTED: _l("Converted"),
    LeadStatus.INVALID: _l("Invalid"),
}


class Lead(Audited, TimestampMixin, Base):
    """A lighter record than a customer: an enquiry from a web form, a file or typed in. `owner_id` NULL
    means it waits in the store's lead pool; converting it creates a customer (checked for duplicates)."""

    __tablename__ = "lead"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "mobile_norm", "chat_id_norm", "source_ip_hash"})
    __table_args__ = (
        Index("ix_lead_store_status", "store_id", "status", "created_at", "id"),
        Index("ix_lead_owner_status", "owner_id", "status", "created_at", "id"),
        Index("ix_lead_store_mobile", "store_id", "mobile_norm"),
        Index("ix_lead_form_ip", "web_form_id", "source_ip_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(32))
    mobile_norm: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    chat_id_norm: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(40))
    source_platform: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | web_form | import
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LeadStatus] = mapped_column(str_enum(LeadStatus, "lead_status"), default=LeadStatus.NEW)
    web_form_id: Mapped[int | None] = mapped_column(ForeignKey("lead_web_form.id", ondelete="SET NULL"))
    source_ip_hash: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None]
    converted_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], viewonly=True)

    @property
    def source_text(self) -> str:
        """How the lead came in and from which platform, in words ("Entered by hand · Douyin")."""
        return " · ".join(t for t in (str(LEAD_SOURCE_LABELS.get(self.source, self.source or "")),
                                      platform_label(self.source_platform)) if t)

    # The store's lead pool is open to the people of that store (they claim from it).
    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                extra=lambda actor: _lead_pool_clause(actor),
                                involves=lambda row, actor: row.owner_id == actor.id)


LEAD_SOURCE_LABELS = {"manual": _l("Entered by hand"), "web_form": _l("Web form"), "import": _l("Imported")}


def platform_label(value: str | None) -> str:
    """A stored platform value in words ("douyin" -> "Douyin" / 抖音); an unknown value as it is."""
    from crm.org.models import Platform

    try:
        return Platform(value).label if value else ""
    except ValueError:
        return value or ""


def _lead_pool_clause(actor: Any) -> Any:
    from sqlalchemy import and_
    from sqlalchemy import false

    if actor.store_id is None:
        return false()
    return and_(Lead.owner_id.is_(None), Lead.store_id == actor.store_id)


class LeadFollowUp(Base):
    """A contact with a lead; converting the lead copies these into the customer's follow-ups."""

    __tablename__ = "lead_follow_up"
    __table_args__ = (Index("ix_lead_follow_up_lead", "lead_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind, "lead_follow_up_kind"))
    content: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_contact_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], viewonly=True)


class LeadWebForm(Base):
    """A public, embeddable form feeding a store's lead pool, identified by an unguessable token."""

    __tablename__ = "lead_web_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __visibility__ = Visibility(location="store_id", owner=None, location_is_store=True)


class LeadAssignmentRule(Audited, Base):
    """Who gets new pool leads of a store: round-robin among `member_ids` (the one with the fewest leads
    today first), for leads matching the province / platform condition (empty = any), each member taking
    at most `daily_capacity` a day. Rules are tried by `priority` (lowest first); inactive rules are skipped.
    Audited: creating, editing, (de)activating and deleting a rule shows in the operation log."""

    __tablename__ = "lead_assignment_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    priority: Mapped[int] = mapped_column(default=100)
    provinces: Mapped[list[Any]] = mapped_column(default=list)
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    member_ids: Mapped[list[Any]] = mapped_column(default=list)
    daily_capacity: Mapped[int] = mapped_column(default=50)
    active: Mapped[bool] = mapped_column(default=True)

    __visibility__ = Visibility(location="store_id", owner=None, location_is_store=True)


def _register() -> None:
    from crm.core.ownership import register_owned

    # Disabling a user hands their customers, the contacts they own and their leads to whoever takes over.
    register_owned(Customer, _l("Customers"))
    register_owned(Contact, _l("Customer contacts"))
    register_owned(Lead, _l("Leads"))


_register()
