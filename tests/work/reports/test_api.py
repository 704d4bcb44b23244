"""/api/v1/work/reports as the real roles: the pre-fill, filing (refusals name the field), the lists,
one report with its receipts and comments (names, never bare ids), the manager's day, and 404 for a
report the caller may not see."""

from __future__ import annotations

import time_machine

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.factories import make_customer


def at(moment: str):
    return time_machine.travel(f"{moment}+08:00", tick=False)


def test_file_read_comment_and_the_managers_day(call, api_org):
    org = api_org
    grant(org.roles["supervisor"], "api.use")
    db.session.commit()
    with at("2026-11-20 10:00"):
        make_customer(org.a_rep1)
        db.session.commit()
    with at("2026-11-20 18:30"):
        prefill = call("GET", "/api/v1/work/reports/prefill?kind=daily", org.a_rep1).get_json()
        assert prefill["period_start"] == "2026-11-20" and prefill["figures"]["new_customers"] == 1
        assert prefill["figures"]["orders_amount"] == "0.00"
        refused = call("POST", "/api/v1/work/reports", org.a_rep1, json={"kind": "yearly", "day": "x",
                                                                           "recipient_ids": [org.b_rep.id]})
        assert_problem(refused, 422, "kind", "day", "done")
        resp = call("POST", "/api/v1/work/reports", org.a_rep1, json={
            "kind": "daily", "day": "2026-11-20", "done": "Visited a customer", "plan": "Quotes tomorrow",
            "recipient_ids": [org.a_rep2.id]})
        assert resp.status_code == 201, resp.get_json()
        body = resp.get_json()
        assert body["author"] == {"id": org.a_rep1.id, "name": "A Rep One"}
        assert body["figures"] == prefill["figures"]
        assert {(r["name"], r["read_at"]) for r in body["recipients"]} == {("A Supervisor", None), ("A Rep Two", None)}
        assert_problem(call("POST", "/api/v1/work/reports", org.a_rep1, json={
            "kind": "daily", "day": "2026-11-20", "done": "again"}), 422, "day")
        report_id = body["id"]

        listed = call("GET", "/api/v1/work/reports?view=received", org.a_sup).get_json()
        assert [(r["id"], r["read"]) for r in listed["items"]] == [(report_id, False)]
        read = call("GET", f"/api/v1/work/reports/{report_id}", org.a_sup).get_json()
        assert read["read"] is True
        assert [r["name"] for r in read["recipients"] if r["read_at"]] == ["A Supervisor"]
        comment = call("POST", f"/api/v1/work/reports/{report_id}/comments", org.a_sup, json={"body": "Well done"})
        assert comment.status_code == 201 and comment.get_json()["author"]["name"] == "A Supervisor"
        assert_problem(call("POST", f"/api/v1/work/reports/{report_id}/comments", org.a_sup, json={"body": ""}),
                       422, "body")
        assert call("GET", "/api/v1/work/reports", org.a_rep1).get_json()["items"][0]["id"] == report_id

        team = call("GET", "/api/v1/work/reports/team?day=2026-11-20", org.a_manager).get_json()
        assert [e["user"]["name"] for e in team["reported"]] == ["A Rep One"]
        assert team["reported"][0]["report"]["done"] == "Visited a customer"
        assert {p["name"] for p in team["not_reported"]} == {"A Supervisor", "A Rep Two", "A Rep Three"}
        assert_problem(call("GET", "/api/v1/work/reports/team", org.a_rep1), 403)

        for outsider in (org.b_manager,):
            assert call("GET", f"/api/v1/work/reports/{report_id}", outsider).status_code == 404
            assert call("POST", f"/api/v1/work/reports/{report_id}/comments", outsider,
                        json={"body": "x"}).status_code == 404
        assert call("GET", "/api/v1/work/reports?view=all", org.b_manager).get_json()["items"] == []
