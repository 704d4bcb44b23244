"""Org unit admin pages: tree, create, detail + history, edit, move with preview, (de)activate; scope
isolation (another store's units answer 404 and never show up) and the permission matrix."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.org.models import OrgUnit
from tests import factories
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import options
from tests.conftest import post


@pytest.fixture(autouse=True)
def _saved(org):
    # A request that answers 4xx rolls the session back; commit the fixture data (to the test's savepoint)
    # so it survives that.
    db.session.commit()


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
