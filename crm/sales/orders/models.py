"""Contracting orders (DESIGN §7): an order with its delivery note lines, the payment mode, the shipping
address and the terminal it came from, and the sums of the money finance recorded on it
(verified collections, refunds paid: `crm.finance.payments`).

The status column is a projection of the order's `order_pipeline` instance: the process's operators
(`crm.sales.orders.bpmn`) set it in the same transaction as the step. What the pipeline's tasks capture
(contract, picked quantities, carrier and tracking number, the customer's rating) is written onto the
order by the same operators, so pages, exports and the kanban read plain columns."""

from __future__ import annotations

import enum
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


OBJECT_TYPE = "order"  # how processes, tasks and the history refer to an order

class OrderStatus(enum.StrEnum):
    CONTRACTING = "contracting"  # delivery note issued, waiting for the customer's signature
    PENDING_COLLECTION = "pending_collection"
    PENDING_OUTBOUND = "pending_outbound"
    PENDING_DELIVERY = "pending_delivery"
    PENDING_RECEIPT = "pending_receipt"
    PENDING_REFUND = "pending_refund"  # cancelled after money came in: finance refunds first
    COMPLETED = "completed"
    CANCELLED = "cancelled"


ORDER_STATUS_LABELS = {
    OrderStatus.CONTRACTING: _l("Contracting"),
    OrderStatus.PENDING_COLLECTION: _l("Pending collection"),
    OrderStatus.PENDING_OUTBOUND: _l("Pending outbound"),
    OrderStatus.PENDING_DELIVERY: _l("Pending delivery"),
    OrderStatus.PENDING_RECEIPT: _l("Pending receipt"),
    OrderStatus.PENDING_REFUND: _l("Pending refund"),
    OrderStatus.COMPLETED: _l("Completed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}


class PaymentMode(enum.StrEnum):
    PREPAY = "prepay"  # pay before delivery
    ARREARS = "arrears"  # delivery in arrears: pay after receipt


PAYMENT_MODE_LABELS = {PaymentMode.PREPAY: _l("Pay before delivery"), PaymentMode.ARREARS: _l("Delivery in arrears")}


class Terminal(enum.StrEnum):
    PC = "pc"
    MOBILE = "mobile"
    APP = "app"
    MINI_PROGRAM = "mini_program"


TERMINAL_LABELS = {Terminal.PC: _l("PC"), Terminal.MOBILE: _l("Mobile"), Terminal.APP: _l("App"),
                   Terminal.MINI_PROGRAM: _l("Mini-program")}



class Order(Audited, TimestampMixin, Base):
    __tablename__ = "sales_order"  # "order" is an SQL keyword
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})
    __table_args__ = (
        Index("ix_sales_order_store_created", "store_id", "created_at", "id"),
        Index("ix_sales_order_owner_created", "owner_id", "created_at", "id"),
        Index("ix_sales_order_store_status", "store_id", "status"),
        Index("ix_sales_order_customer", "customer_id", "id"),
        Index("ix_sales_order_signed", "store_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quote.id"), unique=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    delivery_note_no: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"), default=OrderStatus.CONTRACTING)
    payment_mode: Mapped[PaymentMode] = mapped_column(str_enum(PaymentMode, "payment_mode"))
    terminal: Mapped[Terminal] = mapped_column(str_enum(Terminal, "order_terminal"))
    ship_name: Mapped[str] = mapped_column(String(100))
    ship_phone: Mapped[str] = mapped_column(String(30))
    ship_address: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    list_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    paid_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    # The approved make-ups (补款) of the order, kept by finance: what it owes is total + make_up_amount.
    make_up_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    # The after-sales cases of the order still open (`crm.aftersales` keeps the count): the order shows an
    # "after-sales" marker beside its status while it is above 0.
    after_sales_open: Mapped[int] = mapped_column(default=0)
    contract_no: Mapped[str | None] = mapped_column(String(50))
    signed_at: Mapped[datetime | None]  # the contracting order was signed: it counts as a transaction
    paid_at: Mapped[datetime | None]
    outbound_at: Mapped[datetime | None]
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_no: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    receipt_auto: Mapped[bool] = mapped_column(default=False)  # confirmed by the timer, not the salesperson
    rating: Mapped[int | None]  # the customer's rating 1-5 at receipt
    rating_comment: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    customer: Mapped[Customer] = relationship(viewonly=True)
    store: Mapped[OrgUnit] = relationship(foreign_keys=[store_id], viewonly=True)
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], viewonly=True)
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.position, OrderLine.id",
                                                  cascade="all, delete-orphan", passive_deletes=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "order"

    @property
    def discount_rate(self) -> Decimal | None:
        return rate(self.total, self.list_total)

    @property
    def is_open(self) -> bool:
        return self.status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED)

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.number}>"


class OrderLine(PricedLine, Base):
    __tablename__ = "sales_order_line"
    __table_args__ = (
        Index("ix_sales_order_line_order", "order_id", "position", "id"),
        # Transaction prices (quotes show them): signed lines of a store / a customer, newest first.
        Index("ix_sales_order_line_price_history", "store_id", "product_id", "signed_at"),
        Index("ix_sales_order_line_customer_history", "customer_id", "product_id", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    picked_quantity: Mapped[int | None]  # what the warehouse confirmed at outbound
    signed_at: Mapped[datetime | None]  # copied from the order when it is signed; cleared if it is cancelled
