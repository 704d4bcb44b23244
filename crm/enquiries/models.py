"""Enquiry statistics tables. Figures are kept per day of the company's calendar (Asia/Shanghai):
`enquiry_daily` per store (the platform's enquiries and new enquiries, entered by the store's admin team
or imported), `enquiry_salesperson_daily` per salesperson and store (WeChat adds and contacts, entered by
the salesperson), `enquiry_screenshot` the uploaded WeChat screenshots (their number is the day's count).
Every change is in the operation log (`Audited`): a correction keeps the old value. `enquiry_import`
keeps an import's counts and refused rows for its error report; `enquiry_reminder` one reminder per
salesperson and day."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base


class EnquiryDaily(Audited, Base):
    """One store's platform figures of one day."""

    __tablename__ = "enquiry_daily"
    __table_args__ = (Index("uq_enquiry_daily_store_day", "store_id", "day", unique=True),
                      Index("ix_enquiry_daily_day", "day", "store_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    day: Mapped[date]
    enquiries: Mapped[int] = mapped_column(default=0)
    new_enquiries: Mapped[int] = mapped_column(default=0)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Store figures: nobody owns them, the store's scope sees them (a salesperson's "own" scope does not).
    __visibility__ = Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)


class EnquirySalespersonDaily(Audited, Base):
    """One salesperson's figures of one day in one store."""

    __tablename__ = "enquiry_salesperson_daily"
    __table_args__ = (Index("uq_enquiry_salesperson_daily", "user_id", "store_id", "day", unique=True),
                      Index("ix_enquiry_salesperson_daily_store_day", "store_id", "day"),
                      Index("ix_enquiry_salesperson_daily_day", "day", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    day: Mapped[date]
    wechat_adds: Mapped[int] = mapped_column(default=0)
    contacts: Mapped[int] = mapped_column(default=0)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __visibility__ = Visibility(location="store_id", owner="user_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.user_id == actor.id)


class EnquiryScreenshot(Audited, Base):
    """A WeChat screenshot a salesperson uploaded for a day (crm.core.files, folder "enquiries")."""

    __tablename__ = "enquiry_screenshot"
    __table_args__ = (Index("ix_enquiry_screenshot_user_day", "user_id", "day", "id"),
                      Index("ix_enquiry_screenshot_store_day", "store_id", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    day: Mapped[date]
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __visibility__ = Visibility(location="store_id", owner="user_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.user_id == actor.id)


class EnquiryImport(Base):
    """An import of platform figures: counts and the refused rows ({row, field, value, message}) of its
    error report. Placed at its author's unit and owned by them."""

    __tablename__ = "enquiry_import"
    __table_args__ = (Index("ix_enquiry_import_author", "created_by_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __visibility__ = Visibility(location="org_unit_id", owner="created_by_id", store="org_unit_id",
                                involves=lambda row, actor: row.created_by_id == actor.id)


class EnquiryReminder(Base):
    """The reminder sent to a salesperson for a day without figures (at most one per person and day)."""

    __tablename__ = "enquiry_reminder"
    __table_args__ = (Index("uq_enquiry_reminder", "user_id", "day", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    day: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
