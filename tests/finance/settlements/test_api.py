"""/api/v1/settlements: recording a batch (multipart: fields, `lines` as JSON text, vouchers), refusals per
line, the list with its filters, one batch with its lines, verify all, and scope."""

from __future__ import annotations

import io
import json

import pytest

from crm.extensions import db
from crm.finance.demo import VOUCHER
from tests.conftest import assert_problem
from tests.conftest import grant


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "store_manager", "finance"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _post(call, user, orders, amounts, **fields):
    lines = [{"order_id": o.id, "amount": a} for o, a in zip(orders, amounts, strict=True)]
    data = {"payer": "JD", "reference": "JD-77", "amount": "600.00", "lines": json.dumps(lines),
            "vouchers": [(io.BytesIO(VOUCHER), "statement.png")], **fields}
    return call("POST", "/api/v1/settlements", user, data=data, content_type="multipart/form-data")


def test_record_list_read_and_verify_all(call, api, orders, staff):
    one, two, three = orders
    refused = _post(call, staff["finance"], orders, ["100.00", "200.00", "960.00"])
    body = assert_problem(refused, 422, "amount", "lines.2.amount")
    assert "950.00" in body["errors"]["lines.2.amount"][0]
    resp = _post(call, staff["finance"], orders, ["100.00", "200.00", "300.00"], paid_on="2026-12-01")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["method"] == "platform_settlement" and body["amount"] == "600.00" and body["line_count"] == 3
    assert [(line["order_id"], line["amount"], line["status"]) for line in body["lines"]] == [
        (one.id, "100.00", "recorded"), (two.id, "200.00", "recorded"), (three.id, "300.00", "recorded")]
    assert all(line["settlement_id"] == body["id"] and len(line["vouchers"]) == 1 for line in body["lines"])
    line_voucher = call("GET", body["lines"][0]["vouchers"][0]["url"], staff["finance2"])
    assert line_voucher.status_code == 200 and line_voucher.get_data() == VOUCHER
    assert call("GET", body["vouchers"][0]["url"], staff["finance2"]).get_data() == VOUCHER

    listing = call("GET", "/api/v1/settlements?open=true", staff["finance2"]).get_json()
    assert [s["id"] for s in listing["items"]] == [body["id"]] and listing["next_cursor"] is None
    assert listing["items"][0]["verified"] == 0
    assert call("GET", "/api/v1/settlements?q=NOPE", staff["finance2"]).get_json()["items"] == []
    assert call("GET", f"/api/v1/settlements?q={two.number}", staff["finance2"]).get_json()["items"][0]["id"] == body["id"]

    assert_problem(call("POST", f"/api/v1/settlements/{body['id']}/verify", staff["finance"]), 403)  # the recorder
    done = call("POST", f"/api/v1/settlements/{body['id']}/verify", staff["finance2"])
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["verified"] == 3 and {line["status"] for line in done.get_json()["lines"]} == {"verified"}
    assert_problem(call("POST", f"/api/v1/settlements/{body['id']}/verify", staff["finance2"]), 409)
    read = call("GET", f"/api/v1/settlements/{body['id']}", staff["finance"]).get_json()
    assert read["verified"] == read["line_count"] == 3


def test_scope_and_permissions(call, api, orders, staff, org):
    resp = _post(call, staff["finance"], orders[:1], ["600.00"])
    assert resp.status_code == 201, resp.get_json()
    settlement_id = resp.get_json()["id"]
    assert call("GET", f"/api/v1/settlements/{settlement_id}", org.b_manager).status_code in (403, 404)
    assert call("GET", f"/api/v1/settlements/{settlement_id}", org.a_rep1).status_code == 403  # no finance.view
    assert call("GET", "/api/v1/settlements", org.b_manager).get_json()["items"] == []
    assert _post(call, org.a_rep1, orders[1:2], ["600.00"], reference="X").status_code == 403
    bad = _post(call, staff["finance"], orders[1:2], ["600.00"], lines="not json", reference="Y")
    assert_problem(bad, 422, "lines")
