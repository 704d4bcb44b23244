"""Sending the outbox: `send_due` takes the due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL, so several
schedulers never send one twice), POSTs each body signed with its endpoint's secret, logs the attempt and
retries what failed with exponential backoff, up to WEBHOOK_MAX_ATTEMPTS.

The request: `POST <url>` with the body as stored (JSON, UTF-8) and the headers
  X-CRM-Event: order.status_changed      X-CRM-Delivery: 42 (the delivery's id; the body's `id` is the event's)
  X-CRM-Timestamp: 1796601600            X-CRM-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
Any 2xx answer is a success; anything else (another status, a timeout, a refused connection, a refused
address) is retried. Redirects are not followed."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl
import time
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.extensions import db
from crm.integrations.webhooks.addresses import Refused
from crm.integrations.webhooks.addresses import resolve
from crm.integrations.webhooks.models import DeliveryStatus
from crm.integrations.webhooks.models import WebhookAttempt
from crm.integrations.webhooks.models import WebhookDelivery
from crm.integrations.webhooks.models import WebhookEndpoint

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 6 * 3600
USER_AGENT = "CRM-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2, 4 … capped at 6 h."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to the address checked by `resolve` (not a second lookup), with the host name for SNI and the
    certificate check."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class _PinnedPlain(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _context() -> ssl.SSLContext:
    ca_file = current_app.config.get("WEBHOOK_CA_FILE")
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """(status code, error): the answer's status (None: no answer) and what went wrong (None: a 2xx)."""
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 5)
    try:
        host, port, addresses = resolve(url)
    except Refused as exc:
        return None, f"refused: {exc.message}"
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _Pinned(host, port, addresses[0], timeout=timeout, context=_context())
    else:
        connection = _PinnedPlain(host, port, addresses[0], timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        connection.close()
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def _headers(delivery: WebhookDelivery, secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-CRM-Event": delivery.event, "X-CRM-Delivery": str(delivery.id), "X-CRM-Timestamp": timestamp,
            "X-CRM-Signature": signature(secret, timestamp, body)}


def send_due(limit: int = 10, now: datetime | None = None) -> dict[str, int]:
    """Send up to `limit` due deliveries of active endpoints; returns how many were delivered, will be retried,
    failed. Each outcome is flushed as soon as it is known (a statement between two calls: the transaction is
    never idle for longer than one call); the job commits each batch (`jobs.send_webhooks`)."""
    now = now or utcnow()
    max_attempts = int(current_app.config.get("WEBHOOK_MAX_ATTEMPTS") or 8)
    result = {"delivered": 0, "retry": 0, "failed": 0}
    stmt = (select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.active)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
    for delivery, url, secret in db.session.execute(stmt).all():
        body = delivery.body.encode()
        started = time.monotonic()
        status, error = post(url, body, _headers(delivery, secret, body))
        duration = int((time.monotonic() - started) * 1000)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_duration_ms, delivery.last_error = status, duration, error
        db.session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=utcnow(), status_code=status,
                                      duration_ms=duration, error=error))
        if error is None:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, utcnow()
            result["delivered"] += 1
        elif delivery.attempts >= max_attempts:
            delivery.status = DeliveryStatus.FAILED
            result["failed"] += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            result["retry"] += 1
        db.session.flush()
    return result

