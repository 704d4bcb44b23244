"""Announcements with real pickers: the publish page offers the people, org units (with their kind) and
roles of the publisher's scope by name — never a box for ids —, publishing to people chosen there works,
the API answers name the author, the unit, the role and (to the publisher) the chosen people, and the
audience search finds people and units of the scope by part of their name only."""

from __future__ import annotations

import re

from crm.extensions import db
from crm.notify import services
from tests.conftest import csrf
from tests.conftest import grant
from tests.conftest import html


def test_the_publish_page_picks_people_units_and_roles_by_name(org, client, login_as):
    login_as(org.a_manager)
    page = html(client.get("/notifications/announcements"))
    people = re.search(r'<select[^>]*id="f-user_ids"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert "A Rep Two · A Sales" in people and "B Rep" not in people
    assert 'name="user_ids"' in page and "User ids" not in page and 'data-filter-select="f-user_ids"' in page
    assert "Store A (Store)" in page and "A Sales (Department)" in page and "Store B" not in page
    token = csrf(client, "/notifications/announcements")
    resp = client.post("/notifications/announcements", data={
        "csrf_token": token, "title": "Two of you", "body": "Stock take", "audience": "users",
        "user_ids": [str(org.a_rep1.id), str(org.a_rep2.id)]})
    assert resp.status_code == 302, html(resp)
    published = html(client.get("/notifications/announcements")).split('id="published"')[1]
    assert "Two of you" in published and "A Rep One, A Rep Two" in published
    refused = client.post("/notifications/announcements", data={
        "csrf_token": token, "title": "Elsewhere", "body": "x", "audience": "users", "user_ids": [str(org.b_rep.id)]})
    assert refused.status_code == 422 and "Choose users within your scope." in html(refused)
    login_as(org.a_rep2)
    assert "Two of you" in html(client.get("/"))


def test_the_api_names_people_units_and_roles(call, api_org):
    org = api_org
    services.publish_announcement({"title": "Supervisors", "body": "b", "audience": "role", "role_key": "supervisor",
                                   "unit_id": org.store_a.id}, actor=org.a_manager)
    db.session.commit()
    resp = call("POST", "/api/v1/announcements/publish", org.a_manager, json={
        "title": "Chosen", "body": "b", "audience": "users", "user_ids": [org.a_rep2.id, org.a_rep1.id]})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert made["author"] == {"id": org.a_manager.id, "name": "A Manager"}
    assert made["recipients"] == [{"id": org.a_rep1.id, "name": "A Rep One"}, {"id": org.a_rep2.id, "name": "A Rep Two"}]
    seen = call("GET", "/api/v1/announcements", org.a_rep2).get_json()["items"]
    assert [(a["title"], a["author"]["name"], a["recipients"]) for a in seen] == [("Chosen", "A Manager", None)]
    grant(org.roles["supervisor"], "api.use")
    db.session.commit()
    [sup] = call("GET", "/api/v1/announcements", org.a_sup).get_json()["items"]
    assert sup["role"] == {"key": "supervisor", "name": "Supervisor"}
    assert sup["unit"] == {"id": org.store_a.id, "name": "Store A", "kind": "store"}

    found = call("GET", "/api/v1/announcements/audience?q=rep", org.a_manager).get_json()
    assert {p["name"] for p in found["people"]} == {"A Rep One", "A Rep Two", "A Rep Three"}  # not B Rep
    assert all(isinstance(p["unit"], str) for p in found["people"])
    assert call("GET", "/api/v1/announcements/audience?q=sales", org.a_manager).get_json()["units"] == [
        {"id": org.units["a_sales"].id, "name": "A Sales", "kind": "department", "depth": org.units["a_sales"].depth},
        {"id": org.units["a_sales_sub"].id, "name": "A Sales Sub", "kind": "department",
         "depth": org.units["a_sales_sub"].depth}]
    assert [r["key"] for r in call("GET", "/api/v1/announcements/audience?q=supervisor", org.a_manager)
            .get_json()["roles"]] == ["supervisor"]
    assert call("GET", "/api/v1/announcements/audience", org.a_rep1).status_code == 403

