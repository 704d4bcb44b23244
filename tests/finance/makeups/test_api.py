"""/api/v1 of make-ups: request on an order, the decision in the approval queue's API, list with filters,
read, withdraw; the refusals and the scope."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import grant


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "supervisor", "finance"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def test_request_decide_list_read_and_withdraw(call, api, waiting, staff, make_up_chain):
    resp = call("POST", f"/api/v1/orders/{waiting.id}/make-ups", api.a_rep1,
                json={"amount": "1,200.50", "kind": "price_correction", "reason": "Price of the new batch"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "requested" and body["amount"] == "1200.50" and body["order_id"] == waiting.id
    [item] = call("GET", "/api/v1/approvals/pending", api.a_sup).get_json()["items"]
    assert item["request"]["object_type"] == "make_up"
    decided = call("POST", f"/api/v1/approvals/tasks/{item['task_id']}/decide", api.a_sup,
                   json={"approved": True, "comment": "ok"})
    assert decided.status_code == 200, decided.get_json()
    read = call("GET", f"/api/v1/make-ups/{body['id']}", api.a_rep1).get_json()
    assert read["status"] == "approved" and read["decided_at"]
    listed = call("GET", "/api/v1/make-ups?status=approved&kind=price_correction", staff["finance"]).get_json()
    assert [m["id"] for m in listed["items"]] == [body["id"]] and "next_cursor" in listed
    assert call("GET", "/api/v1/make-ups?status=requested", staff["finance"]).get_json()["items"] == []
    assert_problem(call("POST", f"/api/v1/make-ups/{body['id']}/withdraw", api.a_rep1), 409)

    second = call("POST", f"/api/v1/orders/{waiting.id}/make-ups", api.a_rep1,
                  json={"amount": "10", "kind": "freight", "reason": "Express"}).get_json()
    withdrawn = call("POST", f"/api/v1/make-ups/{second['id']}/withdraw", api.a_rep1)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"


def test_bad_input_names_every_field(call, api, waiting):
    resp = call("POST", f"/api/v1/orders/{waiting.id}/make-ups", api.a_rep1,
                json={"amount": "-1", "kind": "gift", "reason": "", "due_on": "tomorrow"})
    assert_problem(resp, 422, "amount", "kind", "reason", "due_on")
    big = call("POST", f"/api/v1/orders/{waiting.id}/make-ups", api.a_rep1,
               json={"amount": "10000001", "kind": "other", "reason": "r" * 501})
    assert_problem(big, 422, "amount", "reason")


def test_another_store_is_404_and_the_permission_is_needed(call, api, waiting, org, roles):
    made = call("POST", f"/api/v1/orders/{waiting.id}/make-ups", api.a_rep1,
                json={"amount": "5", "kind": "other", "reason": "Pallet wrap"}).get_json()
    grant(roles["salesperson"], "api.use")
    db.session.commit()
    assert_problem(call("GET", f"/api/v1/make-ups/{made['id']}", org.b_rep), 404)
    assert_problem(call("POST", f"/api/v1/make-ups/{made['id']}/withdraw", org.b_rep), 404)
    assert_problem(call("POST", f"/api/v1/orders/{waiting.id}/make-ups", org.b_rep,
                        json={"amount": "5", "kind": "other", "reason": "x"}), 404)
    assert call("GET", "/api/v1/make-ups", org.b_rep).get_json()["items"] == []
    roles["salesperson"].permissions = [p for p in roles["salesperson"].permissions if p != "finance.make_up.request"]
    db.session.commit()
    assert_problem(call("POST", f"/api/v1/orders/{waiting.id}/make-ups", org.a_rep1,
                        json={"amount": "5", "kind": "other", "reason": "x"}), 403)
