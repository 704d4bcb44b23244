"""Make-up payments (补款, DESIGN §7, §9): an extra amount an order owes after it was signed — freight, a
price correction, a quantity change — requested with a reason and approved through `make_up.bpmn` (the
`approval` call activity, chain `make_up`). Only an approved make-up counts: the order keeps the sum of
its approved make-ups in `Order.make_up_amount`, so what it owes (`payments.services.amount_due`) is one
plain expression of its columns, and the make-up is then collected like the rest of the order.

The order's store, customer and salesperson are copied in (like `Payment`), so the list filters and
pages on this table alone."""

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
from crm.org.models import User

OBJECT_TYPE = "make_up"  # how `make_up` instances, their approval and their tasks refer to a make-up
MAX_AMOUNT = Decimal("10000000.00")


class MakeUpKind(enum.StrEnum):
    FREIGHT = "freight"
    PRICE_CORRECTION = "price_correction"
    QUANTITY_CHANGE = "quantity_change"
    OTHER = "other"


KIND_LABELS = {
    MakeUpKind.FREIGHT: _l("Freight"),
    MakeUpKind.PRICE_CORRECTION: _l("Price correction"),
    MakeUpKind.QUANTITY_CHANGE: _l("Quantity change"),
    MakeUpKind.OTHER: _l("Other"),
}


class MakeUpStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for its approval
    APPROVED = "approved"  # counts towards what the order owes
    REJECTED = "rejected"  # the approver said no (or the order was cancelled meanwhile)
    WITHDRAWN = "withdrawn"  # the requester took it back before it was decided


STATUS_LABELS = {
    MakeUpStatus.REQUESTED: _l("Waiting for approval"),
    MakeUpStatus.APPROVED: _l("Approved"),
    MakeUpStatus.REJECTED: _l("Rejected"),
    MakeUpStatus.WITHDRAWN: _l("Withdrawn"),
}
STATUS_BADGES = {
    MakeUpStatus.REQUESTED: "text-bg-warning", MakeUpStatus.APPROVED: "text-bg-success",
    MakeUpStatus.REJECTED: "text-bg-danger", MakeUpStatus.WITHDRAWN: "text-bg-light border",
}


class MakeUp(Audited, Base):
    """One make-up of an order: what, why, by when, and where its approval stands."""

    __tablename__ = "finance_make_up"
    __audit_exclude__ = frozenset({"lock_version"})
    __table_args__ = (
        # The list pages newest first (keyset on id) in a store, by status, or everywhere; the order page
        # reads an order's make-ups.
        Index("ix_finance_make_up_store", "store_id", "id"),
        Index("ix_finance_make_up_order", "order_id", "id"),
        Index("ix_finance_make_up_status", "status", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"))  # the order's salesperson
    amount: Mapped[Decimal]
    kind: Mapped[MakeUpKind] = mapped_column(str_enum(MakeUpKind, "finance_make_up_kind"))
    reason: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date | None]  # when the customer should pay it by
    status: Mapped[MakeUpStatus] = mapped_column(str_enum(MakeUpStatus, "finance_make_up_status"))
    decision_note: Mapped[str | None] = mapped_column(String(500))  # why it was rejected
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]  # approved, rejected or withdrawn
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"))
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    store: Mapped[OrgUnit] = relationship(viewonly=True)
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id], viewonly=True)

    __visibility__ = Visibility(location="store_id", owner="owner_id", store="store_id", location_is_store=True,
                                involves=lambda row, actor: row.owner_id == actor.id)

    @classmethod
    def audit_type(cls) -> str:
        return "make_up"

    @property
    def counts(self) -> bool:
        """Whether it adds to what the order owes."""
        return self.status == MakeUpStatus.APPROVED

    def __repr__(self) -> str:
        return f"<MakeUp {self.id} {self.kind} {self.amount} {self.status}>"
