"""Roles, API tokens and log-in throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.permissions import DataScope
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.org.models import User

user_role = Table(
    "user_role",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Labels of the seeded default roles, translated when the admin kept the default name.
DEFAULT_ROLE_LABELS = {
    "super_admin": _l("Super admin"),
    "hq_manager": _l("HQ manager"),
    "subsidiary_manager": _l("Subsidiary manager"),
    "store_manager": _l("Store manager"),
    "supervisor": _l("Supervisor"),
    "salesperson": _l("Salesperson"),
    "finance": _l("Finance"),
    "warehouse": _l("Warehouse"),
    "logistics": _l("Logistics"),
    "process_owner": _l("Process owner"),
    "admin": _l("Admin"),
}


class Role(Audited, TimestampMixin, Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(400))
    data_scope: Mapped[DataScope] = mapped_column(
        Enum(DataScope, name="data_scope", native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
    )
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    # System roles (super admin) can be neither edited nor removed.
    is_system: Mapped[bool] = mapped_column(default=False)
    default_name: Mapped[str | None] = mapped_column(String(80))
    # Built-in roles only: the default permissions a release has offered this role (granted or declined).
    # `crm.auth.defaults` offers a new release's defaults once, so a permission an admin took away stays away.
    offered_permissions: Mapped[list[Any]] = mapped_column(default=list)

    users: Mapped[list[User]] = relationship(secondary=user_role, viewonly=True)

    @property
    def permission_list(self) -> list[str]:
        return list(self.permissions or [])

    @property
    def display_name(self) -> str:
        if self.default_name and self.name == self.default_name and self.key in DEFAULT_ROLE_LABELS:
            return str(DEFAULT_ROLE_LABELS[self.key])
        return self.name

    def __repr__(self) -> str:
        return f"<Role {self.key}>"


class ApiToken(Audited, Base):
    """A personal token for /api/v1. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"
    __audit_exclude__ = frozenset({"token_hash", "last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class LoginThrottle(Base):
    """Failed log-ins per identifier (hashed), whether or not an account has it: locking unknown
    identifiers exactly like real ones keeps the answer from revealing which accounts exist."""

    __tablename__ = "login_throttle"

    identifier_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A write sent with an `Idempotency-Key` header: the first answer to (user, key), kept 24 hours so a
    retry with the same key and body gets it again instead of doing the write twice. The row is inserted
    first in the write's own transaction: a concurrent retry waits on the unique index, then replays.
    `status_code` is null until the answer is known (a row committed without one was a refused write that
    kept its own record; a retry is told to use a new key)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (Index("uq_idempotency_key_user_key", "user_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and the body's content
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
