"""Sending the outbox to a real HTTPS receiver on localhost: the signature checks out with the endpoint's
secret, a 500 is retried with backoff, the attempts are logged, a delivery gives up after the limit and can
be resent; addresses the configuration forbids are never called."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from crm.core.clock import utcnow
from crm.extensions import db
from crm.integrations.webhooks import queries
from crm.integrations.webhooks import services
from crm.integrations.webhooks.delivery import send_due
from crm.integrations.webhooks.models import DeliveryStatus
from tests.integrations.webhooks.conftest import deliveries
from tests.integrations.webhooks.conftest import endpoint


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/api.md "Webhooks")."""
    expected = hmac.new(secret.encode(), headers["X-CRM-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-CRM-Signature"], f"sha256={expected}")


def test_a_delivery_reaches_the_https_receiver_signed_with_the_endpoints_secret(org, receiver):
    hook, secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    assert services.publish("customer.created", {"customer_id": 7, "name": "宁波港物流"}, store_id=org.store_a.id) == 1
    db.session.commit()

    assert send_due() == {"delivered": 1, "retry": 0, "failed": 0}
    db.session.commit()

    [(headers, body)] = receiver.received
    assert verify(secret, headers, body)
    assert not verify(secret + "x", headers, body)
    sent = json.loads(body)
    assert sent["event"] == "customer.created" and sent["store_id"] == org.store_a.id
    assert sent["data"] == {"customer_id": 7, "name": "宁波港物流"}
    [delivery] = deliveries(hook)
    assert headers["X-CRM-Event"] == "customer.created" and headers["X-CRM-Delivery"] == str(delivery.id)
    assert headers["Content-Type"].startswith("application/json")
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.last_duration_ms is not None
    assert sent["id"] == delivery.event_id
    assert send_due() == {"delivered": 0, "retry": 0, "failed": 0}  # sent once


def test_a_500_is_retried_with_backoff_and_every_attempt_is_logged(org, receiver):
    hook, secret = endpoint(org.hq_admin, url=receiver.url)  # every store of HQ
    receiver.statuses = [500]
    services.publish("task.created", {"task_id": 1}, store_id=org.store_b.id)
    db.session.commit()

    start = utcnow()
    assert send_due(now=start) == {"delivered": 0, "retry": 1, "failed": 0}
    [delivery] = deliveries(hook)
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert send_due(now=start + timedelta(seconds=10)) == {"delivered": 0, "retry": 0, "failed": 0}  # not yet due

    assert send_due(now=start + timedelta(seconds=31)) == {"delivered": 1, "retry": 0, "failed": 0}
    db.session.commit()
    assert [b for _h, b in receiver.received][0] == receiver.received[1][1]  # the same body both times
    assert all(verify(secret, h, b) for h, b in receiver.received)
    assert [(a.status_code, a.error) for a in queries.attempts(delivery)] == [(500, "HTTP 500"), (200, None)]
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2


def test_it_gives_up_after_the_limit_and_resend_queues_it_again(org, receiver, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 2)
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    receiver.statuses = [503, 503]
    services.publish("order.status_changed", {"order_id": 1}, store_id=org.store_a.id)
    db.session.commit()
    now = utcnow()
    send_due(now=now)
    assert send_due(now=now + timedelta(hours=1)) == {"delivered": 0, "retry": 0, "failed": 1}
    [delivery] = deliveries(hook)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2

    services.resend(delivery.id, actor=org.hq_admin)
    db.session.commit()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert send_due(now=now + timedelta(hours=2))["delivered"] == 1
    assert len(queries.attempts(delivery)) == 3  # the log keeps the failed ones


def test_an_inactive_endpoint_is_not_called(org, receiver):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_a.id)
    services.update_endpoint(hook.id, {"active": False}, actor=org.hq_admin)
    db.session.commit()
    assert send_due() == {"delivered": 0, "retry": 0, "failed": 0}
    assert receiver.received == []
    assert services.publish("customer.created", {"customer_id": 2}, store_id=org.store_a.id) == 0


def test_a_private_address_is_refused_at_sending_time_in_production_config(org, receiver, app, monkeypatch):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_a.id)
    db.session.commit()
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)  # e.g. the DNS now says 127.0.0.1
    assert send_due() == {"delivered": 0, "retry": 1, "failed": 0}
    assert receiver.received == []
    [delivery] = deliveries(hook)
    assert delivery.last_status_code is None and delivery.last_error.startswith("refused")


@pytest.mark.parametrize("status", [301, 404])
def test_anything_but_2xx_is_a_failure(org, receiver, status):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    receiver.statuses = [status]
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_a.id)
    db.session.commit()
    assert send_due()["retry"] == 1
    assert deliveries(hook)[0].last_status_code == status


def test_a_receiver_with_an_untrusted_certificate_is_not_sent_anything(org, receiver, app, monkeypatch):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    services.publish("customer.created", {"customer_id": 1}, store_id=org.store_a.id)
    db.session.commit()
    monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", None)  # the system's CAs: the self-signed one fails
    assert send_due()["retry"] == 1
    assert receiver.received == []
    assert "CERTIFICATE" in (deliveries(hook)[0].last_error or "").upper()


def test_the_job_sends_in_committed_batches(org, receiver):
    from crm.core.jobs import registered_jobs
    from crm.integrations.webhooks.jobs import BATCH

    [job] = [j for j in registered_jobs() if j.id == "integrations.send_webhooks"]
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    for n in range(BATCH + 2):
        services.publish("customer.created", {"customer_id": n}, store_id=org.store_a.id)
    db.session.commit()
    assert job.func() == {"delivered": BATCH + 2, "retry": 0, "failed": 0, "batches": 2}
    assert sorted(json.loads(b)["data"]["customer_id"] for _h, b in receiver.received) == list(range(BATCH + 2))
    assert {d.status for d in deliveries(hook)} == {DeliveryStatus.DELIVERED}
