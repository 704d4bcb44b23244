"""/api/v1/roles and /api/v1/tokens."""

from __future__ import annotations

from sqlalchemy import select

from crm.auth.models import ApiToken
from crm.auth.models import Role
from crm.auth.services import create_token
from crm.extensions import db
from tests.conftest import assert_problem
from tests.factories import like_before_orders

ROLES = "/api/v1/roles"
TOKENS = "/api/v1/tokens"


def test_list_roles(call, api_org):
    body = call("GET", ROLES, api_org.a_manager).get_json()  # user.view is enough to read
    keys = [r["key"] for r in body["items"]]
    assert keys[0] == "super_admin" and "salesperson" in keys and body["next_cursor"] is None
    sales = next(r for r in body["items"] if r["key"] == "salesperson")
    assert sales["data_scope"] == "self" and sales["name"] == "Salesperson" and "api.use" in sales["permissions"]


def test_roles_paginate(call, api_org):
    first = call("GET", f"{ROLES}?limit=4", api_org.a_admin).get_json()
    second = call("GET", f"{ROLES}?limit=4&cursor={first['next_cursor']}", api_org.a_admin).get_json()
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_get_role(call, api_org):
    role = api_org.roles["supervisor"]
    resp = call("GET", f"{ROLES}/{role.id}", api_org.a_admin)
    assert resp.status_code == 200 and resp.get_json()["data_scope"] == "self_and_subordinates"
    assert_problem(call("GET", f"{ROLES}/999999", api_org.a_admin), 404)


def test_reading_roles_needs_role_manage_or_user_view(call, api_org):
    assert_problem(call("GET", ROLES, api_org.a_rep1), 403)
    assert_problem(call("GET", f"{ROLES}/{api_org.roles['salesperson'].id}", api_org.a_rep1), 403)


def test_patch_role(call, api_org):
    role = api_org.roles["warehouse"]
    resp = call("PATCH", f"{ROLES}/{role.id}", api_org.a_admin, json={
        "name": "Logistics", "permissions": ["audit.view", "org.view"], "data_scope": "store"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["name"] == "Logistics" and body["permissions"] == ["audit.view", "org.view"]
    assert body["description"] == "Outbound, delivery and returns of the store."  # not sent, kept
    assert db.session.get(Role, role.id).name == "Logistics"


def test_patch_role_validation(call, api_org):
    role = api_org.roles["warehouse"]
    body = assert_problem(call("PATCH", f"{ROLES}/{role.id}", api_org.a_admin, json={
        "name": "", "permissions": ["rocket.launch"], "data_scope": "galaxy"}), 422, "name", "permissions", "data_scope")
    assert "rocket.launch" in body["errors"]["permissions"][0]
    assert_problem(call("PATCH", f"{ROLES}/{role.id}", api_org.a_admin, json={"permissions": "org.view"}), 422, "permissions")
    assert db.session.get(Role, role.id).name == "Warehouse"


def test_super_admin_role_cannot_be_changed(call, api_org):
    role = api_org.roles["super_admin"]
    assert_problem(call("PATCH", f"{ROLES}/{role.id}", api_org.hq_admin, json={"name": "Boss"}), 403)
    assert db.session.get(Role, role.id).name == "Super admin"


def test_changing_roles_needs_role_manage(call, api_org):
    role = api_org.roles["warehouse"]
    assert_problem(call("PATCH", f"{ROLES}/{role.id}", api_org.a_manager, json={"name": "x"}), 403)


def test_list_own_tokens_without_the_hash(call, api_org):
    o = api_org
    call("GET", "/api/v1/me", o.a_rep1)  # makes the caller's token
    create_token(o.a_rep1, "ERP sync")
    create_token(o.a_rep2, "someone else's")
    db.session.commit()
    body = call("GET", TOKENS, o.a_rep1).get_json()
    assert [t["name"] for t in body["items"]] == ["ERP sync", "test"]  # newest first
    for item in body["items"]:
        assert item["prefix"].startswith("crm_") and item["active"] is True
        assert "token_hash" not in item and "token" not in item
    assert body["items"][1]["last_used_at"] is not None


def test_revoke_own_token(call, api_org):
    o = api_org
    row, _plain = create_token(o.a_rep1, "to revoke")
    db.session.commit()
    resp = call("DELETE", f"{TOKENS}/{row.id}", o.a_rep1)
    assert resp.status_code == 204 and resp.get_data() == b""
    assert db.session.get(ApiToken, row.id).revoked_at is not None
    assert call("DELETE", f"{TOKENS}/{row.id}", o.a_rep1).status_code == 204  # again: nothing changes
    listed = {t["id"]: t for t in call("GET", TOKENS, o.a_rep1).get_json()["items"]}
    assert listed[row.id]["active"] is False and listed[row.id]["revoked_at"]


def test_revoking_the_token_in_use_ends_access(call, api_org):
    o = api_org
    call("GET", "/api/v1/me", o.a_rep1)
    own = call("GET", TOKENS, o.a_rep1).get_json()["items"][0]
    assert call("DELETE", f"{TOKENS}/{own['id']}", o.a_rep1).status_code == 204
    assert_problem(call("GET", "/api/v1/me", o.a_rep1), 401)


def test_someone_elses_token_answers_404(call, api_org):
    o = api_org
    row, _plain = create_token(o.b_rep, "B's")
    db.session.commit()
    assert_problem(call("DELETE", f"{TOKENS}/{row.id}", o.a_rep1), 404)
    assert_problem(call("DELETE", f"{TOKENS}/{row.id}", o.hq_admin), 404)  # even a super admin's own list only
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_new_defaults_listed_and_granted(call, api_org):
    like_before_orders(api_org)
    pending = call("GET", f"{ROLES}/defaults", api_org.a_admin).get_json()["pending"]
    by_key = {item["key"]: item for item in pending}
    assert by_key["logistics"] == {"key": "logistics", "name": "Logistics", "role_id": None, "permissions": ["order.view"]}
    assert by_key["salesperson"]["role_id"] == api_org.roles["salesperson"].id
    assert by_key["salesperson"]["permissions"] == ["order.view", "order.create", "order.cancel"]

    resp = call("POST", f"{ROLES}/defaults", api_org.a_admin, json={"grant": True})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert {item["key"] for item in resp.get_json()["pending"]} == set(by_key)
    assert "order.view" in db.session.get(Role, api_org.roles["salesperson"].id).permission_list
    assert call("GET", f"{ROLES}/defaults", api_org.a_admin).get_json()["pending"] == []


def test_new_defaults_need_role_manage_and_a_choice(call, api_org):
    like_before_orders(api_org)
    assert_problem(call("GET", f"{ROLES}/defaults", api_org.a_manager), 403)
    assert_problem(call("POST", f"{ROLES}/defaults", api_org.a_manager, json={"grant": True}), 403)
    assert_problem(call("POST", f"{ROLES}/defaults", api_org.a_admin, json={}), 422, "grant")
    assert_problem(call("POST", f"{ROLES}/defaults", api_org.a_admin, json={"grant": "maybe"}), 422, "grant")
    assert db.session.scalar(select(Role).where(Role.key == "logistics")) is None
