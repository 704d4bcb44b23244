"""The product catalogue: categories (a tree) and products (SKU, specification, list and cost price,
on or off the shelf).

The catalogue is company master data, like the org tree: every store sells the same pallets, so
products carry no `store_id` and every signed-in user may read them (`product.manage` changes them,
`product.cost` shows cost price and margin). What a store actually charged lives on its quotes and
orders, which are store rows."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from decimal import ROUND_FLOOR
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.org.models import OrgUnit
from crm.org.models import User

if TYPE_CHECKING:
    from crm.customers.models import Customer


class ProductCategory(Audited, TimestampMixin, Base):
    """A node of the category tree. `path` is the materialised path of ids (`/3/7/`), so "this category
    and everything below it" is one indexed LIKE, as for org units."""

    __tablename__ = "product_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500), default="/", index=True)
    depth: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)  # order among its siblings
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[ProductCategory | None] = relationship(remote_side=[id])

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def __repr__(self) -> str:
        return f"<ProductCategory {self.id} {self.name!r}>"


class Product(Audited, TimestampMixin, Base):
    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_shelf_name", "on_shelf", "name", "id"),
        Index("ix_product_category_name", "category_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(50), unique=True)  # stored upper-case: "PL-1210-A"
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"))
    # Specification: outer size, material, load capacities (dynamic on a forklift, static stacked,
    # on a rack) — what buyers of pallets compare.
    size: Mapped[str | None] = mapped_column(String(100))
    material: Mapped[str | None] = mapped_column(String(50))
    dynamic_load_kg: Mapped[int | None]
    static_load_kg: Mapped[int | None]
    racking_load_kg: Mapped[int | None]
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    list_price: Mapped[Decimal]
    cost_price: Mapped[Decimal | None]
    on_shelf: Mapped[bool] = mapped_column(default=True)  # only on-shelf products go into new quotes and orders
    description: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)

    category: Mapped[ProductCategory | None] = relationship()
    images: Mapped[list[ProductImage]] = relationship(order_by="ProductImage.position, ProductImage.id",
                                                      cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": lock_version}
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})

    @property
    def margin(self) -> Decimal | None:
        """Gross margin of the list price, as a fraction (0.35 = 35 %); None without a cost price."""
        if self.cost_price is None or not self.list_price:
            return None
        return ((self.list_price - self.cost_price) / self.list_price).quantize(Decimal("0.0001"))

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.sku}>"


