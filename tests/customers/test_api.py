"""/api/v1/customers: list with filters and keyset pages, create with dedup, update with lock_version,
transfer, lock, contacts, follow-ups, team, import status; scope and errors like the pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.customers.models import Customer
from crm.extensions import db
from crm.workflow.models import UnmatchedMessage
from tests.conftest import assert_problem
from tests.factories import Org
from tests.factories import make_customer

BASE = "/api/v1/customers"


def test_create_list_and_dedup(call: Any, api_org: Org) -> None:
    o = api_org
    resp = call("POST", BASE, o.a_rep1, json={"name": "API Pallets", "mobile": "138-0013-8000", "tags": ["vip"],
                                               "level": "a"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["mobile_norm"] == "13800138000" and body["owner_id"] == o.a_rep1.id and body["tags"] == ["vip"]
    dup = call("POST", BASE, o.a_rep2, json={"name": "Again", "mobile": "+8613800138000"})
    problem = assert_problem(dup, 422, "mobile")
    assert "owned by A Rep One" in problem["errors"]["mobile"][0] and "API Pallets" not in dup.get_data(as_text=True)
    bad = call("POST", BASE, o.a_rep1, json={"name": "", "mobile": "1", "level": "zz", "email": "x"})
    assert_problem(bad, 422, "name", "mobile", "level", "email")
    for i in range(4):
        make_customer(o.a_rep1, name=f"Listed {i}")
    db.session.commit()
    page = call("GET", f"{BASE}?limit=2&sort=name&dir=asc", o.a_rep1).get_json()
    assert [c["name"] for c in page["items"]] == ["API Pallets", "Listed 0"] and page["next_cursor"]
    nxt = call("GET", f"{BASE}?limit=2&sort=name&dir=asc&cursor={page['next_cursor']}", o.a_rep1).get_json()
    assert [c["name"] for c in nxt["items"]] == ["Listed 1", "Listed 2"]
    assert call("GET", f"{BASE}?level=a", o.a_rep1).get_json()["items"][0]["name"] == "API Pallets"
    assert call("GET", BASE, o.b_manager).get_json()["items"] == []
    assert_problem(call("GET", f"{BASE}?no_follow_days=x", o.a_rep1), 422, "no_follow_days")


def test_update_with_version_lock_transfer_and_scope(call: Any, api_org: Org) -> None:
    o = api_org
    c = make_customer(o.a_rep1, name="Versioned")
    db.session.commit()
    got = call("GET", f"{BASE}/{c.id}", o.a_rep1).get_json()
    ok = call("PATCH", f"{BASE}/{c.id}", o.a_rep1, json={"company": "New Co", "lock_version": got["lock_version"]})
    assert ok.status_code == 200 and ok.get_json()["company"] == "New Co"
    stale = call("PATCH", f"{BASE}/{c.id}", o.a_rep1, json={"company": "Late", "lock_version": got["lock_version"]})
    assert_problem(stale, 409)
    assert call("GET", f"{BASE}/{c.id}", o.b_manager).status_code == 404
    assert call("GET", f"{BASE}/{c.id}", o.a_rep2).status_code == 404
    locked = call("POST", f"{BASE}/{c.id}/lock", o.a_rep1, json={"locked": True})
    assert locked.status_code == 200 and locked.get_json()["locked"] is True
    assert call("POST", f"{BASE}/{c.id}/transfer", o.a_rep1, json={"to_user_id": o.a_rep2.id}).status_code == 403
    moved = call("POST", f"{BASE}/{c.id}/transfer", o.a_manager, json={"to_user_id": o.a_rep2.id, "keep_old_owner": True})
    assert moved.status_code == 200 and moved.get_json()["owner_id"] == o.a_rep2.id
    assert_problem(call("POST", f"{BASE}/{c.id}/transfer", o.a_manager, json={"to_user_id": o.b_rep.id}), 422,
                   "owner_id")


def test_contacts_follow_ups_and_team(call: Any, api_org: Org) -> None:
    o = api_org
    c = make_customer(o.a_rep1)
    db.session.commit()
    contact = call("POST", f"{BASE}/{c.id}/contacts", o.a_rep1, json={"name": "Buyer", "mobile": "139 0000 1111"})
    assert contact.status_code == 201 and contact.get_json()["mobile"] == "13900001111"
    cid = contact.get_json()["id"]
    assert call("PUT", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep1, json={"name": "Chief buyer"}).get_json()["name"] == \
        "Chief buyer"
    assert [x["name"] for x in call("GET", f"{BASE}/{c.id}/contacts", o.a_rep1).get_json()] == ["Chief buyer"]
    fu = call("POST", f"{BASE}/{c.id}/follow-ups", o.a_rep1, json={"kind": "wechat", "content": "Sent prices"})
    assert fu.status_code == 201
    assert db.session.scalar(select(UnmatchedMessage.object_id).where(
        UnmatchedMessage.message_name == "follow_up_recorded")) == c.id
    assert_problem(call("POST", f"{BASE}/{c.id}/follow-ups", o.a_rep1, json={"kind": "fax", "content": ""}), 422,
                   "kind", "content")
    assert call("GET", f"{BASE}/{c.id}/follow-ups", o.a_rep1).get_json()[0]["content"] == "Sent prices"
    team = call("POST", f"{BASE}/{c.id}/team", o.a_rep1, json={"user_id": o.a_rep2.id, "access": "read"})
    assert team.status_code == 200
    assert call("GET", f"{BASE}/{c.id}", o.a_rep2).status_code == 200
    assert call("DELETE", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep2).status_code == 403  # read-only member
    assert call("DELETE", f"{BASE}/{c.id}/contacts/{cid}", o.a_rep1).status_code == 204
    assert db.session.get(Customer, c.id) is not None


def test_leads_api(call: Any, api_org: Org) -> None:
    o = api_org
    made = call("POST", "/api/v1/leads", o.a_manager, json={"name": "API lead", "mobile": "13600006666", "to_pool": True})
    assert made.status_code == 201 and made.get_json()["owner_id"] is None
    lead_id = made.get_json()["id"]
    assert [x["id"] for x in call("GET", "/api/v1/leads?view=pool", o.a_rep1).get_json()["items"]] == [lead_id]
    assert call("GET", f"/api/v1/leads/{lead_id}", o.b_manager).status_code == 404
    assert call("POST", f"/api/v1/leads/{lead_id}/claim", o.a_rep1).get_json()["owner_id"] == o.a_rep1.id
    fu = call("POST", f"/api/v1/leads/{lead_id}/follow-ups", o.a_rep1, json={"kind": "phone", "content": "Called"})
    assert fu.status_code == 201 and fu.get_json()["lead_id"] == lead_id
    converted = call("POST", f"/api/v1/leads/{lead_id}/convert", o.a_rep1)
    assert converted.status_code == 201 and converted.get_json()["mobile_norm"] == "13600006666"
    assert_problem(call("POST", f"/api/v1/leads/{lead_id}/convert", o.a_rep1), 422, "status")
    assert_problem(call("POST", "/api/v1/leads", o.a_rep1, json={"name": "x", "mobile": "1"}), 422, "mobile")
    assert_problem(call("GET", "/api/v1/leads?view=everything", o.a_rep1), 422, "view")


def test_follow_ups_due(call: Any, api_org: Org) -> None:
    from datetime import timedelta

    from crm.core.clock import utcnow
    from crm.customers.services import follow_ups

    o = api_org
    c = make_customer(o.a_rep1)
    follow_ups.record_follow_up(c, {"kind": "phone", "content": "Call back in 3 days",
                                    "next_contact_at": (utcnow() + timedelta(days=3)).isoformat()}, actor=o.a_rep1)
    db.session.commit()
    upcoming = call("GET", "/api/v1/customers/follow-ups/due?bucket=upcoming", o.a_rep1).get_json()
    assert [f["customer_id"] for f in upcoming] == [c.id]
    assert call("GET", "/api/v1/customers/follow-ups/due?bucket=overdue", o.a_rep1).get_json() == []
    assert_problem(call("GET", "/api/v1/customers/follow-ups/due?bucket=later", o.a_rep1), 422, "bucket")
