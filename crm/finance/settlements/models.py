"""A platform's settlement batch (issue 20 item 3): one transfer (a Tmall or JD settlement, a bank batch)
that pays several orders of ONE store. It is recorded once with its vouchers and split over its orders:
each line is an ordinary collection (`Payment.settlement_id` set) that runs its own
`collection_verification`; the batch's vouchers are stored once, on the settlement, and every collection of
the batch shows and serves them (`Payment.all_vouchers`).

Visibility is by store only (nobody owns a batch): store finance sees its store's, HQ finance (data scope
all) every store's. Reading a settlement also needs `finance.view`, which the pages, the API and
`services.get_settlement` require: a salesperson placed in the store unit does not see the store's batches
(they see their own orders' collections, as before)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import str_enum
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import Voucher

OBJECT_TYPE = "settlement"


class Settlement(Audited, Base):
    __tablename__ = "finance_settlement"
    __table_args__ = (
        UniqueConstraint("store_id", "reference", name="uq_finance_settlement_store_reference"),
        Index("ix_finance_settlement_store", "store_id", "id"),  # the list pages newest first in a store
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    payer: Mapped[str] = mapped_column(String(100))  # the platform or payer, e.g. "Tmall"
    reference: Mapped[str] = mapped_column(String(100))  # the batch's or transfer's number
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "finance_payment_method"))
    paid_on: Mapped[date]
    amount: Mapped[Decimal]  # the transfer's total: the lines add up to it
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    vouchers: Mapped[list[Voucher]] = relationship(order_by="Voucher.id", cascade="all, delete-orphan",
                                                   passive_deletes=True)

    __visibility__ = Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)

    @classmethod
    def audit_type(cls) -> str:
        return "settlement"

    def __repr__(self) -> str:
        return f"<Settlement {self.id} {self.reference} {self.amount}>"