class ProductImage(Base):
    """A picture of a product (the file lies in the upload store, `crm.core.files`); the first one is the
    product's thumbnail."""

    __tablename__ = "product_image"
    __table_args__ = (Index("ix_product_image_product", "product_id", "position", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


MATERIALS = {
    "hdpe": _l("HDPE (high-density polyethylene)"),
    "pp": _l("PP (polypropylene)"),
    "recycled": _l("Recycled plastic"),
    "composite": _l("Plastic with steel reinforcement"),
}

# For the audit trail's field names.
FIELD_LABELS = {
    "sku": _l("SKU"),
    "name": _l("Name"),
    "category_id": _l("Category"),
    "size": _l("Size"),
    "material": _l("Material"),
    "dynamic_load_kg": _l("Dynamic load (kg)"),
    "static_load_kg": _l("Static load (kg)"),
    "racking_load_kg": _l("Racking load (kg)"),
    "unit": _l("Unit"),
    "list_price": _l("List price"),
    "cost_price": _l("Cost price"),
    "on_shelf": _l("On the shelf"),
    "description": _l("Description"),
}


# Quotes -------------------------------------------------------------------------------------------------------
class QuoteStatus(enum.StrEnum):
    """A projection of the `quote_approval` process (set by the `sales.set_quote_status` operator), plus
    draft (before submitting), converted (an order was made from it) and expired (validity date passed)."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CONVERTED = "converted"
    EXPIRED = "expired"


QUOTE_STATUS_LABELS = {
    QuoteStatus.DRAFT: _l("Draft"),
    QuoteStatus.PENDING_APPROVAL: _l("Pending approval"),
    QuoteStatus.APPROVED: _l("Approved"),
    QuoteStatus.REJECTED: _l("Rejected"),
    QuoteStatus.CONVERTED: _l("Converted"),
    QuoteStatus.EXPIRED: _l("Expired"),
}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Quote(Audited, TimestampMixin, Base):
    """One version of a quote. Revising a rejected quote makes a new row with the same `number`, the next
    `version` and `previous_id` pointing back; the old version stays as it was (history)."""

    __tablename__ = "quote"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})
    __table_args__ = (
        Index("uq_quote_number_version", "number", "version", unique=True),
        Index("ix_quote_owner_created", "owner_id", "created_at", "id"),
        Index("ix_quote_store_created", "store_id", "created_at", "id"),
        Index("ix_quote_store_status", "store_id", "status"),
        Index("ix_quote_status_valid", "status", "valid_until"),
        Index("ix_quote_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity.id", ondelete="SET NULL"), index=True)
    number: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("quote.id"))
    status: Mapped[QuoteStatus] = mapped_column(_enum(QuoteStatus, "quote_status"), default=QuoteStatus.DRAFT)
    valid_until: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    list_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]  # approved or rejected
    decision_comment: Mapped[str | None] = mapped_column(Text)  # the approver's comment on a rejection
    # Invoice hook (the finance request itself is the Finance issue's `invoice_request` process).
    invoice_requested: Mapped[bool] = mapped_column(default=False)
    invoice_stored_name: Mapped[str | None] = mapped_column(String(300))
    invoice_original_name: Mapped[str | None] = mapped_column(String(200))
    invoice_content_type: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    customer: Mapped[Customer] = relationship(viewonly=True)
    store: Mapped[OrgUnit] = relationship(foreign_keys=[store_id], viewonly=True)
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], viewonly=True)
    lines: Mapped[list[QuoteLine]] = relationship(order_by="QuoteLine.position, QuoteLine.id",
                                                  cascade="all, delete-orphan", passive_deletes=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @property
    def discount_rate(self) -> Decimal | None:
        """Overall rate: total ÷ list total (0.9 = 90 %, i.e. 10 % off)."""
        return rate(self.total, self.list_total)

    @property
    def min_line_rate(self) -> Decimal | None:
        rates = [r for r in (line.discount_rate for line in self.lines) if r is not None]
        return min(rates) if rates else None

    @property
    def editable(self) -> bool:
        return self.status == QuoteStatus.DRAFT

    def __repr__(self) -> str:
        return f"<Quote {self.id} {self.number} v{self.version}>"


class QuoteLine(Base):
    __tablename__ = "quote_line"
    __table_args__ = (
        Index("ix_quote_line_quote", "quote_id", "position", "id"),
        # Historical prices: a product's lines by store (and customer), newest first.
        Index("ix_quote_line_price_history", "store_id", "product_id", "priced_at"),
        Index("ix_quote_line_customer_history", "customer_id", "product_id", "priced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quote.id", ondelete="CASCADE"))
    # Denormalised from the quote so the price history is one indexed query that never crosses stores.
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    position: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[int]
    list_price: Mapped[Decimal]  # copied from the product when the line was written
    unit_price: Mapped[Decimal]
    cost_price: Mapped[Decimal | None]  # copied too, for the margin (shown only to product.cost holders)
    # Set when the quote becomes a transaction price (approved): the history lists only these.
    priced_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship(viewonly=True)

    @property
    def product_name(self) -> str:
        return self.product.name

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(Decimal("0.01"))

    @property
    def list_amount(self) -> Decimal:
        return (self.list_price * self.quantity).quantize(Decimal("0.01"))

    @property
    def discount_rate(self) -> Decimal | None:
        return rate(self.unit_price, self.list_price)

    @property
    def margin(self) -> Decimal | None:
        if self.cost_price is None or not self.unit_price:
            return None
        return ((self.unit_price - self.cost_price) / self.unit_price).quantize(Decimal("0.0001"))


def rate(price: Decimal | None, list_price: Decimal | None) -> Decimal | None:
    """price ÷ list price, exact to 6 places, rounded DOWN so that anything under 90 % stays under 90 %."""
    if price is None or not list_price:
        return None
    return (Decimal(price) / Decimal(list_price)).quantize(Decimal("0.000001"), rounding=ROUND_FLOOR)


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
    status: Mapped[OpportunityStatus] = mapped_column(_enum(OpportunityStatus, "opportunity_status"),
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
