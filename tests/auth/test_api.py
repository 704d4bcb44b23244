"""Token-only authentication of /api/v1, permissions, /me and the language of the answers; /api/v1/roles and
/api/v1/tokens."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext
from sqlalchemy import select

from crm.auth.models import ApiToken
from crm.auth.models import Role
from crm.auth.services import create_token
from crm.auth.services import revoke_token
from crm.extensions import db
from crm.org import services as org_services
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.factories import like_before_orders


def test_me_describes_the_token_user(call, api_org):
    resp = call("GET", "/api/v1/me", api_org.a_manager)
    assert resp.status_code == 200
    me = resp.get_json()
    assert me["id"] == api_org.a_manager.id
    assert me["name"] == "A Manager"
    assert me["org_unit"] == {"id": api_org.store_a.id, "name": "Store A", "kind": "store"}
    assert me["store"]["id"] == api_org.store_a.id
    assert [r["key"] for r in me["roles"]] == ["store_manager"]
    assert {"user.view", "user.manage", "api.use"} <= set(me["permissions"])
    assert me["data_scopes"] == ["store"]
    assert me["is_super_admin"] is False
    assert "password_hash" not in me and "security_stamp" not in me


def test_me_of_the_super_admin_lists_every_permission(call, api_org):
    me = call("GET", "/api/v1/me", api_org.hq_admin).get_json()
    assert me["is_super_admin"] is True
    assert "org.manage" in me["permissions"] and me["data_scopes"] == ["all"]
    assert me["store"] is None


def test_no_token_answers_401_problem(call, api_org):
    resp = call("GET", "/api/v1/me")
    body = assert_problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization" in body["detail"]


def test_bad_tokens_answer_401(call, api_org):
    for header in ("Bearer crm_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "crm_abc", "Bearer nonsense"):
        assert_problem(call("GET", "/api/v1/me", headers={"Authorization": header}), 401)


def test_revoked_token_answers_401(client, call, api_org):
    row, plain = create_token(api_org.a_manager, "soon revoked")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoke_token(row, actor=api_org.a_manager)
    db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=headers), 401)


def test_token_of_a_disabled_user_answers_401(call, api_org):
    call("GET", "/api/v1/me", api_org.a_rep2)  # the token exists
    org_services.disable_user(api_org.a_rep2, transfer_to=None, actor=api_org.hq_admin)
    db.session.commit()
    assert_problem(call("GET", "/api/v1/me", api_org.a_rep2), 401)


def test_token_without_api_use_answers_401(call, api_org):
    # An admin took `api.use` from the supervisor role: its tokens no longer open the API.
    api_org.roles["supervisor"].permissions = [p for p in api_org.roles["supervisor"].permission_list if p != "api.use"]
    db.session.commit()
    assert_problem(call("GET", "/api/v1/me", api_org.a_sup), 401)


def test_session_cookie_does_not_authenticate_the_api(login_as, call, api_org):
    login_as(api_org.hq_admin)
    assert call.client.get("/").status_code == 200  # signed in for the pages
    assert_problem(call("GET", "/api/v1/me"), 401)
    assert_problem(call("GET", "/api/v1/users"), 401)
    resp = call("GET", "/api/v1/me", api_org.a_rep1)
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers  # the API never touches the session


def test_with_cookie_and_token_the_token_user_acts(login_as, call, api_org):
    login_as(api_org.hq_admin)
    me = call("GET", "/api/v1/me", api_org.a_rep1).get_json()
    assert me["id"] == api_org.a_rep1.id
    # a salesperson may not list users, whatever the cookie says
    assert_problem(call("GET", "/api/v1/users", api_org.a_rep1), 403)


def test_remember_cookie_does_not_authenticate_the_api(client, api_org):
    from flask_login.utils import encode_cookie

    client.set_cookie("remember_token", encode_cookie(api_org.hq_admin.get_id()))
    assert_problem(client.get("/api/v1/me"), 401)


def test_missing_permission_answers_403(call, api_org):
    body = assert_problem(call("GET", "/api/v1/org-units", api_org.a_rep1), 403)
    assert body["detail"]
    assert_problem(call("POST", "/api/v1/org-units", api_org.a_manager, json={"kind": "department"}), 403)
    assert_problem(call("PATCH", f"/api/v1/roles/{api_org.roles['salesperson'].id}", api_org.a_manager, json={}), 403)


def test_permission_is_checked_before_the_body(call, api_org):
    # a caller without `org.manage` learns nothing about the payload's shape
    assert_problem(call("POST", "/api/v1/org-units", api_org.a_rep1, json={"nonsense": 1}), 403)


def test_posts_need_no_csrf_token(call, api_org):
    # CSRF protection is on for the pages (WTF_CSRF_ENABLED) but a bearer token is not sent by browsers
    resp = call("POST", f"/api/v1/org-units/{api_org.a_sales_sub.id}/deactivate", api_org.hq_admin)
    assert resp.status_code == 422, resp.get_data(as_text=True)  # refused by the service (active users), not CSRF
    assert "users" in resp.get_json()["detail"]


def in_zh(message: str) -> str:
    """`message` as the Chinese catalogue has it (the English text while it is untranslated)."""
    with force_locale("zh"):
        return gettext(message)


def test_answers_in_the_language_of_accept_language(call, api_org):
    en = call("GET", "/api/v1/org-units", api_org.a_rep1, headers={"Accept-Language": "en"}).get_json()
    zh = call("GET", "/api/v1/org-units", api_org.a_rep1, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert (en["title"], en["detail"]) == ("Not allowed", "You do not have permission to do this.")
    assert (zh["title"], zh["detail"]) == (in_zh("Not allowed"), in_zh("You do not have permission to do this."))


def test_accept_language_wins_over_the_users_preference(call, api_org):
    api_org.a_rep1.locale = "zh"
    db.session.commit()
    en = call("GET", "/api/v1/org-units", api_org.a_rep1, headers={"Accept-Language": "en"}).get_json()
    assert en["title"] == "Not allowed"
    zh = call("GET", "/api/v1/org-units", api_org.a_rep1).get_json()  # no header: the user's preference
    assert zh["title"] == in_zh("Not allowed")


def test_validation_messages_are_translated(call, api_org):
    en = call("POST", "/api/v1/org-units", api_org.hq_admin, json={"name": 5},
              headers={"Accept-Language": "en"}).get_json()
    zh = call("POST", "/api/v1/org-units", api_org.hq_admin, json={"name": 5},
              headers={"Accept-Language": "zh"}).get_json()
    assert en["errors"] == {"kind": ["This field is required."], "name": ["Enter text."]}
    assert zh["errors"] == {"kind": [in_zh("This field is required.")], "name": [in_zh("Enter text.")]}
    assert zh["title"] == in_zh("Some fields are invalid")


def test_unknown_api_path_is_a_problem_404(call, api_org):
    assert_problem(call("GET", "/api/v1/nothing-here", api_org.hq_admin), 404)


def test_grant_helper_gives_api_access(call, api_org):
    grant(api_org.roles["supervisor"], "api.use")
    db.session.commit()
    assert call("GET", "/api/v1/me", api_org.b_sup).status_code == 200


def test_locale_selector_prefers_accept_language_on_the_api(app, api_org):
    from crm import _select_locale

    with app.test_request_context("/api/v1/me", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}):
        assert _select_locale() == "zh"
    with app.test_request_context("/api/v1/me", headers={"Accept-Language": "fr"}):
        assert _select_locale() == "en"


def test_the_operation_log_names_the_token_user_not_the_cookie_user(login_as, call, api_org):
    from sqlalchemy import select

    from crm.core.audit import OperationLog

    login_as(api_org.hq_admin)  # the token hook must run before create_app's hook that binds the actor
    resp = call("PATCH", f"/api/v1/org-units/{api_org.store_a.id}", api_org.a_admin, json={"shop_name": "Cookie test"})
    assert resp.status_code == 200
    entry = db.session.scalars(
        select(OperationLog).where(OperationLog.object_type == "org_unit", OperationLog.object_id == api_org.store_a.id)
        .order_by(OperationLog.id.desc())
    ).first()
    assert entry.actor_id == api_org.a_admin.id


# /api/v1/roles and /api/v1/tokens ============================================================================
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
    assert by_key["logistics"] == {"key": "logistics", "name": "Logistics", "role_id": None,
                                   "permissions": ["api.use", "order.view", "finance.invoice.mail"]}
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
