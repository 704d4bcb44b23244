"""/api/v1/webhooks: register (the secret in the answer only), read, PATCH only what is sent, rotate, test,
delete; the deliveries and their attempts; resend. Another scope's endpoints and deliveries are 404, a
store outside the scope a 422 naming `store_id`."""

from __future__ import annotations

from crm.extensions import db
from crm.integrations.webhooks import services
from crm.integrations.webhooks.delivery import send_due
from tests.conftest import assert_problem
from tests.integrations.webhooks.conftest import PUBLIC_URL
from tests.integrations.webhooks.conftest import endpoint

NEW = {"name": "ERP", "url": PUBLIC_URL, "events": ["order.status_changed", "collection.verified"]}


def test_register_read_change_and_delete(org, call):
    resp = call("POST", "/api/v1/webhooks", org.a_admin, json=NEW)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert made["secret"].startswith("whsec_") and made["secret_hint"] == made["secret"][:10]
    assert made["store_id"] == org.store_a.id and made["events"] == NEW["events"] and made["active"] is True

    read = call("GET", f"/api/v1/webhooks/{made['id']}", org.a_admin).get_json()
    assert "secret" not in read and read["name"] == "ERP"
    page = call("GET", "/api/v1/webhooks", org.a_admin).get_json()
    assert [e["id"] for e in page["items"]] == [made["id"]] and page["next_cursor"] is None

    resp = call("PATCH", f"/api/v1/webhooks/{made['id']}", org.a_admin, json={"active": False})
    assert resp.status_code == 200 and resp.get_json()["active"] is False and resp.get_json()["name"] == "ERP"
    resp = call("PATCH", f"/api/v1/webhooks/{made['id']}", org.hq_admin, json={"store_id": None})
    assert (resp.get_json()["store_id"], resp.get_json()["unit_id"]) == (None, org.hq.id)  # every store of HQ
    resp = call("PATCH", f"/api/v1/webhooks/{made['id']}", org.hq_admin, json={"store_id": org.store_a.id})
    assert resp.get_json()["store_id"] == org.store_a.id
    assert_problem(call("PATCH", f"/api/v1/webhooks/{made['id']}", org.a_admin, json={"store_id": org.store_b.id}),
                   422, "store_id")
    assert_problem(call("PATCH", f"/api/v1/webhooks/{made['id']}", org.a_admin, json={}), 422)
    assert_problem(call("PATCH", f"/api/v1/webhooks/{made['id']}", org.a_admin, json={"url": "http://x.example.com"}),
                   422, "url")

    rotated = call("POST", f"/api/v1/webhooks/{made['id']}/rotate-secret", org.a_admin).get_json()["secret"]
    assert rotated != made["secret"]
    assert call("DELETE", f"/api/v1/webhooks/{made['id']}", org.a_admin).status_code == 204
    assert_problem(call("GET", f"/api/v1/webhooks/{made['id']}", org.a_admin), 404)


def test_input_errors_name_their_fields(org, call):
    body = assert_problem(call("POST", "/api/v1/webhooks", org.a_admin,
                               json={"name": "", "url": "https://10.0.0.1/x", "events": ["nope"]}), 422,
                          "name", "events")
    assert "url" in body["errors"] or "events" in body["errors"]
    assert_problem(call("POST", "/api/v1/webhooks", org.a_admin, json={**NEW, "url": "https://10.0.0.1/x"}), 422, "url")
    assert_problem(call("POST", "/api/v1/webhooks", org.a_admin, json={**NEW, "store_id": org.store_b.id}), 422,
                   "store_id")


def test_only_the_manage_permission_and_only_within_scope(org, call):
    hook_b, _secret = endpoint(org.hq_admin, store=org.store_b)
    services.publish("order.status_changed", {"order_id": 1}, store_id=org.store_b.id)
    db.session.commit()
    assert call("GET", "/api/v1/webhooks", org.hq_manager).status_code == 403
    assert call("GET", "/api/v1/webhooks", org.a_admin).get_json()["items"] == []
    for method, path in (("GET", f"/api/v1/webhooks/{hook_b.id}"), ("PATCH", f"/api/v1/webhooks/{hook_b.id}"),
                         ("DELETE", f"/api/v1/webhooks/{hook_b.id}"),
                         ("POST", f"/api/v1/webhooks/{hook_b.id}/rotate-secret"),
                         ("POST", f"/api/v1/webhooks/{hook_b.id}/test"),
                         ("GET", f"/api/v1/webhooks/{hook_b.id}/deliveries")):
        assert_problem(call(method, path, org.a_admin, json={"name": "x"} if method == "PATCH" else None), 404)
    delivery_id = call("GET", f"/api/v1/webhooks/{hook_b.id}/deliveries", org.hq_admin).get_json()["items"][0]["id"]
    assert_problem(call("GET", f"/api/v1/webhook-deliveries/{delivery_id}", org.a_admin), 404)
    assert_problem(call("POST", f"/api/v1/webhook-deliveries/{delivery_id}/resend", org.a_admin), 404)


def test_deliveries_their_attempts_and_resend(org, call, receiver):
    hook, _secret = endpoint(org.hq_admin, store=org.store_a, url=receiver.url)
    receiver.statuses = [500]
    assert call("POST", f"/api/v1/webhooks/{hook.id}/test", org.hq_admin).status_code == 202
    send_due()
    db.session.commit()
    page = call("GET", f"/api/v1/webhooks/{hook.id}/deliveries?status=pending", org.hq_admin).get_json()
    [item] = page["items"]
    assert (item["event"], item["attempts"], item["last_status_code"]) == ("ping", 1, 500)
    assert_problem(call("GET", f"/api/v1/webhooks/{hook.id}/deliveries?status=lost", org.hq_admin), 422, "status")
    detail = call("GET", f"/api/v1/webhook-deliveries/{item['id']}", org.hq_admin).get_json()
    assert detail["attempts_log"][0]["status_code"] == 500 and '"event":"ping"' in detail["body"]
    resent = call("POST", f"/api/v1/webhook-deliveries/{item['id']}/resend", org.hq_admin)
    assert resent.status_code == 202 and resent.get_json()["attempts"] == 0
