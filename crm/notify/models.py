"""Notifications, preferences, the e-mail outbox and announcements."""

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
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.core.i18n import recognised
from crm.core.i18n import rendered


class Notification(Base):
    """One message in one user's bell. `store_id` is the store of what it is about (None: company-wide)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    # {"title": …, "body": …} as catalogue keys and parameters (crm.core.i18n.frozen), shown in the reader's
    # language; `title` and `body` keep the text in the recipient's language when it was written (the
    # e-mail's, and what notifications written before this column show).
    message: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    @property
    def shown_title(self) -> str:
        """The title in the reader's language: rendered from `message`, else the stored text (in the
        reader's language where the catalogue recognises it)."""
        kept = (self.message or {}).get("title")
        return (rendered(kept) if kept is not None else recognised(self.title)) or self.title

    @property
    def shown_body(self) -> str | None:
        kept = (self.message or {}).get("body")
        return rendered(kept) if kept is not None else recognised(self.body)


class NotificationPreference(Base):
    """A user's choice for one kind of notification (no row: in-app and e-mail both on)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    in_app: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=True)


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after EMAIL_MAX_ATTEMPTS

    @property
    def label(self) -> str:
        return str(EMAIL_STATUS_LABELS[self])


EMAIL_STATUS_LABELS = {EmailStatus.PENDING: _l("Waiting"), EmailStatus.SENT: _l("Sent"),
                       EmailStatus.FAILED: _l("Failed")}


class EmailOutbox(Base):
    """An e-mail to send, written in the same transaction as what caused it (a rolled-back action sends
    nothing); the `notify.send_email` job delivers it after commit, with retries and backoff."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[EmailStatus] = mapped_column(str_enum(EmailStatus, "email_status"), default=EmailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AudienceKind(enum.StrEnum):
    ALL = "all"        # everyone (HQ publishes)
    UNIT = "unit"      # everyone in an org unit and below: a subsidiary, a store or a department
    ROLE = "role"      # holders of a role, optionally within an org unit
    USERS = "users"    # chosen users

    @property
    def label(self) -> str:
        return str(AUDIENCE_LABELS[self])


AUDIENCE_LABELS = {
    AudienceKind.ALL: _l("Everyone"),
    AudienceKind.UNIT: _l("A subsidiary, store or department"),
    AudienceKind.ROLE: _l("A role"),
    AudienceKind.USERS: _l("Chosen users"),
}


class Announcement(Base):
    """A notice managers publish. Recipients see it on the home page until they mark it read."""

    __tablename__ = "announcement"
    __table_args__ = (Index("ix_announcement_window", "publish_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[AudienceKind] = mapped_column(str_enum(AudienceKind, "audience_kind"))
    # The org unit the audience is bound to (UNIT, optional for ROLE); its path, for a prefix match.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_path: Mapped[str | None] = mapped_column(String(400))
    role_key: Mapped[str | None] = mapped_column(String(60))
    pinned: Mapped[bool] = mapped_column(default=False)
    publish_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnouncementRecipient(Base):
    """A chosen user of an announcement addressed to chosen users."""

    __tablename__ = "announcement_recipient"
    __table_args__ = (Index("ix_announcement_recipient_user", "user_id", "announcement_id"),)

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class AnnouncementRead(Base):
    """A read receipt."""

    __tablename__ = "announcement_read"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
