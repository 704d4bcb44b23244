"""/api/v1 of the finance centre: the ledger with its filters and totals, a payment with its vouchers,
recording a collection with vouchers (multipart), verification through the tasks API, scope."""

from __future__ import annotations

import io
from typing import Any

import pytest

from crm.extensions import db
from crm.finance.demo import VOUCHER
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.conftest import record_collection
from tests.finance.conftest import signed_order


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "store_manager", "finance"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _record(call: Any, user: Any, order_id: int, **fields: Any) -> Any:
    files = fields.pop("files", [(io.BytesIO(VOUCHER), "slip.png")])
    return call("POST", f"/api/v1/orders/{order_id}/collections", user,
                data={"method": "wechat_pay", **fields, "vouchers": files}, content_type="multipart/form-data")


def test_record_verify_and_read_through_the_api(call, api, products, customers, staff):
    order = signed_order(api, products, customers)
    resp = _record(call, api.a_rep1, order.id, amount="950", paid_on="2026-12-01", payer="宁波港物流",
                   reference="WX-1", files=[(io.BytesIO(VOUCHER), "a.png"), (io.BytesIO(b"%PDF-1.4 x"), "b.pdf")])
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "recorded" and body["amount"] == "950.00" and body["method"] == "wechat_pay"
    assert body["paid_on"] == "2026-12-01" and [v["content_type"] for v in body["vouchers"]] == [
        "image/png", "application/pdf"]
    voucher = call("GET", body["vouchers"][0]["url"], staff["finance"])
    assert voucher.status_code == 200 and voucher.get_data() == VOUCHER

    tasks = call("GET", "/api/v1/tasks?view=group", staff["finance"]).get_json()["items"]
    [task] = [t for t in tasks if t["bpmn_id"] == "cv_verify"]
    bad = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"],
               json={"data": {"verification": {"decision": "reject"}}})
    assert_problem(bad, 422, "verification.reason")
    ok = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"],
              json={"data": {"verification": {"decision": "verify"}}})
    assert ok.status_code == 200, ok.get_json()
    read = call("GET", f"/api/v1/payments/{body['id']}", api.a_rep1).get_json()
    assert read["status"] == "verified" and read["decided_by_id"] == staff["finance"].id
    assert call("GET", f"/api/v1/orders/{order.id}", api.a_rep1).get_json()["status"] == "pending_outbound"
    assert [p["id"] for p in call("GET", f"/api/v1/orders/{order.id}/collections", api.a_rep1).get_json()["items"]] == [
        body["id"]]


def test_input_errors_are_per_field(call, api, products, customers, staff):
    order = signed_order(api, products, customers)
    body = assert_problem(_record(call, staff["finance"], order.id, amount="1.234", method="cheque",
                                  paid_on="tomorrow"), 422, "amount", "method", "paid_on")
    assert body["errors"]["amount"] == ["Use at most 2 decimal places."]
    assert_problem(_record(call, staff["finance"], order.id, amount="10", files=[]), 422, "vouchers")
    assert_problem(_record(call, staff["finance"], order.id, amount="10",
                           files=[(io.BytesIO(b"MZ\x90"), "slip.png")]), 422, "vouchers")
    assert_problem(_record(call, staff["finance"], order.id, amount="951"), 422, "amount")
    assert call("GET", "/api/v1/payments", staff["finance"]).get_json()["items"] == []


def test_the_ledger_api_filters_totals_pages_and_exports(call, api, products, customers, staff):
    order = signed_order(api, products, customers)
    payments = [record_collection(order, staff["finance"], amount) for amount in ("100.00", "200.00", "300.00")]
    page = call("GET", "/api/v1/payments?limit=2", staff["finance"]).get_json()
    assert [p["id"] for p in page["items"]] == [payments[2].id, payments[1].id] and page["next_cursor"]
    rest = call("GET", f"/api/v1/payments?limit=2&cursor={page['next_cursor']}", staff["finance"]).get_json()
    assert [p["id"] for p in rest["items"]] == [payments[0].id] and rest["next_cursor"] is None
    totals = call("GET", "/api/v1/payments/totals?amount_min=150", staff["finance"]).get_json()
    assert totals == {"count": 2, "received": "0.00", "paid_out": "0.00", "pending": "500.00", "net": "0.00"}
    assert_problem(call("GET", "/api/v1/payments?status=lost", staff["finance"]), 422, "status")
    export = call("GET", "/api/v1/payments/export?format=csv", staff["finance"])
    assert export.status_code == 200 and export.get_data(as_text=True).count("\n") == 4
    assert call("GET", "/api/v1/payments", api.a_rep1).status_code == 403  # the ledger is finance's


def test_another_store_gets_404(call, api, roles, products, customers, staff):
    from tests.factories import UserFactory

    b_finance = UserFactory(name="B Finance", unit=api.units["store_b"], roles=[roles["finance"]])
    db.session.commit()
    order = signed_order(api, products, customers)
    payment = record_collection(order, staff["finance"], "10.00")
    assert_problem(_record(call, b_finance, order.id, amount="10"), 404)
    assert_problem(call("GET", f"/api/v1/payments/{payment.id}", b_finance), 404)
    assert_problem(call("GET", f"/api/v1/payments/{payment.id}/vouchers/{payment.vouchers[0].id}", b_finance), 404)
    assert call("GET", "/api/v1/payments", b_finance).get_json()["items"] == []


def test_absent_fields_are_refused_by_name_not_taken_as_null(call, api, products, customers, staff):
    order = signed_order(api, products, customers)
    resp = call("POST", f"/api/v1/orders/{order.id}/collections", staff["finance"],
                data={"vouchers": [(io.BytesIO(VOUCHER), "slip.png")]}, content_type="multipart/form-data")
    assert_problem(resp, 422, "amount", "method")
