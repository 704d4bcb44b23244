"""The org admin pages. Org units: tree, create, detail + history, edit, move with preview, (de)activate.
Users: filtered keyset list, create, profile + history, edit, disable with transfer, enable, password
reset. For both, scope isolation (another store's rows answer 404 and never show up) and the permission
matrix."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.services import verify_password
from crm.core import ownership
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from tests import factories
from tests.conftest import csrf
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import options
from tests.conftest import post


@pytest.fixture(autouse=True)
def _saved(org):
    # A request that answers 4xx rolls the session back; commit the fixture data (to the test's savepoint)
    # so it survives that.
    db.session.commit()


# Org units (the org unit admin pages) ========================================================================
def unit_count():
    return db.session.scalar(select(func.count()).select_from(OrgUnit))


# Tree --------------------------------------------------------------------------------------------------
def test_tree_shows_the_whole_org_to_hq(login_as, org):
    page = html(login_as(org.hq_admin).get("/admin/units"))
    for name in ("HQ", "East", "South", "Store A", "Store B", "Store C", "A Sales Sub", "C Sales"):
        assert f">{name}</a>" in page
    assert "Tmall · Store A shop" in page
    assert 'id="new-unit"' in page


def test_store_admin_sees_only_own_store(login_as, org):
    page = html(login_as(org.a_admin).get("/admin/units"))
    assert ">Store A</a>" in page and ">A Sales</a>" in page and ">A Sales Sub</a>" in page
    for name in ("HQ", "East", "Store B", "B Sales", "Store C"):
        assert f">{name}</a>" not in page


def test_tree_user_counts(login_as, org):
    page = html(login_as(org.hq_admin).get("/admin/units"))
    row = re.search(rf'<tr data-unit-id="{org.a_sales.id}".*?</tr>', page, re.S).group(0)
    # a_sup, a_rep1, a_rep2 directly; a_rep3 below
    assert re.search(r">3</a>\s*<span[^>]*>/ 4</span>", row)


def test_tree_empty_state(login_as, org, roles):
    # A role with org.view but no unit in reach: the owner scope of a user above every unit it could see.
    viewer = factories.UserFactory(unit=org.hq_dept, roles=[roles["finance"]])
    roles["finance"].permissions = ["org.view"]
    db.session.commit()
    page = html(login_as(viewer).get("/admin/units"))
    assert ">HQ Finance</a>" in page  # its own unit only
    assert ">Store A</a>" not in page


def test_permissions(client, login_as, org):
    assert client.get("/admin/units").status_code == 302  # not signed in -> log-in page
    login_as(org.a_rep1)
    assert client.get("/admin/units").status_code == 403
    assert client.get(f"/admin/units/{org.a_sales.id}").status_code == 403
    login_as(org.hq_manager)  # org.view, no org.manage
    assert client.get("/admin/units").status_code == 200
    assert 'id="new-unit"' not in html(client.get("/admin/units"))
    assert client.get("/admin/units/new").status_code == 403
    assert client.get(f"/admin/units/{org.a_sales.id}/edit").status_code == 403
    assert post(client, f"/admin/units/{org.a_sales.id}/deactivate").status_code == 403
    assert post(client, f"/admin/units/{org.a_sales.id}/move", {"parent_id": org.store_b.id}).status_code == 403


# Create ------------------------------------------------------------------------------------------------
def test_create_department(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, "/admin/units/new", {"kind": "department", "parent_id": org.a_sales.id, "name": "A Night Shift", "code": "A-NIGHT"})
    assert resp.status_code == 302, html(resp)
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "A Night Shift"))
    assert resp.headers["Location"].endswith(f"/admin/units/{unit.id}")
    assert unit.store_id == org.store_a.id and unit.subsidiary_id == org.east.id
    assert unit.path == f"{org.a_sales.path}{unit.id}/" and unit.depth == org.a_sales.depth + 1
    page = html(client.get(resp.headers["Location"]))
    assert "The unit A Night Shift was created." in page
    assert 'id="timeline"' in page and "Created" in page


def test_create_store(login_as, org):
    client = login_as(org.hq_admin)
    data = {"kind": "store", "parent_id": org.south.id, "name": "Store D", "platform": "douyin", "shop_name": "D on Douyin"}
    assert post(client, "/admin/units/new", data).status_code == 302
    store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Store D"))
    assert store.store_id == store.id and store.subsidiary_id == org.south.id
    assert store.platform.value == "douyin" and store.shop_name == "D on Douyin"


def test_create_validation_errors_keep_input_and_write_nothing(login_as, org):
    client = login_as(org.hq_admin)
    before = unit_count()
    resp = post(client, "/admin/units/new", {"kind": "store", "parent_id": org.a_sales.id, "name": " ", "code": "typed-code"})
    assert resp.status_code == 422
    assert {"name", "parent_id", "platform", "shop_name"} <= field_errors(resp)
    assert "A unit of kind “Store” cannot sit under a unit of kind “Department”." in html(resp)
    assert 'value="typed-code"' in html(resp)
    assert unit_count() == before


def test_create_with_taken_code(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, "/admin/units/new", {"kind": "department", "parent_id": org.store_a.id, "name": "X", "code": org.b_sales.code})
    assert resp.status_code == 422 and field_errors(resp) == {"code"}


def test_create_under_another_stores_unit_is_refused(login_as, org):
    client = login_as(org.a_admin)
    before = unit_count()
    resp = post(client, "/admin/units/new", {"kind": "department", "parent_id": org.b_sales.id, "name": "Sneaky"})
    assert resp.status_code == 422
    assert field_errors(resp) == {"parent_id"}
    assert "Choose a parent unit from the list." in html(resp)
    assert unit_count() == before


def test_parent_select_lists_allowed_and_visible_parents_only(login_as, org):
    client = login_as(org.hq_admin)
    labels = [label.strip("\u2003") for _v, label in options(client.get("/admin/units/new?kind=store"), "parent_id")]
    assert labels == ["Choose…", "HQ", "East", "South"]
    labels = [label.strip("\u2003") for _v, label in options(client.get("/admin/units/new?kind=subsidiary"), "parent_id")]
    assert labels == ["Choose…", "HQ"]
    client = login_as(org.a_admin)
    resp = client.get("/admin/units/new")
    assert [v for v, _l in options(resp, "kind")] == ["", "department"]  # a store admin can only add departments
    labels = [label.strip("\u2003") for _v, label in options(client.get("/admin/units/new?kind=department"), "parent_id")]
    assert labels == ["Choose…", "Store A", "A Sales", "A Sales Sub"]


def test_new_form_prefills_parent_and_shows_store_fields(login_as, org):
    client = login_as(org.hq_admin)
    resp = client.get(f"/admin/units/new?kind=store&parent_id={org.east.id}")
    assert 'id="store-fields"' in html(resp)
    assert re.search(rf'<option value="{org.east.id}"\s+selected>', html(resp))
    assert 'id="store-fields"' not in html(client.get("/admin/units/new?kind=department"))


# Detail, edit --------------------------------------------------------------------------------------------
def test_detail(login_as, org):
    page = html(login_as(org.hq_admin).get(f"/admin/units/{org.store_a.id}"))
    assert "Store A shop" in page and "Tmall" in page
    assert 'id="sub-units"' in page and ">A Sales</a>" in page
    assert "2 here, 6 including the units below" in page
    assert 'id="timeline"' in page


def test_detail_of_leaf_has_empty_state(login_as, org):
    page = html(login_as(org.a_admin).get(f"/admin/units/{org.a_sales_sub.id}"))
    assert 'id="no-sub-units"' in page


def test_other_stores_units_answer_404(login_as, org):
    client = login_as(org.a_admin)
    for unit in (org.store_b, org.b_sales, org.east, org.hq):
        assert client.get(f"/admin/units/{unit.id}").status_code == 404
        assert client.get(f"/admin/units/{unit.id}/edit").status_code == 404
        assert client.get(f"/admin/units/{unit.id}/move").status_code == 404
        assert post(client, f"/admin/units/{unit.id}/edit", {"name": "Mine"}).status_code == 404
        assert post(client, f"/admin/units/{unit.id}/move", {"parent_id": org.store_a.id}).status_code == 404
        assert post(client, f"/admin/units/{unit.id}/deactivate").status_code == 404
        assert post(client, f"/admin/units/{unit.id}/activate").status_code == 404
    assert client.get("/admin/units/999999").status_code == 404
    db.session.expire_all()
    assert org.b_sales.name == "B Sales" and org.b_sales.active


def test_edit_unit_and_history(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/units/{org.a_sales.id}/edit")
    assert 'value="A Sales"' in html(resp)
    resp = post(client, f"/admin/units/{org.a_sales.id}/edit", {"name": "A Sales East", "code": "A-S", "head_id": org.a_sup.id})
    assert resp.status_code == 302, html(resp)
    assert org.a_sales.name == "A Sales East" and org.a_sales.head_id == org.a_sup.id
    page = html(client.get(f"/admin/units/{org.a_sales.id}"))
    assert "The changes to A Sales East were saved." in page
    timeline = page[page.index('id="timeline"'):]
    assert "Changed" in timeline
    assert "<del>A Sales</del>" in timeline and "A Sales East" in timeline
    assert "A Supervisor" in timeline  # the head shown by name, not id


def test_edit_store_requires_platform(login_as, org):
    client = login_as(org.hq_admin)
    resp = post(client, f"/admin/units/{org.store_a.id}/edit", {"name": "Store A", "platform": "", "shop_name": ""})
    assert resp.status_code == 422
    assert field_errors(resp) == {"platform", "shop_name"}
    db.session.expire_all()
    assert org.store_a.platform.value == "tmall"


def test_edit_head_must_be_visible_and_below(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, f"/admin/units/{org.a_sales.id}/edit", {"name": "Renamed", "head_id": org.b_sup.id})
    assert resp.status_code == 422 and field_errors(resp) == {"head_id"}
    resp = post(client, f"/admin/units/{org.a_sales.id}/edit", {"name": "Renamed", "head_id": org.a_manager.id})
    assert resp.status_code == 422 and "The head must work in this unit or below it." in html(resp)
    db.session.expire_all()
    assert org.a_sales.name == "A Sales" and org.a_sales.head_id is None
    head_choices = [label for _v, label in options(client.get(f"/admin/units/{org.a_sales.id}/edit"), "head_id")]
    assert any(label.startswith("A Rep Three") for label in head_choices)
    assert not any(label.startswith("A Manager") for label in head_choices)


# Move --------------------------------------------------------------------------------------------------
def test_move_preview(login_as, org):
    client = login_as(org.hq_admin)
    resp = client.get(f"/admin/units/{org.a_sales.id}/move?parent_id={org.store_b.id}")
    assert resp.status_code == 200
    page = html(resp)
    assert 'id="move-preview"' in page and "2 units move" in page
    users = page[page.index('id="preview-users"'):]
    for name in ("A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"):
        assert name in users
    assert "A Manager" not in users
    assert 'id="confirm-move"' in page
    # The unit's own subtree and its current parent are not offered.
    offered = {v for v, _l in options(resp, "parent_id")}
    assert str(org.a_sales_sub.id) not in offered and str(org.store_a.id) not in offered
    assert str(org.store_b.id) in offered


def test_move_store_preview_lists_subsidiary_change(login_as, org):
    page = html(login_as(org.hq_admin).get(f"/admin/units/{org.store_b.id}/move?parent_id={org.south.id}"))
    assert 'id="preview-stores"' in page and "Store B: East → South" in page
    assert 'id="preview-no-users"' in page  # the users stay in Store B


def test_move_recomputes_paths_and_user_stores(login_as, org):
    client = login_as(org.hq_admin)
    resp = post(client, f"/admin/units/{org.a_sales.id}/move", {"parent_id": org.b_sales.id})
    assert resp.status_code == 302, html(resp)
    db.session.expire_all()
    assert org.a_sales.parent_id == org.b_sales.id
    assert org.a_sales.path == f"{org.b_sales.path}{org.a_sales.id}/"
    assert org.a_sales_sub.path == f"{org.a_sales.path}{org.a_sales_sub.id}/"
    assert org.a_sales_sub.depth == org.a_sales.depth + 1 == org.b_sales.depth + 2
    assert org.a_sales.store_id == org.a_sales_sub.store_id == org.store_b.id
    for user in (org.a_sup, org.a_rep1, org.a_rep2, org.a_rep3):
        assert user.store_id == org.store_b.id
    assert org.a_manager.store_id == org.store_a.id
    page = html(client.get(f"/admin/units/{org.a_sales.id}"))
    assert "A Sales was moved under B Sales." in page
    timeline = page[page.index('id="timeline"'):]
    assert "Moved in the org tree" in timeline and "B Sales" in timeline and "A Sales" in timeline


def test_move_store_to_other_subsidiary(login_as, org):
    client = login_as(org.hq_admin)
    assert post(client, f"/admin/units/{org.store_b.id}/move", {"parent_id": org.south.id}).status_code == 302
    db.session.expire_all()
    assert org.store_b.subsidiary_id == org.b_sales.subsidiary_id == org.south.id
    assert org.b_rep.store_id == org.store_b.id


def test_move_validation(login_as, org):
    client = login_as(org.hq_admin)
    old_path = org.a_sales.path
    resp = post(client, f"/admin/units/{org.a_sales.id}/move", {"parent_id": org.a_sales_sub.id})
    assert resp.status_code == 422 and field_errors(resp) == {"parent_id"}
    assert "A unit cannot move under itself or one of its sub-units." in html(resp)
    resp = post(client, f"/admin/units/{org.store_a.id}/move", {"parent_id": org.b_sales.id})
    assert resp.status_code == 422 and "A unit of kind “Store” cannot sit under a unit of kind “Department”." in html(resp)
    resp = post(client, f"/admin/units/{org.a_sales.id}/move", {})
    assert resp.status_code == 422 and field_errors(resp) == {"parent_id"}
    resp = post(client, f"/admin/units/{org.a_sales.id}/move", {"parent_id": "abc"})
    assert resp.status_code == 422 and field_errors(resp) == {"parent_id"}
    db.session.expire_all()
    assert org.a_sales.path == old_path


def test_store_admin_cannot_move_into_another_store(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, f"/admin/units/{org.a_sales_sub.id}/move", {"parent_id": org.b_sales.id})
    assert resp.status_code == 422 and field_errors(resp) == {"parent_id"}
    assert client.get(f"/admin/units/{org.a_sales_sub.id}/move?parent_id={org.b_sales.id}").status_code == 200
    assert 'id="move-preview"' not in html(client.get(f"/admin/units/{org.a_sales_sub.id}/move?parent_id={org.b_sales.id}"))
    db.session.expire_all()
    assert org.a_sales_sub.parent_id == org.a_sales.id
    # Within the own store it works.
    assert post(client, f"/admin/units/{org.a_sales_sub.id}/move", {"parent_id": org.store_a.id}).status_code == 302
    assert org.a_sales_sub.parent_id == org.store_a.id


# Deactivate / activate ------------------------------------------------------------------------------------
def test_deactivate_refused_while_users_are_active(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, f"/admin/units/{org.a_sales_sub.id}/deactivate", follow_redirects=True)
    assert resp.status_code == 200
    assert "Move or disable its 1 active users first." in html(resp)
    db.session.expire_all()
    assert org.a_sales_sub.active


def test_deactivate_and_activate(login_as, org):
    client = login_as(org.a_admin)
    resp = post(client, "/admin/units/new", {"kind": "department", "parent_id": org.store_a.id, "name": "Empty"})
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Empty"))
    resp = post(client, f"/admin/units/{unit.id}/deactivate", follow_redirects=True)
    assert "Empty was deactivated." in html(resp)
    assert not unit.active
    assert 'id="activate-unit"' in html(resp)
    # A deactivated unit is no longer offered as a parent.
    assert str(unit.id) not in {v for v, _l in options(client.get("/admin/units/new?kind=department"), "parent_id")}
    resp = post(client, f"/admin/units/{unit.id}/activate", follow_redirects=True)
    assert "Empty is active again." in html(resp)
    assert unit.active
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(resp)[html(resp).index('id="timeline"'):]))
    assert "Active No → Yes" in timeline and "Active Yes → No" in timeline


# Users (the user admin pages) ================================================================================
def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


def listed(resp):
    """Names in the user table, in page order."""
    return re.findall(r'<a href="/admin/users/\d+" class="fw-semibold">([^<]+)</a>', html(resp))


NEW_USER = {
    "name": "New Rep",
    "mobile": "138 0013 8000",
    "email": "New.Rep@Example.com",
    "gender": "female",
    "position": "Sales",
}


# List -----------------------------------------------------------------------------------------------------
def test_list_is_scoped_to_the_store(login_as, org):
    names = listed(login_as(org.a_admin).get("/admin/users"))
    assert set(names) == {"A Manager", "A Supervisor", "A Rep One", "A Rep Two", "A Rep Three", "A Admin"}
    assert names == sorted(names)
    names = listed(login_as(org.hq_admin).get("/admin/users"))
    assert "B Rep" in names and "HQ Admin" in names and len(names) == 15


def test_filters(login_as, org):
    client = login_as(org.hq_admin)
    assert listed(client.get("/admin/users?q=rep ONE")) == ["A Rep One"]
    assert listed(client.get(f"/admin/users?q={org.b_rep.mobile[-6:]}")) == ["B Rep"]
    assert listed(client.get("/admin/users?q=%25")) == []  # LIKE wildcards are matched literally
    assert set(listed(client.get(f"/admin/users?unit_id={org.a_sales.id}"))) == {
        "A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"
    }
    supervisor_role = org.roles["supervisor"].id
    assert listed(client.get(f"/admin/users?role_id={supervisor_role}")) == ["A Supervisor", "B Supervisor"]
    org.c_rep.active = False
    db.session.commit()
    assert "C Rep" not in listed(client.get("/admin/users"))
    assert listed(client.get("/admin/users?active=no")) == ["C Rep"]
    assert "C Rep" in listed(client.get("/admin/users?active=all"))
    resp = client.get("/admin/users?q=nobody-has-this")
    assert "No users match these filters" in html(resp)
    # Junk in the filters is ignored rather than failing.
    assert client.get("/admin/users?role_id=abc&active=maybe").status_code == 200


def test_unit_filter_of_another_store_is_404(login_as, org):
    client = login_as(org.a_admin)
    assert client.get(f"/admin/users?unit_id={org.b_sales.id}").status_code == 404
    labels = [label.strip("\u2003") for _v, label in options(client.get("/admin/users"), "unit_id")]
    assert labels == ["All units", "Store A", "A Sales", "A Sales Sub"]


def test_keyset_pages(app, login_as, org, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    client = login_as(org.hq_admin)
    seen, url = [], "/admin/users"
    while url:
        resp = client.get(url)
        names = listed(resp)
        assert 0 < len(names) <= 4
        seen += names
        match = re.search(r'href="([^"]+)" id="next-page"', html(resp))
        url = match.group(1).replace("&amp;", "&") if match else None
    assert len(seen) == 15 and len(set(seen)) == 15 and seen == sorted(seen)
    assert client.get("/admin/users?cursor=garbage").status_code == 422


def test_list_has_no_query_per_row(app, login_as, org):
    client = login_as(org.hq_admin)

    def count_queries():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/users").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = count_queries()
    for i in range(10):
        factories.UserFactory(name=f"Extra {i}", unit=[org.a_sales, org.b_sales, org.c_sales][i % 3],
                              roles=[org.roles["salesperson"]], supervisor=None)
    db.session.commit()
    assert count_queries() == few


def test_list_permissions_and_empty_state(client, login_as, org):
    assert client.get("/admin/users").status_code == 302
    assert login_as(org.a_rep1).get("/admin/users").status_code == 403
    client = login_as(org.a_sup)  # user.view, self and subordinates
    resp = client.get("/admin/users")
    assert set(listed(resp)) == {"A Supervisor", "A Rep One", "A Rep Two", "A Rep Three"}
    assert 'id="new-user"' not in html(resp)
    assert "No users match these filters" in html(client.get("/admin/users?q=zzz"))


# Create -----------------------------------------------------------------------------------------------
def test_create_user(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/new?org_unit_id={org.a_sales.id}")
    assert re.search(rf'<option value="{org.a_sales.id}"\s+selected>', html(resp))
    data = {**NEW_USER, "org_unit_id": org.a_sales.id, "supervisor_id": org.a_sup.id,
            "role_ids": [org.roles["salesperson"].id, org.roles["supervisor"].id], "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 302, html(resp)
    user = db.session.scalar(select(User).where(User.mobile == "13800138000"))
    assert resp.headers["Location"].endswith(f"/admin/users/{user.id}")
    assert user.email == "new.rep@example.com" and user.gender.value == "female"
    assert user.store_id == org.store_a.id and user.supervisor_id == org.a_sup.id
    assert sorted(r.key for r in user.roles) == ["salesperson", "supervisor"]
    assert verify_password(user.password_hash, "Start#2026")
    page = html(client.get(resp.headers["Location"]))
    assert "The user New Rep was created." in page and 'id="timeline"' in page


def test_create_user_validation_keeps_input_and_writes_nothing(login_as, org):
    client = login_as(org.a_admin)
    before = user_count()
    data = {"name": "", "mobile": "12345", "email": "not-an-email", "position": "Typed position",
            "org_unit_id": "", "role_ids": [org.roles["salesperson"].id], "password": "short"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422
    assert field_errors(resp) == {"name", "mobile", "email", "org_unit_id", "password"}
    page = html(resp)
    assert 'value="Typed position"' in page and 'value="not-an-email"' in page
    assert re.search(rf'value="{org.roles["salesperson"].id}"[^>]*\s+checked', page)
    assert 'value="short"' not in page  # passwords are never echoed
    assert user_count() == before


def test_create_user_duplicate_mobile(login_as, org):
    client = login_as(org.a_admin)
    data = {**NEW_USER, "mobile": org.b_rep.mobile, "org_unit_id": org.a_sales.id, "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"mobile"}
    assert "Another user already has this mobile number." in html(resp)


def test_create_user_outside_scope_is_refused(login_as, org):
    client = login_as(org.a_admin)
    before = user_count()
    data = {**NEW_USER, "org_unit_id": org.b_sales.id, "supervisor_id": org.b_sup.id, "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"org_unit_id", "supervisor_id"}
    assert user_count() == before
    # Neither is offered in the form.
    resp = client.get("/admin/users/new")
    assert str(org.b_sales.id) not in {v for v, _l in options(resp, "org_unit_id")}
    assert str(org.b_sup.id) not in {v for v, _l in options(resp, "supervisor_id")}


def test_only_super_admin_grants_super_admin(login_as, org):
    client = login_as(org.a_admin)
    super_admin = org.roles["super_admin"].id
    assert f'name="role_ids" value="{super_admin}"' not in html(client.get("/admin/users/new"))
    data = {**NEW_USER, "org_unit_id": org.a_sales.id, "role_ids": [super_admin], "password": "Start#2026"}
    resp = post(client, "/admin/users/new", data)
    assert resp.status_code == 422 and field_errors(resp) == {"role_ids"}
    client = login_as(org.hq_admin)
    assert f'name="role_ids" value="{super_admin}"' in html(client.get("/admin/users/new"))


# Detail, edit -------------------------------------------------------------------------------------------
def test_profile(login_as, org):
    page = html(login_as(org.a_admin).get(f"/admin/users/{org.a_sup.id}"))
    assert "A Supervisor" in page and org.a_sup.mobile in page
    assert f'href="/admin/users/{org.a_manager.id}">A Manager</a>' in page  # supervisor, linked
    subordinates = page[page.index('id="subordinates"'):]
    assert "A Rep One" in subordinates and "A Rep Two" in subordinates
    assert "Data scope: Own and subordinates&#39; records" in page
    assert 'id="timeline"' in page
    page = html(login_as(org.a_admin).get(f"/admin/users/{org.a_manager.id}"))
    assert "East Manager" in page and f'href="/admin/users/{org.east_manager.id}"' not in page  # out of scope: no link
    assert 'id="no-subordinates"' not in page
    assert 'id="no-subordinates"' in html(login_as(org.a_admin).get(f"/admin/users/{org.a_rep2.id}"))


def test_other_stores_users_answer_404(login_as, org):
    client = login_as(org.a_admin)
    for user in (org.b_rep, org.b_manager, org.east_manager, org.hq_admin):
        assert client.get(f"/admin/users/{user.id}").status_code == 404
        assert client.get(f"/admin/users/{user.id}/edit").status_code == 404
        assert client.get(f"/admin/users/{user.id}/disable").status_code == 404
        assert client.get(f"/admin/users/{user.id}/reset-password").status_code == 404
        assert post(client, f"/admin/users/{user.id}/edit", {"name": "Mine"}).status_code == 404
        assert post(client, f"/admin/users/{user.id}/disable").status_code == 404
        assert post(client, f"/admin/users/{user.id}/enable").status_code == 404
        assert post(client, f"/admin/users/{user.id}/reset-password", {"password": "Taken#2026", "confirm_password": "Taken#2026"}).status_code == 404
    db.session.expire_all()
    assert org.b_rep.active and org.b_rep.name == "B Rep"
    assert verify_password(org.b_rep.password_hash, factories.PASSWORD)


def test_edit_user_and_history(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_rep2.id}/edit")
    assert 'value="A Rep Two"' in html(resp)
    data = {"name": "A Rep Two", "mobile": org.a_rep2.mobile, "email": "", "gender": "male", "position": "Senior",
            "org_unit_id": org.a_sales_sub.id, "supervisor_id": org.a_rep1.id,
            "role_ids": [org.roles["salesperson"].id, org.roles["finance"].id]}
    resp = post(client, f"/admin/users/{org.a_rep2.id}/edit", data)
    assert resp.status_code == 302, html(resp)
    db.session.expire_all()
    assert org.a_rep2.position == "Senior" and org.a_rep2.email is None
    assert org.a_rep2.org_unit_id == org.a_sales_sub.id and org.a_rep2.supervisor_id == org.a_rep1.id
    assert sorted(r.key for r in org.a_rep2.roles) == ["finance", "salesperson"]
    page = html(client.get(f"/admin/users/{org.a_rep2.id}"))
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):]))
    assert "Roles changed" in timeline and "finance, salesperson" in timeline
    assert "Position Staff → Senior" in timeline
    assert "Org unit A Sales → A Sales Sub" in timeline
    assert "Gender Not specified → Male" in timeline


def test_edit_user_validation_writes_nothing(login_as, org):
    client = login_as(org.a_admin)
    data = {"name": "Changed", "mobile": "not a number", "org_unit_id": org.b_sales.id, "supervisor_id": org.a_rep3.id}
    resp = post(client, f"/admin/users/{org.a_rep1.id}/edit", data)
    assert resp.status_code == 422
    # a_rep3 reports to a_rep1: choosing them is a cycle
    assert field_errors(resp) == {"mobile", "org_unit_id", "supervisor_id"}
    assert 'value="Changed"' in html(resp)
    db.session.expire_all()
    assert org.a_rep1.name == "A Rep One" and org.a_rep1.org_unit_id == org.a_sales.id


def test_edit_keeps_a_supervisor_outside_the_scope(login_as, org):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_manager.id}/edit")
    assert (str(org.east_manager.id), "East Manager") in options(resp, "supervisor_id")
    data = {"name": "A Manager", "mobile": org.a_manager.mobile, "org_unit_id": org.store_a.id,
            "supervisor_id": org.east_manager.id, "role_ids": [org.roles["store_manager"].id], "position": "Boss"}
    assert post(client, f"/admin/users/{org.a_manager.id}/edit", data).status_code == 302
    db.session.expire_all()
    assert org.a_manager.supervisor_id == org.east_manager.id and org.a_manager.position == "Boss"


def test_super_admin_accounts_are_protected(login_as, org):
    hq_it = factories.UserFactory(name="HQ IT", unit=org.hq, roles=[org.roles["admin"]])
    db.session.commit()
    client = login_as(hq_it)
    assert client.get(f"/admin/users/{org.hq_admin.id}").status_code == 200
    assert 'id="edit-user"' not in html(client.get(f"/admin/users/{org.hq_admin.id}"))
    assert client.get(f"/admin/users/{org.hq_admin.id}/edit").status_code == 403
    assert post(client, f"/admin/users/{org.hq_admin.id}/reset-password", {"password": "Taken#2026", "confirm_password": "Taken#2026"}).status_code == 403
    assert post(client, f"/admin/users/{org.hq_admin.id}/disable").status_code == 403
    assert client.get(f"/admin/users/{org.hq_manager.id}/edit").status_code == 200
    db.session.expire_all()
    assert org.hq_admin.active and verify_password(org.hq_admin.password_hash, factories.PASSWORD)


def test_manage_permission_required(login_as, org):
    client = login_as(org.a_sup)  # user.view only
    assert client.get(f"/admin/users/{org.a_rep1.id}").status_code == 200
    assert 'id="edit-user"' not in html(client.get(f"/admin/users/{org.a_rep1.id}"))
    assert client.get("/admin/users/new").status_code == 403
    assert client.get(f"/admin/users/{org.a_rep1.id}/edit").status_code == 403
    assert post(client, f"/admin/users/{org.a_rep1.id}/disable").status_code == 403
    assert post(client, f"/admin/users/{org.a_rep1.id}/enable").status_code == 403
    assert client.get(f"/admin/users/{org.a_rep1.id}/reset-password").status_code == 403


# Disable, enable, reset password -----------------------------------------------------------------------
@pytest.fixture
def team_as_records(monkeypatch):
    """Stand-in for a business context: count a user's direct reports as records they own."""
    monkeypatch.setattr(ownership, "_registry", [])
    ownership.register_owned(User, "Team members", owner_column="supervisor_id")


