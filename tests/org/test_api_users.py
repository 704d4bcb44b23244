"""/api/v1/users: listing, reading, creating, changing, disabling and enabling users within the scope."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.services import verify_password
from crm.extensions import db
from crm.org.models import User
from tests.conftest import assert_problem
from tests.factories import UserFactory

USERS = "/api/v1/users"


def _ids(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {item["id"] for item in resp.get_json()["items"]}


def _count_users():
    return db.session.scalar(select(func.count()).select_from(User))


def _new_user(o, **overrides):
    data = {"name": "New Rep", "mobile": "138 0013 8000", "email": "New.Rep@Example.com", "org_unit_id": o.a_sales.id,
            "supervisor_id": o.a_sup.id, "role_keys": ["salesperson"], "password": "Start#2026", "gender": "female"}
    data.update(overrides)
    return data


def test_list_of_a_store_manager_holds_only_their_store(call, api_org):
    o = api_org
    seen = _ids(call("GET", USERS, o.a_manager))
    assert seen == {o.a_manager.id, o.a_sup.id, o.a_rep1.id, o.a_rep2.id, o.a_rep3.id, o.a_admin.id}
    item = next(u for u in call("GET", USERS, o.a_manager).get_json()["items"] if u["id"] == o.a_rep1.id)
    assert item["org_unit"] == {"id": o.a_sales.id, "name": "A Sales", "kind": "department"}
    assert item["roles"] == [{"id": o.roles["salesperson"].id, "key": "salesperson", "name": "Salesperson"}]
    assert item["supervisor_id"] == o.a_sup.id and item["store_id"] == o.store_a.id
    assert "password_hash" not in item and "security_stamp" not in item


def test_hq_lists_everyone(call, api_org):
    assert _ids(call("GET", f"{USERS}?limit=200", api_org.hq_manager)) == {u.id for u in api_org.users.values()}


def test_filters(call, api_org):
    o = api_org
    assert _ids(call("GET", f"{USERS}?q=rep%20t", o.hq_manager)) == {o.a_rep2.id, o.a_rep3.id}
    assert _ids(call("GET", f"{USERS}?q={o.b_rep.mobile[-6:]}", o.hq_manager)) == {o.b_rep.id}
    assert _ids(call("GET", f"{USERS}?q=100%25", o.hq_manager)) == set()  # wildcards are literal
    assert _ids(call("GET", f"{USERS}?unit_id={o.a_sales.id}", o.hq_manager)) == {o.a_sup.id, o.a_rep1.id, o.a_rep2.id, o.a_rep3.id}
    assert _ids(call("GET", f"{USERS}?role_id={o.roles['store_manager'].id}", o.hq_manager)) == {
        o.a_manager.id, o.b_manager.id, o.c_manager.id}
    assert _ids(call("GET", f"{USERS}?active=false", o.hq_manager)) == set()
    # filters never widen the scope
    assert _ids(call("GET", f"{USERS}?unit_id={o.store_b.id}", o.a_manager)) == set()
    assert _ids(call("GET", f"{USERS}?q=B%20Rep", o.a_manager)) == set()
    assert_problem(call("GET", f"{USERS}?role_id=abc&active=maybe", o.hq_manager), 422, "role_id", "active")


def test_other_stores_users_answer_404_like_missing_ones(call, api_org):
    o = api_org
    missing = assert_problem(call("GET", f"{USERS}/999999", o.a_manager), 404)
    for user in (o.b_rep, o.b_manager, o.c_rep, o.east_manager, o.hq_admin):
        assert assert_problem(call("GET", f"{USERS}/{user.id}", o.a_manager), 404) == missing
        assert_problem(call("PATCH", f"{USERS}/{user.id}", o.a_manager, json={"name": "Mine"}), 404)
        assert_problem(call("POST", f"{USERS}/{user.id}/disable", o.a_manager, json={}), 404)
        assert_problem(call("POST", f"{USERS}/{user.id}/enable", o.a_manager), 404)
    assert db.session.get(User, o.b_rep.id).name == "B Rep" and db.session.get(User, o.b_rep.id).active


def test_get_one(call, api_org):
    resp = call("GET", f"{USERS}/{api_org.a_rep3.id}", api_org.a_manager)
    assert resp.status_code == 200
    assert resp.get_json()["name"] == "A Rep Three"


def test_create_with_role_keys_and_a_password(call, api_org):
    o = api_org
    resp = call("POST", USERS, o.a_manager, json=_new_user(o))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["mobile"] == "13800138000" and body["email"] == "new.rep@example.com"
    assert body["store_id"] == o.store_a.id and [r["key"] for r in body["roles"]] == ["salesperson"]
    assert "password" not in body
    user = db.session.get(User, body["id"])
    assert verify_password(user.password_hash, "Start#2026")


def test_create_with_role_ids(call, api_org):
    o = api_org
    ids = [o.roles["supervisor"].id, o.roles["salesperson"].id]
    resp = call("POST", USERS, o.a_manager, json=_new_user(o, role_keys=None, role_ids=ids))
    assert resp.status_code == 422  # role_keys: null is not a list
    data = _new_user(o, role_ids=ids)
    del data["role_keys"]
    resp = call("POST", USERS, o.a_manager, json=data)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert [r["key"] for r in resp.get_json()["roles"]] == ["supervisor", "salesperson"]


def test_bad_mobile_names_the_field_and_writes_nothing(call, api_org):
    before = _count_users()
    body = assert_problem(call("POST", USERS, api_org.a_manager, json=_new_user(api_org, mobile="12345")), 422, "mobile")
    assert body["errors"]["mobile"] == ["Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."]
    assert set(body["errors"]) == {"mobile"}
    assert _count_users() == before


def test_every_invalid_field_is_named_at_once(call, api_org):
    o = api_org
    before = _count_users()
    body = assert_problem(call("POST", USERS, o.a_manager, json=_new_user(
        o, name="", email="nope", password="short", mobile=o.b_rep.mobile, role_keys=["astronaut"])),
        422, "name", "email", "password", "mobile", "role_keys")
    assert body["errors"]["password"] == ["Use at least 8 characters."]
    assert _count_users() == before


def test_password_error_alone_writes_nothing(call, api_org):
    before = _count_users()
    assert_problem(call("POST", USERS, api_org.a_manager, json=_new_user(api_org, password="12345678")), 422, "password")
    assert _count_users() == before


def test_missing_fields_are_named(call, api_org):
    body = assert_problem(call("POST", USERS, api_org.a_manager, json={}), 422, "name", "mobile", "org_unit_id", "password")
    assert body["errors"]["name"] == ["This field is required."]


def test_create_in_another_store_is_refused(call, api_org):
    o = api_org
    before = _count_users()
    body = assert_problem(call("POST", USERS, o.a_manager, json=_new_user(o, org_unit_id=o.b_sales.id, supervisor_id=None)),
                          422, "org_unit_id")
    assert body["errors"]["org_unit_id"] == ["Choose the user's org unit."]
    body = assert_problem(call("POST", USERS, o.a_manager, json=_new_user(o, supervisor_id=o.b_sup.id)), 422, "supervisor_id")
    # the same message as for a missing user: nothing is told about the hidden one
    assert body["errors"]["supervisor_id"] == ["Choose an active user as supervisor."]
    body = assert_problem(call("POST", USERS, o.a_manager, json=_new_user(o, org_unit_id=o.c_sales.id, supervisor_id=o.c_manager.id)),
                          422, "org_unit_id", "supervisor_id")
    assert body["errors"] == {"org_unit_id": ["Choose the user's org unit."],
                              "supervisor_id": ["Choose an active user as supervisor."]}
    assert _count_users() == before


def test_only_a_super_admin_grants_super_admin(call, api_org):
    o = api_org
    assert_problem(call("POST", USERS, o.a_manager, json=_new_user(o, role_keys=["super_admin"])), 422, "role_ids")


def test_patch_changes_only_the_fields_sent(call, api_org):
    o = api_org
    resp = call("PATCH", f"{USERS}/{o.a_rep2.id}", o.a_manager, json={"position": "Senior rep", "role_keys": ["supervisor"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["position"] == "Senior rep" and body["name"] == "A Rep Two" and body["mobile"] == o.a_rep2.mobile
    assert [r["key"] for r in body["roles"]] == ["supervisor"]
    resp = call("PATCH", f"{USERS}/{o.a_rep2.id}", o.a_manager, json={"org_unit_id": o.a_sales_sub.id, "email": None})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["email"] is None and resp.get_json()["org_unit_id"] == o.a_sales_sub.id
    assert [r["key"] for r in resp.get_json()["roles"]] == ["supervisor"]  # roles kept when not sent


def test_patch_keeps_a_supervisor_outside_the_callers_scope(call, api_org):
    o = api_org  # a_manager's supervisor is the east manager, whom a store admin cannot see
    resp = call("PATCH", f"{USERS}/{o.a_manager.id}", o.a_admin, json={"position": "Head of store"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["supervisor_id"] == o.east_manager.id


def test_patch_validation(call, api_org):
    o = api_org
    assert_problem(call("PATCH", f"{USERS}/{o.a_rep2.id}", o.a_manager, json={"mobile": "not a number"}), 422, "mobile")
    assert_problem(call("PATCH", f"{USERS}/{o.a_rep1.id}", o.a_manager, json={"supervisor_id": o.a_rep3.id}),
                   422, "supervisor_id")  # a cycle
    assert_problem(call("PATCH", f"{USERS}/{o.a_rep1.id}", o.a_manager, json={"org_unit_id": o.store_b.id}), 422, "org_unit_id")
    assert db.session.get(User, o.a_rep1.id).org_unit_id == o.a_sales.id


def test_super_admins_account_is_only_for_super_admins(call, api_org):
    o = api_org
    assert_problem(call("PATCH", f"{USERS}/{o.hq_admin.id}", o.hq_manager, json={"name": "x"}), 403)  # no user.manage
    from tests.conftest import grant

    grant(o.roles["hq_manager"], "user.manage")
    db.session.commit()
    assert_problem(call("PATCH", f"{USERS}/{o.hq_admin.id}", o.hq_manager, json={"name": "x"}), 403)
    assert_problem(call("POST", f"{USERS}/{o.hq_admin.id}/disable", o.hq_manager, json={}), 403)
    assert db.session.get(User, o.hq_admin.id).name == "HQ Admin"


def test_disable_and_enable(call, api_org):
    o = api_org
    resp = call("POST", f"{USERS}/{o.a_rep2.id}/disable", o.a_manager, json={"transfer_to_id": o.a_rep1.id})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["active"] is False
    assert _ids(call("GET", f"{USERS}?active=false", o.a_manager)) == {o.a_rep2.id}
    assert_problem(call("POST", f"{USERS}/{o.a_rep2.id}/disable", o.a_manager), 409)
    resp = call("POST", f"{USERS}/{o.a_rep2.id}/enable", o.a_manager)
    assert resp.status_code == 200 and resp.get_json()["active"] is True
    assert_problem(call("POST", f"{USERS}/{o.a_rep2.id}/enable", o.a_manager), 409)


def test_disable_refusals(call, api_org):
    o = api_org
    assert_problem(call("POST", f"{USERS}/{o.a_manager.id}/disable", o.a_manager), 422)  # oneself
    body = assert_problem(call("POST", f"{USERS}/{o.a_rep2.id}/disable", o.a_manager, json={"transfer_to_id": o.b_rep.id}),
                          422, "transfer_to_id")
    assert body["errors"]["transfer_to_id"] == ["Choose another, active user."]
    assert db.session.get(User, o.a_rep2.id).active is True


def test_pagination_walks_every_user_once(call, api_org):
    o = api_org
    for n in range(7):
        UserFactory(name=f"Extra {n}", unit=o.a_sales, roles=[o.roles["salesperson"]])
    db.session.commit()
    expected = _ids(call("GET", f"{USERS}?limit=200", o.a_manager))
    assert len(expected) == 13
    seen: list[int] = []
    cursor = None
    while True:
        body = call("GET", f"{USERS}?limit=5" + (f"&cursor={cursor}" if cursor else ""), o.a_manager).get_json()
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(seen) == expected
    names = [db.session.get(User, user_id).name for user_id in seen]
    assert names == sorted(names)


def test_listing_costs_the_same_queries_for_5_or_50_users(app, call, api_org):
    o = api_org

    def queries_for(limit: int) -> int:
        db.session.expire_all()
        statements: list[str] = []

        def count(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = call("GET", f"{USERS}?limit={limit}", o.hq_manager).get_json()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(body["items"]) == limit
        return len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])

    for n in range(40):
        UserFactory(name=f"Bulk {n}", unit=o.c_sales, roles=[o.roles["salesperson"], o.roles["warehouse"]])
    db.session.commit()
    call("GET", USERS, o.hq_manager)  # the token is made and its first use recorded
    assert queries_for(5) == queries_for(50) <= 10
