"""After-sales cases (售后, DESIGN §7): what the customer wants back or again, on which goods lines, and
where `after_sales.bpmn` stands with it.

The status column is a projection of the case's process instance, like an order's: the operators in
`bpmn.py` set it in the step's transaction. The order's store, customer and salesperson are copied in, so
the list filters and pages on this table alone. A line names an order line with the quantity to return
(or to ship again) and, after the warehouse's inspection, the quantity accepted; `open_order_line_id`
repeats the order line while the case is open and is unique, so the database itself keeps one open case
per order line."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
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
from crm.core.db import TimestampMixin
from crm.core.db import str_enum
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.orders.models import OrderLine

OBJECT_TYPE = "after_sales"  # how `after_sales` instances, their approval and their tasks refer to a case
MAX_AMOUNT = Decimal("10000000.00")


class CaseType(enum.StrEnum):
    RETURN_REFUND = "return_refund"  # the goods come back, the accepted amount is refunded
    REFUND_ONLY = "refund_only"  # money back without a return
    EXCHANGE = "exchange"  # the goods come back, a replacement is shipped
    REISSUE = "reissue"  # missing or damaged goods are shipped again, nothing comes back


TYPE_LABELS = {
    CaseType.RETURN_REFUND: _l("Return and refund"),
    CaseType.REFUND_ONLY: _l("Refund only"),
    CaseType.EXCHANGE: _l("Exchange"),
    CaseType.REISSUE: _l("Reissue"),
}
RETURNS = (CaseType.RETURN_REFUND, CaseType.EXCHANGE)  # the goods come back and are inspected
REFUNDS = (CaseType.RETURN_REFUND, CaseType.REFUND_ONLY)  # finance pays money back
SHIPS = (CaseType.EXCHANGE, CaseType.REISSUE)  # goods go out again


class CaseStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    AWAITING_RETURN = "awaiting_return"  # the customer ships the goods back
    AWAITING_INSPECTION = "awaiting_inspection"  # the warehouse receives and inspects them
    AWAITING_REFUND = "awaiting_refund"  # finance pays back
    AWAITING_REPLACEMENT = "awaiting_replacement"  # the warehouse ships the replacement
    AWAITING_RECEIPT = "awaiting_receipt"  # the customer confirms the replacement arrived
    AWAITING_INVOICE = "awaiting_invoice"  # finance re-issues the invoice
    COMPLETED = "completed"
    REJECTED = "rejected"  # the approver said no
    CLOSED = "closed"  # nothing was shipped back in time


STATUS_LABELS = {
    CaseStatus.PENDING_APPROVAL: _l("Waiting for approval"),
    CaseStatus.AWAITING_RETURN: _l("Awaiting the return"),
    CaseStatus.AWAITING_INSPECTION: _l("Awaiting inspection"),
    CaseStatus.AWAITING_REFUND: _l("Awaiting the refund"),
    CaseStatus.AWAITING_REPLACEMENT: _l("Awaiting the replacement"),
    CaseStatus.AWAITING_RECEIPT: _l("Awaiting receipt"),
    CaseStatus.AWAITING_INVOICE: _l("Awaiting the invoice"),
    CaseStatus.COMPLETED: _l("Completed"),
    CaseStatus.REJECTED: _l("Rejected"),
    CaseStatus.CLOSED: _l("Closed: nothing came back"),
}
STATUS_BADGES = {
    CaseStatus.COMPLETED: "text-bg-success", CaseStatus.REJECTED: "text-bg-danger",
    CaseStatus.CLOSED: "text-bg-light border", CaseStatus.PENDING_APPROVAL: "text-bg-warning",
}
ENDED = (CaseStatus.COMPLETED, CaseStatus.REJECTED, CaseStatus.CLOSED)


class AfterSalesCase(Audited, TimestampMixin, Base):
    """One after-sales case of an order."""

    __tablename__ = "after_sales_case"
    __audit_exclude__ = frozenset({"lock_version", "created_at", "updated_at"})
    __table_args__ = (
        # The list pages newest first (keyset on id) in a store, by status, by type, or everywhere; the
        # order page reads an order's cases, the customer page a customer's.
        Index("ix_after_sales_case_store", "store_id", "id"),
        Index("ix_after_sales_case_status", "status", "store_id", "id"),
        Index("ix_after_sales_case_order", "order_id", "id"),
        Index("ix_after_sales_case_customer", "customer_id", "id"),
        Index("ix_after_sales_case_owner", "owner_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's salesperson
    type: Mapped[CaseType] = mapped_column(str_enum(CaseType, "after_sales_type"))
    reason: Mapped[str] = mapped_column(String(500))
    amount: Mapped[Decimal]  # what the requester asked to refund (0 for an exchange or a reissue)
    refund_amount: Mapped[Decimal | None]  # what finance is to pay back: set at approval or inspection
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    refund_payment_id: Mapped[int | None] = mapped_column(ForeignKey("finance_payment.id", ondelete="SET NULL"))
    invoice_reissue: Mapped[bool] = mapped_column(default=False)
    invoice_note: Mapped[str | None] = mapped_column(String(500))  # what the invoice step did
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus, "after_sales_status"))
    decision_note: Mapped[str | None] = mapped_column(String(500))  # the approver's reason for a rejection
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]  # approved or rejected
    closed_at: Mapped[datetime | None]  # completed, rejected or closed
    # The return shipment (the customer's parcel back to the store).
    return_carrier: Mapped[str | None] = mapped_column(String(100))
    return_tracking_no: Mapped[str | None] = mapped_column(String(100))
    return_shipped_at: Mapped[datetime | None]
    return_received_at: Mapped[datetime | None]
    # The warehouse's inspection (quantities accepted are on the lines; photos beside).
    inspection_note: Mapped[str | None] = mapped_column(String(2000))
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    inspected_at: Mapped[datetime | None]
    # The replacement shipment (exchange, reissue).
    replacement_carrier: Mapped[str | None] = mapped_column(String(100))
    replacement_tracking_no: Mapped[str | None] = mapped_column(String(100))
    replacement_shipped_at: Mapped[datetime | None]
    replacement_received_at: Mapped[datetime | None]
    receipt_auto: Mapped[bool] = mapped_column(default=False)  # confirmed by the timer, not the salesperson
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    store: Mapped[OrgUnit] = relationship(viewonly=True)
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id], viewonly=True)
    lines: Mapped[list[AfterSalesLine]] = relationship(order_by="AfterSalesLine.id", cascade="all, delete-orphan",
                                                       passive_deletes=True)
    photos: Mapped[list[AfterSalesPhoto]] = relationship(order_by="AfterSalesPhoto.id", cascade="all, delete-orphan",
                                                         passive_deletes=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "after_sales"

    @property
    def is_open(self) -> bool:
        return self.status not in ENDED

    @property
    def number(self) -> str:
        return f"AS{self.id:06d}"

    def __repr__(self) -> str:
        return f"<AfterSalesCase {self.id} {self.type} {self.status}>"


class AfterSalesLine(Base):
    """A goods line of a case: an order line, how many, and how many the warehouse accepted."""

    __tablename__ = "after_sales_line"
    __table_args__ = (Index("ix_after_sales_line_case", "case_id", "id"),
                      Index("ix_after_sales_line_order_line", "order_line_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("after_sales_case.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id", ondelete="CASCADE"))
    # The order line again while the case is open (NULL once it ended): one open case per order line.
    open_order_line_id: Mapped[int | None] = mapped_column(unique=True)
    quantity: Mapped[int]
    accepted_quantity: Mapped[int | None]  # after the inspection (returns only)
    note: Mapped[str | None] = mapped_column(String(500))

    order_line: Mapped[OrderLine] = relationship(viewonly=True)


class AfterSalesPhoto(Base):
    """A photo of the inspection (or of the damage), stored like other uploads."""

    __tablename__ = "after_sales_photo"
    __table_args__ = (Index("ix_after_sales_photo_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("after_sales_case.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