def test_disable_with_transfer(login_as, org, team_as_records):
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_sup.id}/disable")
    page = html(resp)
    counts = page[page.index('id="owned-counts"'):]
    assert re.search(r"Team members</th><td[^>]*>2</td>", counts)
    choices = {label.split(" · ")[0] for v, label in options(resp, "transfer_to_id") if v}
    assert choices == {"A Manager", "A Rep One", "A Rep Two", "A Rep Three", "A Admin"}  # same store, not self
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable")
    assert resp.status_code == 422 and field_errors(resp) == {"transfer_to_id"}
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.a_manager.id}, follow_redirects=True)
    assert "A Supervisor was disabled; 2 records moved to A Manager." in html(resp)
    db.session.expire_all()
    assert not org.a_sup.active
    assert org.a_rep1.supervisor_id == org.a_rep2.supervisor_id == org.a_manager.id
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(resp)[html(resp).index('id="timeline"'):]))
    disabled = timeline[timeline.index("Disabled"):][:120]  # the newest entry (JSONB may reorder its fields)
    assert "Records transferred to A Manager" in disabled and "Records moved 2" in disabled


def test_disable_transfer_target_must_be_in_the_store(login_as, org, team_as_records):
    client = login_as(org.hq_admin)
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.b_rep.id})
    assert resp.status_code == 422 and "Records can only move to a user of the same store." in html(resp)
    client = login_as(org.a_admin)
    resp = post(client, f"/admin/users/{org.a_sup.id}/disable", {"transfer_to_id": org.b_rep.id})
    assert resp.status_code == 422 and field_errors(resp) == {"transfer_to_id"}
    db.session.expire_all()
    assert org.a_sup.active and org.a_rep1.supervisor_id == org.a_sup.id


