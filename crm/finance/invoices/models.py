"""Invoices (DESIGN §7 `invoice_request`, §9 money): one row per invoice a salesperson asked finance for,
from an approved quote or an order. The row follows `invoice_request.bpmn`: requested → issued (number,
date, amount, file) → mailed (paper: carrier, tracking number), or rejected with a reason; an issued
invoice can be voided (red-letter) with a reason, which frees its amount to be invoiced again.

The order's (or quote's) store, customer and salesperson are copied in, so the list filters and pages on
this table alone."""

from __future__ import annotations

import enum
from datetime import date
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
from crm.core.db import str_enum
from crm.org.models import OrgUnit

OBJECT_TYPE = "invoice"  # how `invoice_request` instances and their tasks refer to an invoice


class InvoiceType(enum.StrEnum):
    VAT_GENERAL = "vat_general"  # 增值税普通发票
    VAT_SPECIAL = "vat_special"  # 增值税专用发票
    ELECTRONIC = "electronic"  # 电子发票
    PAPER = "paper"  # 纸质发票


TYPE_LABELS = {
    InvoiceType.VAT_GENERAL: _l("VAT general invoice"),
    InvoiceType.VAT_SPECIAL: _l("VAT special invoice"),
    InvoiceType.ELECTRONIC: _l("Electronic invoice"),
    InvoiceType.PAPER: _l("Paper invoice"),
}


class InvoiceStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for finance to issue or reject it
    ISSUED = "issued"  # issued (a paper one waits for its mailing)
    REJECTED = "rejected"  # finance refused it with a reason; its amount is free again
    MAILED = "mailed"  # a paper invoice on its way: carrier and tracking number
    VOIDED = "voided"  # red-lettered with a reason; its amount is free again


STATUS_LABELS = {
    InvoiceStatus.REQUESTED: _l("Invoice requested"),
    InvoiceStatus.ISSUED: _l("Issued"),
    InvoiceStatus.REJECTED: _l("Rejected"),
    InvoiceStatus.MAILED: _l("Mailed"),
    InvoiceStatus.VOIDED: _l("Voided"),
}
STATUS_BADGES = {
    InvoiceStatus.REQUESTED: "text-bg-warning", InvoiceStatus.ISSUED: "text-bg-success",
    InvoiceStatus.REJECTED: "text-bg-danger", InvoiceStatus.MAILED: "text-bg-primary",
    InvoiceStatus.VOIDED: "text-bg-light border",
}
# Invoices whose amount counts against what can still be invoiced (pending and issued ones).
COUNTING = (InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED, InvoiceStatus.MAILED)


class Invoice(Audited, Base):
    """An invoice of an order or of an approved quote without an order yet (then `order_id` is empty and
    the order made from the quote later counts it as its own)."""

    __tablename__ = "finance_invoice"
    __audit_exclude__ = frozenset({"lock_version", "updated_at"})
    __table_args__ = (
        # The list pages newest first (keyset on id) in a store, for a salesperson, or everywhere.
        Index("ix_finance_invoice_store", "store_id", "id"),
        Index("ix_finance_invoice_owner", "owner_id", "id"),
        Index("ix_finance_invoice_order", "order_id", "id"),
        Index("ix_finance_invoice_quote", "quote_id", "id"),
        Index("ix_finance_invoice_customer", "customer_id", "id"),
        Index("ix_finance_invoice_status", "status", "store_id", "id"),
        Index("ix_finance_invoice_no", "store_id", "invoice_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quote.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's (quote's) salesperson
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    type: Mapped[InvoiceType] = mapped_column(str_enum(InvoiceType, "finance_invoice_type"))
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus, "finance_invoice_status"))
    title: Mapped[str] = mapped_column(String(200))  # 抬头: the buyer's name as printed
    taxpayer_no: Mapped[str | None] = mapped_column(String(20))  # 纳税人识别号
    amount: Mapped[Decimal]  # requested; finance's issued amount replaces it (the operation log keeps both)
    email: Mapped[str | None] = mapped_column(String(254))
    mailing_address: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))
    invoice_no: Mapped[str | None] = mapped_column(String(50))
    issued_on: Mapped[date | None]
    file_stored_name: Mapped[str | None] = mapped_column(String(100))
    file_original_name: Mapped[str | None] = mapped_column(String(255))
    file_content_type: Mapped[str | None] = mapped_column(String(100))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_no: Mapped[str | None] = mapped_column(String(100))
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    void_reason: Mapped[str | None] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]  # issued or rejected
    mailed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    mailed_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    voided_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    store: Mapped[OrgUnit] = relationship(viewonly=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "invoice"

    @property
    def counts(self) -> bool:
        """Whether its amount is taken from what can still be invoiced."""
        return self.status in COUNTING

    @property
    def file_is_image(self) -> bool:
        return bool(self.file_content_type and self.file_content_type.startswith("image/"))

    def __repr__(self) -> str:
        return f"<Invoice {self.id} {self.type} {self.amount} {self.status}>"
