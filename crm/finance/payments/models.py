"""Money in and out of orders, in one table that is the ledger (DESIGN §9: `Decimal` in Numeric(14, 2), RMB).

A **collection** (direction `in`) is recorded with its vouchers and runs `collection_verification`: it
counts towards the order only once a finance user other than the recorder verified it. A **refund**
(direction `out`) is carried out by finance from a process that needs it (a cancelled order's pipeline,
later an after-sales case). The order keeps the sums (`paid_amount` = verified collections,
`refunded_amount` = refunds paid) so lists and the pipeline read plain columns."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.org.models import OrgUnit
from crm.org.models import User

OBJECT_TYPE = "collection"  # how `collection_verification` instances and their tasks refer to a collection


class Direction(enum.StrEnum):
    IN = "in"  # a receipt: money from the customer
    OUT = "out"  # a payment: money back to the customer


DIRECTION_LABELS = {Direction.IN: _l("Receipt"), Direction.OUT: _l("Payment")}


class PaymentKind(enum.StrEnum):
    COLLECTION = "collection"
    REFUND = "refund"


KIND_LABELS = {PaymentKind.COLLECTION: _l("Collection"), PaymentKind.REFUND: _l("Refund")}


class PaymentStatus(enum.StrEnum):
    RECORDED = "recorded"  # a collection waiting for verification
    VERIFIED = "verified"  # counts towards the order
    REJECTED = "rejected"  # the voucher did not prove it: back with the recorder to correct or withdraw
    WITHDRAWN = "withdrawn"  # the recorder withdrew a rejected collection
    REQUESTED = "requested"  # a refund waiting for finance to pay it
    REFUNDED = "refunded"  # a refund paid out


STATUS_LABELS = {
    PaymentStatus.RECORDED: _l("Waiting for verification"),
    PaymentStatus.VERIFIED: _l("Verified"),
    PaymentStatus.REJECTED: _l("Rejected"),
    PaymentStatus.WITHDRAWN: _l("Withdrawn"),
    PaymentStatus.REQUESTED: _l("Refund requested"),
    PaymentStatus.REFUNDED: _l("Refunded"),
}


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"
    PLATFORM = "platform_settlement"
    CASH = "cash"
    OTHER = "other"


METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.ALIPAY: _l("Alipay"),
    PaymentMethod.WECHAT_PAY: _l("WeChat Pay"),
    PaymentMethod.PLATFORM: _l("Platform settlement"),
    PaymentMethod.CASH: _l("Cash"),
    PaymentMethod.OTHER: _l("Other"),
}


class Payment(Audited, Base):
    """One receipt or payment of an order. The order's store, customer and salesperson are copied in,
    so the ledger filters and pages on this table alone."""

    __tablename__ = "finance_payment"
    __audit_exclude__ = frozenset({"lock_version"})
    __table_args__ = (
        # The ledger pages by payment date, newest first (keyset on paid_on, id), in a store, for a
        # salesperson, or everywhere (HQ).
        Index("ix_finance_payment_store_day", "store_id", "paid_on", "id"),
        Index("ix_finance_payment_owner_day", "owner_id", "paid_on", "id"),
        Index("ix_finance_payment_day", "paid_on", "id"),
        Index("ix_finance_payment_order", "order_id", "id"),
        Index("ix_finance_payment_customer", "customer_id", "id"),
        Index("ix_finance_payment_status", "status", "store_id", "paid_on", "id"),
        # An amount range matches few rows spread over every date: read them by amount, then sort that few.
        Index("ix_finance_payment_amount", "amount"),
        Index("ix_finance_payment_reference", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's salesperson
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "finance_direction"))
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind, "finance_payment_kind"))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus, "finance_payment_status"))
    amount: Mapped[Decimal]
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "finance_payment_method"))
    paid_on: Mapped[date]  # when the money moved (the voucher's date), not when it was typed in
    payer: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(500))  # a rejection's or a refund's reason
    # The instalment of the order's receivable plan a collection pays (`crm.finance.plans`), if it names one.
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("finance_instalment.id", ondelete="SET NULL"),
                                                      index=True)
    # The platform settlement batch this collection is a line of (`crm.finance.settlements`), if any.
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("finance_settlement.id"), index=True)
    # What a refund was paid for when another context asked for it: "<object type>:<id>" (an after-sales
    # case is "after_sales:12"). A plain reference, so finance imports nothing of the contexts above it.
    case_ref: Mapped[str | None] = mapped_column(String(50), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]  # verified, rejected or refunded
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    store: Mapped[OrgUnit] = relationship(viewonly=True)
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id], viewonly=True)
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], viewonly=True)
    vouchers: Mapped[list[Voucher]] = relationship(order_by="Voucher.id", cascade="all, delete-orphan",
                                                   passive_deletes=True)
    # A settlement's collections share its vouchers, stored once on the settlement.
    settlement_vouchers: Mapped[list[Voucher]] = relationship(
        primaryjoin="and_(foreign(Payment.settlement_id) == remote(Voucher.settlement_id), "
                    "Payment.settlement_id.is_not(None))",
        order_by="Voucher.id", viewonly=True, uselist=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "payment"

    @property
    def all_vouchers(self) -> list[Voucher]:
        """What proves this payment: its settlement's vouchers (if it is a line of one), then its own."""
        return [*self.settlement_vouchers, *self.vouchers] if self.settlement_id else list(self.vouchers)

    @property
    def counts(self) -> bool:
        """Whether the money moved as far as the books are concerned."""
        return self.status in (PaymentStatus.VERIFIED, PaymentStatus.REFUNDED)

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.direction} {self.amount} {self.status}>"


class Voucher(Base):
    """A file proving a payment (a bank slip, a screenshot, a PDF), stored like other uploads. It belongs
    to one payment, or to one settlement batch (stored once and shown on each of its collections)."""

    __tablename__ = "finance_voucher"
    __table_args__ = (
        Index("ix_finance_voucher_payment", "payment_id", "id"),
        Index("ix_finance_voucher_settlement", "settlement_id", "id"),
        CheckConstraint("(payment_id IS NULL) <> (settlement_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("finance_payment.id", ondelete="CASCADE"))
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("finance_settlement.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
