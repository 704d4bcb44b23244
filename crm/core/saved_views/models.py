"""The saved-view table (one for every list)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.core.clock import utcnow
from crm.core.db import Base


class SavedView(Base):
    """A user's saved list: the filter query string and the chosen columns, under a name, for one list."""

    __tablename__ = "saved_view"
    __table_args__ = (Index("uq_saved_view_user_list_name", "user_id", "list_key", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    list_key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(2000), default="")
    columns: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