def test_disable_without_records_then_enable(login_as, org):
    client = login_as(org.a_admin)
    page = html(client.get(f"/admin/users/{org.a_rep2.id}/disable"))
    assert 'id="owns-nothing"' in page
    resp = post(client, f"/admin/users/{org.a_rep2.id}/disable", {"transfer_to_id": ""}, follow_redirects=True)
    assert "A Rep Two was disabled and can no longer sign in." in html(resp)
    db.session.expire_all()
    assert not org.a_rep2.active
    # A disabled user's session ends at once.
    assert login_as(org.a_rep2).get("/").status_code == 302
    client = login_as(org.a_admin)
    resp = client.get(f"/admin/users/{org.a_rep2.id}/disable", follow_redirects=True)
    assert "A Rep Two is already disabled." in html(resp)
    resp = post(client, f"/admin/users/{org.a_rep2.id}/enable", follow_redirects=True)
    assert "A Rep Two can sign in again." in html(resp)
    assert "Enabled again" in html(resp)
    db.session.expire_all()
    assert org.a_rep2.active
    resp = post(client, f"/admin/users/{org.a_rep2.id}/enable", follow_redirects=True)
    assert "This user is already active." in html(resp)


def test_cannot_disable_oneself(login_as, org):
    client = login_as(org.a_admin)
    assert 'id="self-disable"' in html(client.get(f"/admin/users/{org.a_admin.id}/disable"))
    resp = post(client, f"/admin/users/{org.a_admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in html(resp)
    db.session.expire_all()
    assert org.a_admin.active


def test_reset_password(login_as, org):
    client = login_as(org.a_admin)
    assert client.get(f"/admin/users/{org.a_rep1.id}/reset-password").status_code == 200
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password", {"password": "short", "confirm_password": "short"})
    assert resp.status_code == 422 and field_errors(resp) == {"password"}
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password", {"password": "Fresh#2026", "confirm_password": "Fresh#2027"})
    assert resp.status_code == 422 and field_errors(resp) == {"confirm_password"}
    db.session.expire_all()
    assert verify_password(org.a_rep1.password_hash, factories.PASSWORD)
    resp = post(client, f"/admin/users/{org.a_rep1.id}/reset-password",
                {"password": "Fresh#2026", "confirm_password": "Fresh#2026"}, follow_redirects=True)
    assert "The password of A Rep One was reset" in html(resp)
    assert "Password reset by an administrator" in html(resp)
    db.session.expire_all()
    assert verify_password(org.a_rep1.password_hash, "Fresh#2026")
    # Own password: the account page, which asks for the current one.
    resp = client.get(f"/admin/users/{org.a_admin.id}/reset-password")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")


def test_csrf_is_required(login_as, org):
    client = login_as(org.a_admin)
    csrf(client, "/")
    resp = client.post(f"/admin/users/{org.a_rep1.id}/enable")
    assert resp.status_code == 400
