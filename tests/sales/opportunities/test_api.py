"""/api/v1/opportunities: the board, create, move and close."""

from __future__ import annotations

import pytest

from crm.extensions import db


@pytest.fixture
def api_ready(org):
    from tests.conftest import grant

    grant(org.roles["salesperson"], "api.use")  # before anyone's permissions are cached
    db.session.commit()


def test_api_board_create_move_close(api_ready, org, pipes, customers, call):
    from tests.conftest import assert_problem

    lead, sample, nego = pipes["a"].stages
    listed = call("GET", "/api/v1/pipelines", org.a_rep1).get_json()["items"]
    assert [p["name"] for p in listed] == ["Wholesale"]
    made = call("POST", "/api/v1/opportunities", org.a_rep1, json={
        "customer_id": customers["a"].id, "pipeline_id": pipes["a"].id, "name": "API deal", "amount": "5000"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["stage_id"] == lead.id and body["weighted_amount"] == "500.00"
    moved = call("POST", f"/api/v1/opportunities/{body['id']}/move", org.a_rep1,
                 json={"stage_id": nego.id, "lock_version": body["lock_version"]})
    assert moved.status_code == 200 and moved.get_json()["stage_id"] == nego.id
    assert_problem(call("POST", f"/api/v1/opportunities/{body['id']}/move", org.a_rep1,
                        json={"stage_id": sample.id, "lock_version": body["lock_version"]}), 409)
    board = call("GET", f"/api/v1/opportunities?pipeline_id={pipes['a'].id}", org.a_rep1).get_json()["items"]
    assert [o["name"] for o in board] == ["API deal"]
    assert_problem(call("POST", f"/api/v1/opportunities/{body['id']}/close", org.a_rep1,
                        json={"outcome": "lost"}), 422, "reason")
    won = call("POST", f"/api/v1/opportunities/{body['id']}/close", org.a_rep1, json={"outcome": "won"})
    assert won.get_json()["status"] == "won" and won.get_json()["weighted_amount"] == "5000.00"
    assert call("GET", f"/api/v1/opportunities/{body['id']}", org.b_rep).status_code in (403, 404)
