"""/api/v1/leads/rules: create -> patch -> list -> delete with the page's services and messages; 404
outside the caller's stores; lead.manage required."""

from __future__ import annotations

from typing import Any

from crm.customers.leads import services as leads
from crm.customers.models import LeadAssignmentRule
from crm.extensions import db
from tests.conftest import assert_problem
from tests.factories import Org

BASE = "/api/v1/leads/rules"


def test_round_trip_create_patch_list_delete(call: Any, api_org: Org) -> None:
    o = api_org
    made = call("POST", BASE, o.a_manager, json={"name": "API rule", "priority": 0, "daily_capacity": 2,
                                                 "provinces": ["浙江"], "platforms": [],
                                                 "member_ids": [o.a_rep1.id, o.a_rep1.id]})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["store_id"] == o.store_a.id and body["priority"] == 0 and body["member_ids"] == [o.a_rep1.id]
    assert body["active"] is True
    rule_id = body["id"]

    patched = call("PATCH", f"{BASE}/{rule_id}", o.a_manager, json={"daily_capacity": 5, "member_ids": [o.a_rep2.id]})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["daily_capacity"] == 5 and patched.get_json()["provinces"] == ["浙江"]
    assert patched.get_json()["name"] == "API rule"  # fields not sent stay
    lead = leads.create_lead({"name": "Z", "mobile": "13600020001", "province": "浙江", "owner_id": "pool"},
                             actor=o.a_manager)
    assert lead.owner_id == o.a_rep2.id
    db.session.commit()

    off = call("PATCH", f"{BASE}/{rule_id}", o.a_manager, json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    lead = leads.create_lead({"name": "Z2", "mobile": "13600020002", "province": "浙江", "owner_id": "pool"},
                             actor=o.a_manager)
    assert lead.owner_id is None  # the only rule is off
    db.session.commit()

    listed = call("GET", BASE, o.a_manager)
    assert listed.status_code == 200 and [r["id"] for r in listed.get_json()["items"]] == [rule_id]
    assert call("GET", BASE, o.b_manager).get_json() == {"items": [], "next_cursor": None}

    gone = call("DELETE", f"{BASE}/{rule_id}", o.a_manager)
    assert gone.status_code == 204 and gone.get_data() == b""
    db.session.expire_all()
    assert db.session.get(LeadAssignmentRule, rule_id) is None
    assert call("GET", BASE, o.a_manager).get_json()["items"] == []
    assert_problem(call("DELETE", f"{BASE}/{rule_id}", o.a_manager), 404)


def test_validation_scope_and_permission(call: Any, api_org: Org) -> None:
    o = api_org
    bad = call("POST", BASE, o.a_manager, json={"name": "", "priority": 10001, "daily_capacity": 0,
                                                "platforms": ["fax"], "member_ids": [o.b_rep.id]})
    problem = assert_problem(bad, 422, "name", "priority", "daily_capacity", "platforms", "member_ids")
    assert problem["errors"]["daily_capacity"] == ["Enter a number from 1 to 10000."]
    assert_problem(call("POST", BASE, o.a_manager, json={"name": "B", "store_id": o.store_b.id,
                                                         "member_ids": [o.b_rep.id]}), 422, "store_id")
    assert_problem(call("POST", BASE, o.a_manager, json={"name": "x", "priority": "high"}), 422, "priority")
    rule = leads.save_rule(o.store_a.id, {"name": "Store A", "member_ids": [str(o.a_rep1.id)]}, actor=o.a_manager)
    db.session.commit()
    assert_problem(call("PATCH", f"{BASE}/{rule.id}", o.a_manager, json={"name": ""}), 422, "name")
    assert_problem(call("PATCH", f"{BASE}/{rule.id}", o.a_manager, json={"store_id": o.store_b.id}), 422, "store_id")
    assert_problem(call("PATCH", f"{BASE}/{rule.id}", o.b_manager, json={"active": False}), 404)
    assert_problem(call("DELETE", f"{BASE}/{rule.id}", o.b_manager), 404)
    assert_problem(call("PATCH", f"{BASE}/{rule.id}", o.a_rep1, json={"active": False}), 403)  # no lead.manage
    assert_problem(call("GET", BASE, o.a_rep1), 403)
    db.session.expire_all()
    kept = db.session.get(LeadAssignmentRule, rule.id)
    assert (kept.name, kept.active, kept.store_id) == ("Store A", True, o.store_a.id)
