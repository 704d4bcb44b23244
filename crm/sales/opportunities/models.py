"""Opportunities (商机): pipelines and their stages, opportunities with their products and team."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.catalog.models import Product

if TYPE_CHECKING:
    from crm.customers.models import Customer


# Opportunities ------------------------------------------------------------------------------------------------
class Pipeline(Audited, TimestampMixin, Base):
    """A sales pipeline of a store: an ordered set of stages, each with a win rate (configured by admins)."""

    __tablename__ = "pipeline"
    __table_args__ = (Index("ix_pipeline_store", "store_id", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})

    store: Mapped[OrgUnit] = relationship(viewonly=True)
    stages: Mapped[list[PipelineStage]] = relationship(order_by="PipelineStage.position, PipelineStage.id",
                                                       cascade="all, delete-orphan", passive_deletes=True)

    __visibility__ = Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)


class PipelineStage(Base):
    __tablename__ = "pipeline_stage"
    __table_args__ = (Index("ix_pipeline_stage_pipeline", "pipeline_id", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    win_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))  # 0.2500 = 25 %
    active: Mapped[bool] = mapped_column(default=True)


class OpportunityStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


OPPORTUNITY_STATUS_LABELS = {OpportunityStatus.OPEN: _l("Open"), OpportunityStatus.WON: _l("Won"),
                             OpportunityStatus.LOST: _l("Lost")}


def _opportunity_team_clause(actor: Any) -> Any:
    from sqlalchemy import select as _select

    return Opportunity.id.in_(_select(OpportunityMember.opportunity_id).where(OpportunityMember.user_id == actor.id))


class Opportunity(Audited, TimestampMixin, Base):
    __tablename__ = "opportunity"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})
    __table_args__ = (
        Index("ix_opportunity_board", "pipeline_id", "status", "stage_id", "position", "id"),
        Index("ix_opportunity_owner", "owner_id", "status", "expected_close"),
        Index("ix_opportunity_store", "store_id", "status", "expected_close"),
        Index("ix_opportunity_customer", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stage.id"))
    position: Mapped[int] = mapped_column(default=0)  # order within its column
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    expected_close: Mapped[date | None]
    status: Mapped[OpportunityStatus] = mapped_column(str_enum(OpportunityStatus, "opportunity_status"),
                                                      default=OpportunityStatus.OPEN)
    close_reason: Mapped[str | None] = mapped_column(String(500))
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    customer: Mapped[Customer] = relationship(viewonly=True)
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], viewonly=True)
    pipeline: Mapped[Pipeline] = relationship(viewonly=True)
    stage: Mapped[PipelineStage] = relationship(viewonly=True)
    products: Mapped[list[OpportunityProduct]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                              order_by="OpportunityProduct.id")
    members: Mapped[list[OpportunityMember]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                            order_by="OpportunityMember.id")

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                extra=_opportunity_team_clause,
                                involves=lambda row, actor: row.owner_id == actor.id
                                or any(m.user_id == actor.id for m in row.members))

    @property
    def weighted_amount(self) -> Decimal:
        """Forecast: amount × the stage's win rate (won: the amount, lost: nothing)."""
        if self.status == OpportunityStatus.WON:
            return self.amount
        if self.status == OpportunityStatus.LOST:
            return Decimal("0.00")
        return (self.amount * self.stage.win_rate).quantize(Decimal("0.01"))


class OpportunityProduct(Base):
    __tablename__ = "opportunity_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(default=1)

    product: Mapped[Product] = relationship(viewonly=True)


class OpportunityMember(Base):
    """Team: colleagues of the same store working the opportunity (they see it)."""

    __tablename__ = "opportunity_member"
    __table_args__ = (Index("uq_opportunity_member", "opportunity_id", "user_id", unique=True),
                      Index("ix_opportunity_member_user", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship(viewonly=True)
