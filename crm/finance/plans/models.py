"""A receivable plan (`finance_plan`, one per order) and its instalments (`finance_instalment`): number,
amount, due date, the expected method and how many days before the due date the salesperson and finance
are reminded. The instalments add up to what the order owes (`payments.services.amount_due`) when the
plan is saved.

`Instalment.collected` is the part of the order's **verified** collections allocated to the instalment
(`plans.allocation`): a collection that names an instalment goes to it first, the rest fills the
instalments in due-date order. It is maintained, not derived at read time, so the receivables' ageing
reads one plain column per instalment in one aggregate statement at any scale; it is recomputed from
the verified collections (never incremented) under the order's lock after every verification and every
edit of the plan, so it is correct after each of them. Whether an instalment is overdue depends on
today and is derived when read (`instalment_status`).

`remind_on` (the due date less the reminder days) and the two markers `reminded_at` / `overdue_sent_at`
let the daily reminder job find what is due with one indexed range read and handle each instalment
once: the marker is set when the job has dealt with the instalment, whether it sent the notice or found
nothing to say (collected already, order closed), so the partial indexes hold only what is still ahead.
Moving an instalment's dates in the plan clears its markers."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum
from crm.finance.payments.models import PaymentMethod
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus

MAX_INSTALMENTS = 24
MAX_REMIND_DAYS = 90

# What an order still owes, in SQL: signed, neither cancelled nor being refunded, and owing more than its
# verified collections. `payments.services.amount_due_sql` is the amount due (total + approved make-ups).
CLOSED_STATUSES = (OrderStatus.CANCELLED.value, OrderStatus.PENDING_REFUND.value)

# The receivables read only the orders that still owe: a partial index keeps that read proportional to
# them, not to every order ever signed (declared here, beside its only reader, on the orders' table).
Index("ix_sales_order_owing", Order.store_id, Order.id,
      postgresql_where=(Order.signed_at.is_not(None) & (Order.total + Order.make_up_amount > Order.paid_amount)
                        & Order.status.not_in(CLOSED_STATUSES)),
      sqlite_where=(Order.signed_at.is_not(None) & (Order.total + Order.make_up_amount > Order.paid_amount)
                    & Order.status.not_in(CLOSED_STATUSES)))


class InstalmentStatus(enum.StrEnum):
    PENDING = "pending"
    PARTLY_COLLECTED = "partly_collected"
    COLLECTED = "collected"
    OVERDUE = "overdue"


INSTALMENT_STATUS_LABELS = {
    InstalmentStatus.PENDING: _l("Pending"),
    InstalmentStatus.PARTLY_COLLECTED: _l("Partly collected"),
    InstalmentStatus.COLLECTED: _l("Collected"),
    InstalmentStatus.OVERDUE: _l("Overdue"),
}


class ReceivablePlan(Audited, TimestampMixin, Base):
    """How an order's money is expected: its instalments. One per order; the order's store and
    salesperson are copied in, like the ledger's."""

    __tablename__ = "finance_plan"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "lock_version"})

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's salesperson
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    instalments: Mapped[list[Instalment]] = relationship(
        order_by="Instalment.number, Instalment.id", cascade="all, delete-orphan", passive_deletes=True,
        back_populates="plan")

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "receivable_plan"

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.instalments), Decimal("0.00"))

    def __repr__(self) -> str:
        return f"<ReceivablePlan {self.id} order {self.order_id}>"


class Instalment(Audited, Base):
    __tablename__ = "finance_instalment"
    # The allocation and the reminder markers change with collections and the job, not with the plan.
    __audit_exclude__ = frozenset({"collected", "reminded_at", "overdue_sent_at", "remind_on"})
    __table_args__ = (
        Index("ix_finance_instalment_plan", "plan_id", "number"),
        # The receivables join an order's open instalments; the allocation reads them in due-date order.
        Index("ix_finance_instalment_order", "order_id", "due_on", "id"),
        # The reminder job: instalments whose reminder day has come and that were not reminded yet.
        Index("ix_finance_instalment_remind", "remind_on", postgresql_where=text("reminded_at IS NULL"),
              sqlite_where=text("reminded_at IS NULL")),
        Index("ix_finance_instalment_overdue", "due_on", postgresql_where=text("overdue_sent_at IS NULL"),
              sqlite_where=text("overdue_sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("finance_plan.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    number: Mapped[int]
    amount: Mapped[Decimal]
    due_on: Mapped[date]
    method: Mapped[PaymentMethod | None] = mapped_column(str_enum(PaymentMethod, "finance_payment_method"))
    remind_days: Mapped[int]
    remind_on: Mapped[date]  # due_on - remind_days
    collected: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    reminded_at: Mapped[datetime | None]
    overdue_sent_at: Mapped[datetime | None]

    plan: Mapped[ReceivablePlan] = relationship(back_populates="instalments")

    @classmethod
    def audit_type(cls) -> str:
        return "receivable_instalment"

    @property
    def open_amount(self) -> Decimal:
        return max(self.amount - self.collected, Decimal("0.00"))

    def __repr__(self) -> str:
        return f"<Instalment {self.id} #{self.number} {self.amount} due {self.due_on}>"


def instalment_status(instalment: Instalment, today: date) -> InstalmentStatus:
    """Collected in full; overdue (past its due date and not collected in full); partly collected; pending."""
    if instalment.collected >= instalment.amount:
        return InstalmentStatus.COLLECTED
    if instalment.due_on < today:
        return InstalmentStatus.OVERDUE
    if instalment.collected > 0:
        return InstalmentStatus.PARTLY_COLLECTED
    return InstalmentStatus.PENDING


def plan_status(instalments: list[Instalment], today: date) -> InstalmentStatus:
    """The plan's status follows its instalments: overdue if one is, collected when all are, partly
    collected when anything was, else pending."""
    statuses = [instalment_status(i, today) for i in instalments]
    if InstalmentStatus.OVERDUE in statuses:
        return InstalmentStatus.OVERDUE
    if statuses and all(s == InstalmentStatus.COLLECTED for s in statuses):
        return InstalmentStatus.COLLECTED
    if any(i.collected > 0 for i in instalments):
        return InstalmentStatus.PARTLY_COLLECTED
    return InstalmentStatus.PENDING
