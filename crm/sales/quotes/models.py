"""Quotes (报价): a customer's quote with its lines, versions and discount audit status."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
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
from crm.sales.catalog.models import PricedLine
from crm.sales.catalog.models import rate

if TYPE_CHECKING:
    from crm.customers.models import Customer


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
    status: Mapped[QuoteStatus] = mapped_column(str_enum(QuoteStatus, "quote_status"), default=QuoteStatus.DRAFT)
    valid_until: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    list_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]  # approved or rejected
    decision_comment: Mapped[str | None] = mapped_column(Text)  # the approver's comment on a rejection
    # A customer-supplied invoice file. `invoice_requested` is the flag of the button the finance centre's
    # invoices (crm/finance/invoices, `invoice_request`) replaced: kept for quotes flagged before.
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


class QuoteLine(PricedLine, Base):
    __tablename__ = "quote_line"
    __table_args__ = (
        Index("ix_quote_line_quote", "quote_id", "position", "id"),
        # Historical prices: a product's lines by store (and customer), newest first.
        Index("ix_quote_line_price_history", "store_id", "product_id", "priced_at"),
        Index("ix_quote_line_customer_history", "customer_id", "product_id", "priced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quote.id", ondelete="CASCADE"))
    # Set when the quote becomes a transaction price (approved): the history lists only these.
    priced_at: Mapped[datetime | None]

    @property
    def product_name(self) -> str:
        return self.product.name

    @property
    def margin(self) -> Decimal | None:
        if self.cost_price is None or not self.unit_price:
            return None
        return ((self.unit_price - self.cost_price) / self.unit_price).quantize(Decimal("0.0001"))
