"""The admin pages: register an endpoint (its secret shown once), edit it, rotate the secret, send a test,
read the delivery log and a delivery, resend it, delete the endpoint; in English and Chinese."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.extensions import db
from crm.integrations.webhooks.delivery import send_due
from crm.integrations.webhooks.models import WebhookEndpoint
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import post
from tests.integrations.webhooks.conftest import PUBLIC_URL
from tests.integrations.webhooks.conftest import deliveries
from tests.integrations.webhooks.conftest import endpoint


def test_register_shows_the_secret_once(org, client, login_as):
    login_as(org.a_admin)
    page = client.get("/integrations/webhooks")
    assert page.status_code == 200 and "Register an endpoint" in html(page)
    resp = post(client, "/integrations/webhooks", {"name": "", "url": "http://example.com/x", "events": []})
    assert resp.status_code == 422 and field_errors(resp) >= {"name", "url", "events"}
    resp = post(client, "/integrations/webhooks", {"name": "ERP", "url": PUBLIC_URL,
                                                   "events": ["order.status_changed", "invoice.issued"],
                                                   "store_id": str(org.store_a.id)})
    assert resp.status_code == 200
    secret = re.search(r'id="new-secret">([^<]+)<', html(resp)).group(1)
    hook = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == "ERP"))
    assert hook.secret == secret and hook.events == ["order.status_changed", "invoice.issued"]
    again = client.get(f"/integrations/webhooks/{hook.id}")
    assert secret not in html(again) and secret[:10] in html(again)
    assert "ERP" in html(client.get("/integrations/webhooks"))


def test_edit_rotate_test_resend_and_delete(org, client, login_as, receiver):
    hook, secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    login_as(org.hq_admin)
    resp = post(client, f"/integrations/webhooks/{hook.id}", {"name": "Warehouse", "url": receiver.url,
                                                            "events": ["task.created"], "store_id": "", "active": "on"})
    assert resp.status_code == 302
    db.session.refresh(hook)
    assert (hook.name, hook.events, hook.unit_id) == ("Warehouse", ["task.created"], org.hq.id)
    resp = post(client, f"/integrations/webhooks/{hook.id}", {"name": "Warehouse", "url": "http://93.184.216.34/",
                                                            "events": ["task.created"], "active": "on"})
    assert resp.status_code == 422 and field_errors(resp) == {"url"}

    resp = post(client, f"/integrations/webhooks/{hook.id}/rotate")
    assert resp.status_code == 200 and 'id="new-secret"' in html(resp)
    db.session.refresh(hook)
    assert hook.secret != secret

    receiver.statuses = [500]
    assert post(client, f"/integrations/webhooks/{hook.id}/test").status_code == 302
    send_due()
    db.session.commit()
    [delivery] = deliveries(hook)
    detail = client.get(f"/integrations/webhooks/{hook.id}")
    assert f'data-delivery="{delivery.id}"' in html(detail) and "500" in html(detail)
    page = client.get(f"/integrations/webhooks/deliveries/{delivery.id}")
    assert page.status_code == 200 and "HTTP 500" in html(page) and "&#34;event&#34;:&#34;ping&#34;" in html(page)
    assert post(client, f"/integrations/webhooks/deliveries/{delivery.id}/resend").status_code == 302
    assert send_due()["delivered"] == 1

    assert post(client, f"/integrations/webhooks/{hook.id}/delete").status_code == 302
    assert db.session.get(WebhookEndpoint, hook.id) is None


def test_pages_in_chinese_and_only_for_the_permission(org, client, login_as):
    hook, _secret = endpoint(org.hq_admin, store=org.store_b)
    login_as(org.a_manager)
    assert client.get("/integrations/webhooks").status_code == 403
    org.a_admin.locale = "zh"
    db.session.commit()
    login_as(org.a_admin)
    page = client.get("/integrations/webhooks")
    assert "注册端点" in html(page) and "订单状态变更" in html(page)
    assert client.get(f"/integrations/webhooks/{hook.id}").status_code == 404
