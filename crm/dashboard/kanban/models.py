"""The kanban's summary tables. Every figure of DESIGN §10 is read from these, never from a scan of the
order or customer tables. They are maintained in the same transaction as the writes that change them
(services.py listens to the session's flushes) by increments, so concurrent writers add up instead of
overwriting each other; `flask crm kanban rebuild` recomputes them and `verify` compares.

Days are days of the company's calendar (Asia/Shanghai). `owner_id` is the salesperson the figure belongs
to (the order's owner; for customers, the owner they were created with; for churn, the owner they left).

- kanban_sales_day: per store × salesperson × day. `orders`, `amount`, `returned` count orders signed that
  day (cancelled ones excluded; `returned` those with an approved after-sales return); `completed`,
  `revisited` count orders completed that day (and of those, with a follow-up within 7 days);
  `ratings`, `positive` the ratings (1–5, positive ≥ 4) captured at receipt that day; `paid` orders paid
  that day.
- kanban_product_day: per store × salesperson × day × product, quantity and amount of signed lines.
- kanban_dim_day: per store × salesperson × day × dimension (province, terminal) × value: orders, amount.
- kanban_store_sales_day, kanban_store_product_day, kanban_store_dim_day: the same three summed over the
  salespeople, per store × day: what a viewer who sees whole stores, with no salesperson or department
  filter, reads (HQ's year is 10 stores × 365 rows instead of 1,000 salespeople's).
- kanban_customer_day: one row per customer × day × salesperson with `orders` signed orders (the exact
  distinct-customer counts: buyers, returning buyers). `prev_day` chains a customer's rows with orders in
  the order (day, salesperson): the day of the row before (None: the customer's first). A customer has an
  order in a window before it exactly when their first row inside the window has a `prev_day` before the
  window's start, so counting buyers and returning buyers is a count of rows, with no grouping per customer.
- kanban_customer: one row per customer: created day, first order day (None: no order yet) and second order
  day (the day their orders reach two; the first order day for two orders that day).
- kanban_churn: one row per customer × day × former owner moved to the high seas that day.
- kanban_owned: per store × salesperson × day, the change of the number of customers owned; the sum over
  the days before a window's start is the number owned at its start.
- kanban_order_fact: what each order currently contributes (the maintenance applies the difference).
- kanban_digest: who receives their kanban by e-mail, daily or weekly.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.clock import utcnow
from crm.core.db import Base


def _owned() -> Visibility:
    return Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True)


# The counted columns of the sales, product and province/terminal summaries, the same per salesperson and
# per store (`KanbanStore*`, their sums over the salespeople).
SALES_COUNTS = ("orders", "amount", "returned", "completed", "revisited", "ratings", "positive", "paid")


class _SalesCounts:
    orders: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    returned: Mapped[int] = mapped_column(default=0)
    completed: Mapped[int] = mapped_column(default=0)
    revisited: Mapped[int] = mapped_column(default=0)
    ratings: Mapped[int] = mapped_column(default=0)
    positive: Mapped[int] = mapped_column(default=0)
    paid: Mapped[int] = mapped_column(default=0)  # orders paid that day (the funnel's last step)


class _ProductCounts:
    product_id: Mapped[int]
    quantity: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class _DimCounts:
    dim: Mapped[str] = mapped_column(String(16))  # "province" | "terminal"
    value: Mapped[str] = mapped_column(String(40))  # "" for an unknown province
    orders: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class KanbanSalesDay(_SalesCounts, Base):
    __tablename__ = "kanban_sales_day"
    __table_args__ = (Index("uq_kanban_sales_day", "store_id", "owner_id", "day", unique=True),
                      Index("ix_kanban_sales_day_day", "day", "store_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _owned()


class KanbanProductDay(_ProductCounts, Base):
    __tablename__ = "kanban_product_day"
    __table_args__ = (Index("uq_kanban_product_day", "store_id", "owner_id", "day", "product_id", unique=True),
                      Index("ix_kanban_product_day_day", "day", "store_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _owned()


class KanbanDimDay(_DimCounts, Base):
    __tablename__ = "kanban_dim_day"
    __table_args__ = (Index("uq_kanban_dim_day", "store_id", "owner_id", "day", "dim", "value", unique=True),
                      Index("ix_kanban_dim_day_day", "day", "store_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _owned()


def _stores() -> Visibility:
    return Visibility(location="store_id", owner=None, store="store_id", location_is_store=True)


class KanbanStoreSalesDay(_SalesCounts, Base):
    __tablename__ = "kanban_store_sales_day"
    __table_args__ = (Index("uq_kanban_store_sales_day", "day", "store_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _stores()


class KanbanStoreProductDay(_ProductCounts, Base):
    __tablename__ = "kanban_store_product_day"
    __table_args__ = (Index("uq_kanban_store_product_day", "day", "store_id", "product_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _stores()


class KanbanStoreDimDay(_DimCounts, Base):
    __tablename__ = "kanban_store_dim_day"
    __table_args__ = (Index("uq_kanban_store_dim_day", "day", "store_id", "dim", "value", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _stores()


class KanbanCustomerDay(Base):
    __tablename__ = "kanban_customer_day"
    __table_args__ = (Index("uq_kanban_customer_day", "customer_id", "day", "owner_id", unique=True),
                      Index("ix_kanban_customer_day_store_day", "store_id", "day"),  # a store's windows
                      Index("ix_kanban_customer_day_day", "day", "store_id"))  # HQ's: every store

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]
    orders: Mapped[int] = mapped_column(default=0)
    prev_day: Mapped[date | None]  # the customer's row before this one (None: first, or no orders left)

    __visibility__ = _owned()


class KanbanCustomer(Base):
    __tablename__ = "kanban_customer"
    # A store's windows read by store first, HQ's (every store) by day first.
    __table_args__ = (Index("ix_kanban_customer_store_created", "store_id", "created_day"),
                      Index("ix_kanban_customer_created", "created_day", "store_id"),
                      Index("ix_kanban_customer_store_first", "store_id", "first_order_day"),
                      Index("ix_kanban_customer_first", "first_order_day", "store_id"))

    customer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    store_id: Mapped[int]
    owner_id: Mapped[int | None]
    created_day: Mapped[date]
    first_order_day: Mapped[date | None]
    second_order_day: Mapped[date | None]

    __visibility__ = _owned()


class KanbanChurn(Base):
    __tablename__ = "kanban_churn"
    __table_args__ = (Index("uq_kanban_churn", "customer_id", "day", "owner_id", unique=True),
                      Index("ix_kanban_churn_store_day", "store_id", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]

    __visibility__ = _owned()


class KanbanOwned(Base):
    __tablename__ = "kanban_owned"
    __table_args__ = (Index("uq_kanban_owned", "store_id", "owner_id", "day", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int]
    owner_id: Mapped[int]
    day: Mapped[date]
    delta: Mapped[int] = mapped_column(default=0)

    __visibility__ = _owned()


class KanbanOrderFact(Base):
    __tablename__ = "kanban_order_fact"

    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fact: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KanbanDigest(Base):
    """A user's subscription to an e-mail of their kanban: daily (yesterday against the day before) or
    weekly (on Mondays: the last 7 days against the 7 before). `last_sent_on` keeps it to one per day
    whatever the number of scheduler processes."""

    __tablename__ = "kanban_digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    frequency: Mapped[str] = mapped_column(String(10))  # daily | weekly
    last_sent_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
