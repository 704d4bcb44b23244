"""Webhook endpoints, their deliveries (the outbox) and each delivery's attempts.

An endpoint covers one org unit: a store (it receives that store's events only) or, for "all stores", the
widest unit its creator's scope reached (a subsidiary or HQ: the events of every store below it). A
delivery is written in the same transaction as its event (`services.publish`); the
`integrations.send_webhooks` job sends it after commit, signed with the endpoint's secret, and retries it
with backoff. The secret is kept as written (it must be read back to sign every delivery) and shown once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from crm.auth.scopes import Visibility
from crm.core.audit import Audited
from crm.core.clock import utcnow
from crm.core.db import Base
from crm.core.db import TimestampMixin
from crm.core.db import str_enum

# The events an endpoint may subscribe to (a test delivery is `ping`).
EVENT_LABELS: dict[str, Any] = {
    "order.status_changed": _l("Order status changed"),
    "collection.verified": _l("Collection verified"),
    "invoice.issued": _l("Invoice issued"),
    "after_sales.decided": _l("After-sales case decided"),
    "customer.created": _l("Customer created"),
    "customer.assigned": _l("Customer assigned"),
    "task.created": _l("Task created"),
    "task.completed": _l("Task completed"),
}
EVENTS = list(EVENT_LABELS)
PING = "ping"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after WEBHOOK_MAX_ATTEMPTS

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {DeliveryStatus.PENDING: _l("Waiting"), DeliveryStatus.DELIVERED: _l("Delivered"),
                 DeliveryStatus.FAILED: _l("Failed")}
STATUS_BADGES = {DeliveryStatus.PENDING: "warning", DeliveryStatus.DELIVERED: "success",
                 DeliveryStatus.FAILED: "danger"}


class WebhookEndpoint(Audited, TimestampMixin, Base):
    __tablename__ = "webhook_endpoint"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "secret"})  # the secret never enters the log
    __visibility__ = Visibility(location="unit_id", owner=None, store="store_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    # The store it serves, or the subsidiary / HQ whose stores it serves ("all stores").
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    @property
    def secret_hint(self) -> str:
        return self.secret[:10]


class WebhookDelivery(Base):
    """One event for one endpoint: the body exactly as sent (the signature covers it), where it stands."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
                      Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"))
    # Located at the event's unit (its store), like the business row it is about.
    __visibility__ = Visibility(location="unit_id", owner=None, store="store_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    event: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "webhook_delivery_status"),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None]
    last_duration_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One try of a delivery: when, the answer's status code (none: no answer), how long, what failed."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
