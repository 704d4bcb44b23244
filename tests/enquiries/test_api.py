"""/api/v1/enquiries: read (statistics, keyset lists), write (platform rows, own rows, import,
screenshots), export, and the scopes."""

from __future__ import annotations

import io

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.enquiries.conftest import PNG

WINDOW = "window=custom&date_from=2026-03-02&date_to=2026-03-03"


def test_statistics_with_the_previous_window(api_org, figures, call):
    resp = call("GET", f"/api/v1/enquiries/statistics?{WINDOW}", api_org.a_manager)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["previous_window"] == {"first": "2026-02-28", "last": "2026-03-01"}
    rates = {r["key"]: r for r in body["rates"]}
    assert rates["phone_conversion"]["current"] == {"numerator": 6, "denominator": 10, "value": "0.6000"}
    assert rates["conversion"]["previous"]["value"] == "0.2000"
    assert body["totals"]["enquiries"] == 30
    mine = call("GET", f"/api/v1/enquiries/statistics?{WINDOW}", api_org.a_rep1).get_json()
    assert {r["current"]["value"] for r in mine["rates"]} == {None}


def test_keyset_lists_in_scope(api_org, figures, call):
    resp = call("GET", f"/api/v1/enquiries/platform?{WINDOW}&limit=1", api_org.a_manager)
    first = resp.get_json()
    assert [i["day"] for i in first["items"]] == ["2026-03-03"] and first["next_cursor"]
    second = call("GET", f"/api/v1/enquiries/platform?{WINDOW}&limit=1&cursor={first['next_cursor']}",
                  api_org.a_manager).get_json()
    assert [i["day"] for i in second["items"]] == ["2026-03-02"] and second["next_cursor"] is None
    stores = call("GET", f"/api/v1/enquiries/platform?{WINDOW}&store_id={api_org.store_b.id}", api_org.a_manager)
    assert stores.get_json()["items"] == []
    people = call("GET", f"/api/v1/enquiries/salespeople?{WINDOW}", api_org.a_rep1).get_json()["items"]
    assert {p["user_id"] for p in people} == {api_org.a_rep1.id}


def test_writes(api_org, clock, call):
    resp = call("POST", "/api/v1/enquiries/platform", api_org.a_manager, json={"rows": [
        {"store_id": api_org.store_a.id, "day": "2026-03-02", "enquiries": 9, "new_enquiries": 3}]})
    assert resp.status_code == 200 and resp.get_json()[0]["enquiries"] == 9
    resp = call("POST", "/api/v1/enquiries/platform", api_org.a_manager, json={"rows": [
        {"store_id": api_org.store_b.id, "day": "2026-03-02", "enquiries": 1, "new_enquiries": 3}]})
    assert_problem(resp, 422, "rows.0.store_id", "rows.0.new_enquiries")
    resp = call("POST", "/api/v1/enquiries/salespeople", api_org.a_rep1, json={"rows": [
        {"day": "2026-03-03", "wechat_adds": 2, "contacts": 3}]})
    assert resp.status_code == 200 and resp.get_json()[0]["user_id"] == api_org.a_rep1.id
    resp = call("POST", "/api/v1/enquiries/salespeople", api_org.a_rep1, json={"rows": [
        {"day": "2026-03-03", "wechat_adds": 2, "contacts": 3, "user_id": api_org.a_rep2.id}]})
    assert_problem(resp, 422, "rows.0.user_id")
    assert_problem(call("POST", "/api/v1/enquiries/platform", api_org.a_rep1, json={"rows": []}), 403)


def test_import_and_export(api_org, clock, call):
    body = f"店铺,日期,询盘数,新询盘\n{api_org.store_a.code},2026-03-02,9,3\n{api_org.store_a.code},bad,1,1\n"
    resp = call("POST", "/api/v1/enquiries/platform/imports", api_org.a_manager,
                data={"file": (io.BytesIO(body.encode()), "f.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    result = resp.get_json()
    assert result["created"] == 1 and [e["row"] for e in result["errors"]] == [3]
    resp = call("GET", "/api/v1/enquiries/platform/export?window=custom&date_from=2026-03-01&format=xlsx",
                api_org.a_manager)
    assert resp.status_code == 200 and resp.data.startswith(b"PK")
    resp = call("GET", "/api/v1/enquiries/salespeople/export?format=csv", api_org.a_manager)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"


def test_screenshots(api_org, clock, call, uploads):
    resp = call("POST", "/api/v1/enquiries/screenshots", api_org.a_rep1,
                data={"file": (io.BytesIO(b"not an image"), "x.pdf"), "day": "2026-03-03"},
                content_type="multipart/form-data")
    assert_problem(resp, 422, "screenshots")
    resp = call("POST", "/api/v1/enquiries/screenshots", api_org.a_rep1,
                data={"file": (io.BytesIO(PNG), "x.png"), "day": "2026-03-03"}, content_type="multipart/form-data")
    assert resp.status_code == 201
    shot = resp.get_json()["id"]
    grant(api_org.roles["supervisor"], "api.use")
    db.session.commit()
    assert call("GET", f"/api/v1/enquiries/screenshots/{shot}", api_org.a_sup).data == PNG
    assert call("GET", f"/api/v1/enquiries/screenshots/{shot}", api_org.b_manager).status_code == 404
    people = call("GET", "/api/v1/enquiries/salespeople?window=custom&date_from=2026-03-03", api_org.a_rep1)
    assert people.get_json()["items"] == []  # screenshots without figures are no figures row
