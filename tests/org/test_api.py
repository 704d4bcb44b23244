"""/api/v1/org-units: reading and changing the org tree, within the caller's scope."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.org.models import OrgUnit
from tests.conftest import assert_problem

UNITS = "/api/v1/org-units"


def _ids(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {item["id"] for item in resp.get_json()["items"]}


def test_hq_sees_every_unit(call, api_org):
    body = call("GET", UNITS, api_org.hq_manager).get_json()
    assert {u["id"] for u in body["items"]} == {u.id for u in api_org.units.values()}
    assert body["next_cursor"] is None
    store_a = next(u for u in body["items"] if u["id"] == api_org.store_a.id)
    assert store_a["kind"] == "store" and store_a["platform"] == "tmall" and store_a["store_id"] == api_org.store_a.id
    assert store_a["parent_id"] == api_org.east.id and store_a["path"].endswith(f"/{api_org.store_a.id}/")


def test_store_user_sees_only_their_store(call, api_org):
    seen = _ids(call("GET", UNITS, api_org.a_manager))
    assert seen == {api_org.store_a.id, api_org.a_sales.id, api_org.a_sales_sub.id}


def test_filters(call, api_org):
    o = api_org
    assert _ids(call("GET", f"{UNITS}?kind=store", o.hq_manager)) == {o.store_a.id, o.store_b.id, o.store_c.id}
    assert _ids(call("GET", f"{UNITS}?parent_id={o.east.id}", o.hq_manager)) == {o.store_a.id, o.store_b.id}
    assert _ids(call("GET", f"{UNITS}?active=false", o.hq_manager)) == set()
    # a filter never widens the scope
    assert _ids(call("GET", f"{UNITS}?parent_id={o.east.id}", o.a_manager)) == {o.store_a.id}


def test_bad_filters_name_the_field(call, api_org):
    body = assert_problem(call("GET", f"{UNITS}?kind=castle&limit=0&parent_id=x", api_org.hq_manager), 422,
                          "kind", "limit", "parent_id")
    assert body["errors"]["limit"] == ["Use a number from 1 to 200."]
    assert_problem(call("GET", f"{UNITS}?cursor=%%%", api_org.hq_manager), 422, "cursor")


def test_get_one(call, api_org):
    resp = call("GET", f"{UNITS}/{api_org.a_sales.id}", api_org.a_manager)
    assert resp.status_code == 200
    assert resp.get_json()["name"] == "A Sales"


def test_other_stores_units_answer_404_like_missing_ones(call, api_org):
    o = api_org
    missing = assert_problem(call("GET", f"{UNITS}/999999", o.a_admin), 404)
    for unit in (o.store_b, o.b_sales, o.store_c, o.east, o.hq):
        hidden = assert_problem(call("GET", f"{UNITS}/{unit.id}", o.a_admin), 404)
        assert hidden == missing
        assert_problem(call("PATCH", f"{UNITS}/{unit.id}", o.a_admin, json={"name": "Mine"}), 404)
        assert_problem(call("POST", f"{UNITS}/{unit.id}/deactivate", o.a_admin), 404)
        assert_problem(call("POST", f"{UNITS}/{unit.id}/activate", o.a_admin), 404)
        assert_problem(call("POST", f"{UNITS}/{unit.id}/move", o.a_admin, json={"parent_id": o.store_a.id}), 404)
    assert db.session.get(OrgUnit, o.store_b.id).name == "Store B"


def test_create_department(call, api_org):
    o = api_org
    resp = call("POST", UNITS, o.a_admin, json={"kind": "department", "name": "A Service", "code": "A-SVC",
                                                 "parent_id": o.store_a.id})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["store_id"] == o.store_a.id and body["parent_id"] == o.store_a.id and body["active"] is True
    unit = db.session.get(OrgUnit, body["id"])
    assert unit.name == "A Service" and unit.path == f"{o.store_a.path}{unit.id}/"


def test_create_store(call, api_org):
    resp = call("POST", UNITS, api_org.hq_admin, json={
        "kind": "store", "name": "Store D", "parent_id": api_org.south.id, "platform": "douyin", "shop_name": "D shop",
    })
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["platform"] == "douyin"


def test_create_under_an_invisible_parent_is_a_field_error(call, api_org):
    before = db.session.scalar(select(func.count()).select_from(OrgUnit))
    for parent in (api_org.store_b.id, 999999):
        body = assert_problem(call("POST", UNITS, api_org.a_admin, json={
            "kind": "department", "name": "Sneaky", "parent_id": parent}), 422, "parent_id")
        assert body["errors"]["parent_id"] == ["Choose the parent unit."]
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == before


def test_create_validation_names_the_fields_and_writes_nothing(call, api_org):
    before = db.session.scalar(select(func.count()).select_from(OrgUnit))
    assert_problem(call("POST", UNITS, api_org.hq_admin, json={"kind": "store", "name": "", "parent_id": api_org.east.id}),
                   422, "name", "platform", "shop_name")
    assert_problem(call("POST", UNITS, api_org.hq_admin, json={"kind": "store", "name": "X", "parent_id": api_org.a_sales.id,
                                                               "platform": "jd", "shop_name": "x", "code": "U0001"}),
                   422, "parent_id")
    assert_problem(call("POST", UNITS, api_org.hq_admin, json={"kind": 3, "name": ["x"], "bogus": 1}), 422, "kind", "name", "bogus")
    assert_problem(call("POST", UNITS, api_org.hq_admin, json=[1, 2]), 422)
    assert_problem(call("POST", UNITS, api_org.hq_admin, data="{not json", content_type="application/json"), 400)
    assert db.session.scalar(select(func.count()).select_from(OrgUnit)) == before


def test_duplicate_code_is_a_field_error(call, api_org):
    assert_problem(call("POST", UNITS, api_org.hq_admin, json={
        "kind": "department", "name": "Dup", "parent_id": api_org.hq.id, "code": api_org.store_b.code}), 422, "code")


def test_patch_changes_only_the_fields_sent(call, api_org):
    o = api_org
    resp = call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_admin, json={"shop_name": "A flagship"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["shop_name"] == "A flagship" and body["name"] == "Store A" and body["platform"] == "tmall"
    resp = call("PATCH", f"{UNITS}/{o.a_sales.id}", o.a_admin, json={"name": "A Sales East", "head_id": o.a_sup.id})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert db.session.get(OrgUnit, o.a_sales.id).head_id == o.a_sup.id


def test_patch_validation(call, api_org):
    o = api_org
    assert_problem(call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_admin, json={"name": " ", "platform": "mars"}),
                   422, "name", "platform")
    # a head from another store is refused like a missing user
    body = assert_problem(call("PATCH", f"{UNITS}/{o.a_sales.id}", o.a_admin, json={"head_id": o.b_rep.id}), 422, "head_id")
    assert body["errors"]["head_id"] == ["Choose an active user."]
    assert db.session.get(OrgUnit, o.store_a.id).name == "Store A"


def test_move(call, api_org):
    o = api_org
    # out of the caller's scope: a field error, nothing moves
    body = assert_problem(call("POST", f"{UNITS}/{o.a_sales.id}/move", o.a_admin, json={"parent_id": o.store_b.id}),
                          422, "parent_id")
    assert body["errors"]["parent_id"] == ["Choose the parent unit."]
    # under its own sub-unit: refused by the service
    assert_problem(call("POST", f"{UNITS}/{o.a_sales.id}/move", o.a_admin, json={"parent_id": o.a_sales_sub.id}),
                   422, "parent_id")
    assert_problem(call("POST", f"{UNITS}/{o.a_sales.id}/move", o.a_admin, json={}), 422, "parent_id")
    assert db.session.get(OrgUnit, o.a_sales.id).parent_id == o.store_a.id

    resp = call("POST", f"{UNITS}/{o.a_sales_sub.id}/move", o.a_admin, json={"parent_id": o.store_a.id})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["parent_id"] == o.store_a.id
    assert resp.get_json()["path"] == f"{o.store_a.path}{o.a_sales_sub.id}/"


def test_deactivate_and_activate(call, api_org):
    o = api_org
    resp = call("POST", UNITS, o.hq_admin, json={"kind": "department", "name": "Empty", "parent_id": o.hq.id})
    unit_id = resp.get_json()["id"]
    resp = call("POST", f"{UNITS}/{unit_id}/deactivate", o.hq_admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert _ids(call("GET", f"{UNITS}?active=false", o.hq_admin)) == {unit_id}
    resp = call("POST", f"{UNITS}/{unit_id}/activate", o.hq_admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is True


def test_deactivate_refused_by_the_service(call, api_org):
    body = assert_problem(call("POST", f"{UNITS}/{api_org.store_a.id}/deactivate", api_org.hq_admin), 422)
    assert "sub-units" in body["detail"]
    assert db.session.get(OrgUnit, api_org.store_a.id).active is True


def test_writes_are_in_the_operation_log_with_the_token_user(call, api_org):
    from crm.core.audit import OperationLog

    call("PATCH", f"{UNITS}/{api_org.store_a.id}", api_org.a_admin, json={"shop_name": "Logged"})
    entry = db.session.scalars(
        select(OperationLog).where(OperationLog.object_type == "org_unit", OperationLog.object_id == api_org.store_a.id)
        .order_by(OperationLog.id.desc())
    ).first()
    assert entry is not None and entry.actor_id == api_org.a_admin.id
    assert "shop_name" in entry.changes


def test_pagination_walks_every_unit_once(call, api_org):
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        url = f"{UNITS}?limit=4" + (f"&cursor={cursor}" if cursor else "")
        body = call("GET", url, api_org.hq_manager).get_json()
        assert len(body["items"]) <= 4
        seen += [u["id"] for u in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(api_org.units)


def test_a_stores_quote_letterhead_terms_and_seal_are_read_and_written_like_on_its_page(call, api_org):
    o = api_org
    body = call("GET", f"{UNITS}/{o.store_a.id}", o.a_admin).get_json()
    assert body["quote_letterhead"] is None and body["quote_terms"] is None and body["quote_seal"] is True
    resp = call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_admin, json={
        "quote_letterhead": "宁波市北仑区 88 号\n电话 0574-8888 8888", "quote_terms": "款到发货", "quote_seal": False})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["quote_letterhead"].startswith("宁波市") and body["quote_terms"] == "款到发货"
    assert body["quote_seal"] is False and body["shop_name"] == o.store_a.shop_name  # the rest as it was
    store = db.session.get(OrgUnit, o.store_a.id)
    assert store.quote_seal is False and store.quote_terms == "款到发货"
    # Only the fields sent change; null clears a text.
    body = call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_admin, json={"quote_terms": None}).get_json()
    assert body["quote_terms"] is None and body["quote_letterhead"].startswith("宁波市") and body["quote_seal"] is False
    # Validation names the field: too long, not a yes/no, and only a store prints quotes.
    assert_problem(call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_admin,
                        json={"quote_terms": "x" * 2001, "quote_seal": "maybe"}), 422, "quote_terms", "quote_seal")
    body = assert_problem(call("PATCH", f"{UNITS}/{o.a_sales.id}", o.a_admin, json={"quote_letterhead": "No"}),
                          422, "quote_letterhead")
    assert body["errors"]["quote_letterhead"] == ["Only a store prints quotes: leave this empty for other units."]
    # Writing needs org.manage, as the page does; another store's unit is 404.
    assert_problem(call("PATCH", f"{UNITS}/{o.store_a.id}", o.a_rep1, json={"quote_seal": True}), 403)
    assert_problem(call("PATCH", f"{UNITS}/{o.store_b.id}", o.a_admin, json={"quote_seal": True}), 404)
    assert db.session.get(OrgUnit, o.store_a.id).quote_seal is False
