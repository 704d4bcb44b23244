"""The approval and notification API: the queue, deciding (409 for the late approver of an any-of step),
requests, chains with versions (admins only), notifications and announcements."""

from __future__ import annotations

import pytest

from crm.approvals.models import RequestStatus
from crm.extensions import db
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import step
from tests.conftest import ApiCaller
from tests.conftest import assert_problem
from tests.conftest import grant


@pytest.fixture
def call(client, org):
    for key in ("supervisor", "salesperson", "store_manager", "super_admin"):
        grant(org.roles[key], "api.use")
    db.session.commit()
    made: dict[int, str] = {}

    def token(user):
        from crm.auth.services import create_token

        if user.id not in made:
            _row, plain = create_token(user, "t")
            db.session.commit()
            made[user.id] = plain
        return made[user.id]

    return ApiCaller(client, token)


def test_queue_decide_and_the_late_approver_gets_409(org, chain, submit, call):
    chain([step("users", "any", user_ids=[org.a_sup.id, org.a_manager.id])])
    instance = submit(org.a_rep1, amount="777")
    resp = call("GET", "/api/v1/approvals/pending", org.a_sup)
    assert resp.status_code == 200
    [item] = resp.get_json()["items"]
    assert item["request"]["summary"]["lines"][0] == ["Amount", "777"]
    tasks = open_tasks(instance)
    assert_problem(call("POST", f"/api/v1/approvals/tasks/{tasks[org.a_sup.id].id}/decide", org.a_sup,
                        json={"approved": False}), 422, "comment")
    resp = call("POST", f"/api/v1/approvals/tasks/{tasks[org.a_sup.id].id}/decide", org.a_sup,
                json={"approved": True, "comment": "ok"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    late = call("POST", f"/api/v1/approvals/tasks/{tasks[org.a_manager.id].id}/decide", org.a_manager,
                json={"approved": True})
    body = assert_problem(late, 409)
    assert "already decided" in body["detail"]
    assert request_of(instance).status == RequestStatus.APPROVED
    assert call("GET", "/api/v1/approvals/decided", org.a_sup).get_json()["items"][0]["decision"]["comment"] == "ok"
    req_id = request_of(instance).id
    assert call("GET", f"/api/v1/approvals/requests/{req_id}", org.a_rep1).status_code == 200
    assert call("GET", f"/api/v1/approvals/requests/{req_id}", org.b_rep).status_code == 404
    unread = call("GET", "/api/v1/notifications/unread-count", org.a_rep1).get_json()["unread"]
    assert unread == 1


def test_chains_are_admin_only_and_versioned(org, call):
    assert call("GET", "/api/v1/approval-chains", org.a_sup).status_code == 403
    resp = call("POST", "/api/v1/approval-chains", org.hq_admin,
                json={"key": "contract", "steps": [{"title": "Boss", "rule": "supervisor", "mode": "single"}]})
    assert resp.status_code == 201, resp.get_json()
    chain = resp.get_json()
    bad = call("PUT", f"/api/v1/approval-chains/{chain['id']}", org.hq_admin,
               json={"steps": [{"title": "x", "rule": "nth_supervisor", "level": 0}]})
    assert_problem(bad, 422, "steps.0.level")
    resp = call("PUT", f"/api/v1/approval-chains/{chain['id']}", org.hq_admin,
                json={"steps": [{"title": "Boss", "rule": "nth_supervisor", "level": 2}],
                      "lock_version": chain["lock_version"]})
    assert resp.status_code == 200 and resp.get_json()["current_version"] == 2
    stale = call("PUT", f"/api/v1/approval-chains/{chain['id']}", org.hq_admin,
                 json={"steps": [], "lock_version": chain["lock_version"]})
    assert_problem(stale, 409)
    preview = call("GET", f"/api/v1/approval-chains/{chain['id']}/preview?submitter_id={org.a_rep1.id}", org.hq_admin)
    assert preview.get_json()["items"][0]["approvers"] == [org.a_manager.id]


def test_announcements_through_the_api(org, call):
    resp = call("POST", "/api/v1/announcements/publish", org.a_manager,
                json={"title": "Stocktake Friday", "body": "All hands", "audience": "unit", "unit_id": org.store_a.id})
    assert resp.status_code == 201, resp.get_json()
    ann = resp.get_json()
    assert [a["title"] for a in call("GET", "/api/v1/announcements", org.a_rep1).get_json()["items"]] == ["Stocktake Friday"]
    assert call("GET", "/api/v1/announcements", org.b_rep).get_json()["items"] == []
    assert call("POST", f"/api/v1/announcements/{ann['id']}/read", org.b_rep).status_code == 404
    assert call("POST", f"/api/v1/announcements/{ann['id']}/read", org.a_rep1).status_code == 204
    assert call("GET", "/api/v1/announcements", org.a_rep1).get_json()["items"][0]["read"] is True
