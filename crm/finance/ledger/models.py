"""What each owing order still owes and when it fell due (`finance_receivable_due`): the receivables'
ageing sums read this table instead of joining every owing order to its plan and instalments.

One row per open instalment of an order that still owes (`amount - collected`, due on the instalment's
date) or, for an order without a plan, one row of everything still due, due on the local day the order
started to wait for its money (see `crm.finance.ledger.receivables`; no such day yet: `due_on` NULL, not
due). An order that owes nothing has no row. The rows are a projection of the orders, plans and
instalments, rewritten per order in the same flush that changes them (`crm.finance.ledger.dues`), and
`flask crm receivables verify` compares them with a recomputation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.db import Base


class ReceivableDue(Base):
    __tablename__ = "finance_receivable_due"
    __table_args__ = (
        Index("ix_finance_receivable_due_order", "order_id"),
        Index("ix_finance_receivable_due_store", "store_id", "owner_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's salesperson
    due_on: Mapped[date | None]
    amount: Mapped[Decimal]

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True)
