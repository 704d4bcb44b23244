"""Org units and users.

The store is the isolation boundary of the whole product. Every org unit caches the id of the store and
of the subsidiary it sits in (`store_id`, `subsidiary_id`, NULL above that level) and its materialised
path (`/1/4/9/`), so "everything under this unit" is one indexed LIKE and "which store is this in" is a
column read. `crm.org.services` keeps the three consistent when units move."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.core.audit import Audited
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum

if TYPE_CHECKING:
    from crm.auth.models import Role


class UnitKind(enum.StrEnum):
    HQ = "hq"
    SUBSIDIARY = "subsidiary"
    STORE = "store"
    DEPARTMENT = "department"

    @property
    def label(self) -> str:
        return str(UNIT_KIND_LABELS[self])


UNIT_KIND_LABELS = {
    UnitKind.HQ: _l("Headquarters"),
    UnitKind.SUBSIDIARY: _l("Subsidiary"),
    UnitKind.STORE: _l("Store"),
    UnitKind.DEPARTMENT: _l("Department"),
}

# Which kinds may sit under which: HQ is the single root; departments nest anywhere below it.
ALLOWED_PARENTS: dict[UnitKind, set[UnitKind]] = {
    UnitKind.HQ: set(),
    UnitKind.SUBSIDIARY: {UnitKind.HQ},
    UnitKind.STORE: {UnitKind.HQ, UnitKind.SUBSIDIARY},
    UnitKind.DEPARTMENT: {UnitKind.HQ, UnitKind.SUBSIDIARY, UnitKind.STORE, UnitKind.DEPARTMENT},
}


class Platform(enum.StrEnum):
    TMALL = "tmall"
    JD = "jd"
    ALIBABA_1688 = "1688"
    ALIBABA_COM = "alibaba_com"
    PINDUODUO = "pinduoduo"
    DOUYIN = "douyin"
    TAOBAO = "taobao"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(PLATFORM_LABELS[self])


PLATFORM_LABELS = {
    Platform.TMALL: _l("Tmall"),
    Platform.JD: _l("JD"),
    Platform.ALIBABA_1688: _l("1688"),
    Platform.ALIBABA_COM: _l("Alibaba.com"),
    Platform.PINDUODUO: _l("Pinduoduo"),
    Platform.DOUYIN: _l("Douyin"),
    Platform.TAOBAO: _l("Taobao"),
    Platform.OTHER: _l("Other"),
}


class Gender(enum.StrEnum):
    UNSPECIFIED = "unspecified"
    MALE = "male"
    FEMALE = "female"

    @property
    def label(self) -> str:
        return str(GENDER_LABELS[self])


GENDER_LABELS = {
    Gender.UNSPECIFIED: _l("Not specified"),
    Gender.MALE: _l("Male"),
    Gender.FEMALE: _l("Female"),
}



class OrgUnit(Audited, TimestampMixin, Base):
    __tablename__ = "org_unit"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "path"})
    __table_args__ = (
        # LIKE 'prefix%' on an index needs text_pattern_ops on PostgreSQL (non-C collations).
        Index("ix_org_unit_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind, "unit_kind"))
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    path: Mapped[str] = mapped_column(String(400), default="")
    depth: Mapped[int] = mapped_column(default=0)
    # The store / subsidiary this unit is in (itself for a store / subsidiary); NULL above that level.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    subsidiary_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    platform: Mapped[Platform | None] = mapped_column(str_enum(Platform, "platform"))
    shop_name: Mapped[str | None] = mapped_column(String(200))
    # A store's quote PDF: the letterhead lines under its name (address, phone, bank …) and its terms.
    quote_letterhead: Mapped[str | None] = mapped_column(Text)
    quote_terms: Mapped[str | None] = mapped_column(Text)
    # Whether its quote PDFs end with the boxes for the seller's and the customer's seal and signature.
    quote_seal: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The department head, used by approval rules ("department head").
    head_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True, ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    @property
    def audit_store_id(self) -> int | None:
        return self.store_id

    @property
    def is_store(self) -> bool:
        return self.kind == UnitKind.STORE

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.kind} {self.name!r}>"


class User(Audited, TimestampMixin, Base):
    __tablename__ = "user"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "password_hash", "security_stamp", "last_login_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    gender: Mapped[Gender] = mapped_column(str_enum(Gender, "gender"), default=Gender.UNSPECIFIED)
    position: Mapped[str | None] = mapped_column(String(80))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Cached from the org unit (NULL for users above store level); kept in step by org.services.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Rotated on password change / disable: invalidates every other session of this user.
    security_stamp: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(10))
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id])
    store: Mapped[OrgUnit | None] = relationship(foreign_keys=[store_id], viewonly=True)
    supervisor: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[supervisor_id])
    roles: Mapped[list[Role]] = relationship(secondary="user_role", lazy="selectin", order_by="Role.id")

    # Flask-Login protocol -------------------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.security_stamp}"

    # Permissions (the roles carry them; see crm.auth.permissions) ----------------------------------
    @property
    def permissions(self) -> frozenset[str]:
        cached = self.__dict__.get("_permissions")
        if cached is None:
            cached = frozenset(p for role in self.roles for p in role.permission_list)
            self.__dict__["_permissions"] = cached
        return cached

    @property
    def is_super_admin(self) -> bool:
        return any(role.key == "super_admin" for role in self.roles)

    def can(self, permission: str) -> bool:
        return self.active and (self.is_super_admin or permission in self.permissions)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name!r}>"
