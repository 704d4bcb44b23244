"""/api/v1/orders: create from an approved quote, the pipeline's actions as the acting user's tasks
(/api/v1/tasks), payment, cancel, filters, export; scope and field errors."""

from __future__ import annotations

import io
from typing import Any

import pytest

from crm.extensions import db
from crm.finance.demo import VOUCHER
from tests.conftest import assert_problem
from tests.sales.conftest import approved_quote

pytestmark = pytest.mark.usefixtures("quote_process")
BASE = "/api/v1/orders"


@pytest.fixture
def api(org, roles, staff):
    from tests.conftest import grant

    for role in ("salesperson", "store_manager", "finance", "warehouse", "logistics", "hq_manager"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _my_task(call: Any, user: Any, order_id: int) -> dict[str, Any]:
    """The order's open task as `user` finds it in their API inbox."""
    listed = []
    for view in ("mine", "group"):
        listed += call("GET", f"/api/v1/tasks?view={view}&object_type=order&object_id={order_id}", user).get_json()["items"]
    assert len(listed) == 1, listed
    return listed[0]


def _complete(call: Any, user: Any, order_id: int, data: dict[str, Any]) -> None:
    task = _my_task(call, user, order_id)
    resp = call("POST", f"/api/v1/tasks/{task['id']}/complete", user, json={"data": data})
    assert resp.status_code == 200, resp.get_json()


def _collect(call: Any, user: Any, order_id: int, amount: str) -> Any:
    return call("POST", f"{BASE}/{order_id}/collections", user, data={
        "amount": amount, "method": "alipay", "vouchers": [(io.BytesIO(VOUCHER), "slip.png")]},
        content_type="multipart/form-data")


def test_full_lifecycle_through_the_api(call: Any, api, products, customers, staff) -> None:
    o = api
    quote = approved_quote(o, products, customers)
    resp = call("POST", BASE, o.a_rep1, json={"quote_id": quote.id, "payment_mode": "prepay", "terminal": "app", "ship_address": "宁波"})
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert order["status"] == "contracting" and order["total"] == "950.00" and order["terminal"] == "app"
    assert order["ship_name"] == customers["a"].name
    tasks = call("GET", f"{BASE}/{order['id']}/tasks", o.a_rep1).get_json()["items"]
    assert [t["bpmn_id"] for t in tasks] == ["op_sign"]

    _complete(call, o.a_rep1, order["id"], {"contract_no": "C-9"})
    assert call("GET", f"{BASE}/{order['id']}", o.a_rep1).get_json()["status"] == "pending_collection"
    assert call("GET", f"/api/v1/tasks?view=group&object_type=order&object_id={order['id']}",
                staff["warehouse"]).get_json()["items"] == []
    # The money comes in as a collection with its voucher, verified by another finance user.
    assert_problem(_collect(call, staff["finance"], order["id"], "951.00"), 422, "amount")
    recorded = _collect(call, staff["finance"], order["id"], "950.00")
    assert recorded.status_code == 201 and recorded.get_json()["status"] == "recorded"
    assert call("GET", f"{BASE}/{order['id']}", o.a_rep1).get_json()["status"] == "pending_collection"
    assert_problem(_collect(call, staff["finance"], order["id"], "1.00"), 422, "amount")  # all of it waits already
    [verify] = [t for t in call("GET", "/api/v1/tasks?view=group", staff["finance2"]).get_json()["items"]
                if t["bpmn_id"] == "cv_verify"]
    done = call("POST", f"/api/v1/tasks/{verify['id']}/complete", staff["finance2"],
                json={"data": {"verification": {"decision": "verify"}}})
    assert done.status_code == 200, done.get_json()
    paid = call("GET", f"{BASE}/{order['id']}", o.a_rep1).get_json()
    assert paid["status"] == "pending_outbound" and paid["paid_amount"] == "950.00"
    assert_problem(_collect(call, staff["finance"], order["id"], "1.00"), 409)  # no longer waiting for money

    warehouse_task = _my_task(call, staff["warehouse"], order["id"])
    form = call("GET", f"/api/v1/tasks/{warehouse_task['id']}", staff["warehouse"]).get_json()
    assert form["data"]["picked"][0]["ordered"] == 10
    bad = call("POST", f"/api/v1/tasks/{warehouse_task['id']}/complete", staff["warehouse"],
               json={"data": {"picked": [{"quantity": -1}]}})
    assert_problem(bad, 422, "picked.0.quantity")
    # The rows are the delivery note's: one more is refused by field (tests/sales/orders/test_views.py has the rest).
    extra = call("POST", f"/api/v1/tasks/{warehouse_task['id']}/complete", staff["warehouse"],
                 json={"data": {"picked": [{"quantity": 10}, {"quantity": 5}]}})
    assert_problem(extra, 422, "picked")
    _complete(call, staff["warehouse"], order["id"], {"picked": [{"quantity": 10}]})
    _complete(call, staff["logistics"], order["id"], {"carrier": "SF", "tracking_no": "SF100"})
    assert_problem(call("POST", f"/api/v1/tasks/{_my_task(call, o.a_rep1, order['id'])['id']}/complete", o.a_rep1,
                        json={"data": {"rating": 6}}), 422, "rating")
    _complete(call, o.a_rep1, order["id"], {"rating": 5, "rating_comment": "fast"})
    done = call("GET", f"{BASE}/{order['id']}", o.a_rep1).get_json()
    assert done["status"] == "completed" and done["tracking_no"] == "SF100" and done["rating"] == 5
    assert done["lines"][0]["picked_quantity"] == 10


def test_collection_outside_the_callers_scope_is_not_found(call: Any, api, roles, products, customers, staff) -> None:
    """A collection locks the pipeline, then reads the order in the caller's scope: store B's finance clerk
    gets 404 and nothing is recorded; store A's records it."""
    from tests.factories import UserFactory

    o = api
    b_finance = UserFactory(name="B Finance", unit=o.units["store_b"], roles=[roles["finance"]])
    db.session.commit()
    order = call("POST", BASE, o.a_rep1, json={"quote_id": approved_quote(o, products, customers).id,
                                               "payment_mode": "prepay", "ship_address": "宁波"}).get_json()
    _complete(call, o.a_rep1, order["id"], {})
    assert_problem(_collect(call, b_finance, order["id"], "950.00"), 404)
    assert_problem(_collect(call, staff["finance"], 999999, "950.00"), 404)
    unpaid = call("GET", f"{BASE}/{order['id']}", o.a_rep1).get_json()
    assert unpaid["status"] == "pending_collection" and unpaid["paid_amount"] == "0.00"
    assert call("GET", f"{BASE}/{order['id']}/collections", o.a_rep1).get_json()["items"] == []
    assert _collect(call, staff["finance"], order["id"], "950.00").status_code == 201


def test_cancel_filters_export_and_scope(call: Any, api, products, customers, staff) -> None:
    from openpyxl import load_workbook

    o = api
    first = call("POST", BASE, o.a_rep1, json={"quote_id": approved_quote(o, products, customers).id,
                                               "payment_mode": "arrears", "ship_address": "宁波"}).get_json()
    second = call("POST", BASE, o.a_rep1, json={"quote_id": approved_quote(o, products, customers).id,
                                                "payment_mode": "prepay", "terminal": "mobile", "ship_address": "宁波"}).get_json()
    _complete(call, o.a_rep1, first["id"], {})  # signed
    assert_problem(call("POST", f"{BASE}/{second['id']}/cancel", o.a_rep1, json={}), 422, "reason")
    cancelled = call("POST", f"{BASE}/{second['id']}/cancel", o.a_rep1, json={"reason": "duplicate"}).get_json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "duplicate"

    listed = call("GET", f"{BASE}?payment_mode=arrears", o.a_manager).get_json()["items"]
    assert [x["id"] for x in listed] == [first["id"]]
    assert [x["id"] for x in call("GET", f"{BASE}?terminal=mobile", o.a_manager).get_json()["items"]] == [second["id"]]
    assert [x["id"] for x in call("GET", f"{BASE}?status=cancelled", o.a_rep1).get_json()["items"]] == [second["id"]]
    assert_problem(call("GET", f"{BASE}?status=lost", o.a_rep1), 422, "status")
    assert call("GET", BASE, o.b_rep).get_json()["items"] == []
    assert_problem(call("GET", f"{BASE}/{first['id']}", o.b_rep), 404)
    assert_problem(call("POST", f"{BASE}/{first['id']}/cancel", o.b_manager, json={"reason": "x"}), 404)

    resp = call("GET", f"{BASE}/export?format=xlsx", staff["finance"])
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == first["number"]  # signed only; the cancelled one is no transaction
    assert call("GET", f"{BASE}/export", o.a_rep1).status_code == 403  # salespeople do not export


def test_direct_order_and_field_errors(call: Any, api, products, customers) -> None:
    o = api
    resp = call("POST", BASE, o.a_rep1, json={"customer_id": customers["a"].id, "payment_mode": "arrears",
                                              "lines": [{"product_id": products["p100"].id, "quantity": 1,
                                                         "unit_price": "80"}]})
    body = assert_problem(resp, 422, "lines.0.unit_price")
    assert "quote" in body["errors"]["lines.0.unit_price"][0]
    assert_problem(call("POST", BASE, o.a_rep1, json={"quote_id": 99999999}), 422, "quote_id")
    ok = call("POST", BASE, o.a_rep1, json={"customer_id": customers["a"].id, "payment_mode": "arrears",
                                            "ship_address": "北京", "lines": [{"product_id": products["p200"].id,
                                                                             "quantity": 3, "unit_price": "200"}]})
    assert ok.status_code == 201 and ok.get_json()["quote_id"] is None


def test_completion_answers_the_next_tasks_the_caller_may_see(call: Any, api, products, customers, staff) -> None:
    """The completion's `next_tasks` spares the integrator a GET, with the inbox's visibility: the
    salesperson (own data only) does not see the warehouse's task their signature opened; the warehouse
    (store scope) sees logistics' task after outbound, with its candidates."""
    o = api
    quote = approved_quote(o, products, customers)
    order = call("POST", BASE, o.a_rep1, json={"quote_id": quote.id, "payment_mode": "arrears",
                                           "ship_address": "宁波"}).get_json()
    signed = call("POST", f"/api/v1/tasks/{order['tasks'][0]['id']}/complete", o.a_rep1,
                  json={"data": {"contract_no": "C-1"}})
    assert signed.status_code == 200 and signed.get_json()["status"] == "completed"
    assert signed.get_json()["next_tasks"] == []
    outbound = _my_task(call, staff["warehouse"], order["id"])
    assert outbound["bpmn_id"] == "op_outbound"  # it exists: the salesperson just may not see it

    picked = call("POST", f"/api/v1/tasks/{outbound['id']}/complete", staff["warehouse"],
                  json={"data": {"picked": [{"quantity": 10}]}}).get_json()
    [delivery] = picked["next_tasks"]
    assert delivery["bpmn_id"] == "op_delivery" and delivery["process_key"] == "order_pipeline"
    assert delivery["id"] == _my_task(call, staff["logistics"], order["id"])["id"]
    assert staff["logistics"].id in delivery["candidate_ids"] and staff["warehouse"].id not in delivery["candidate_ids"]
    assert delivery["assignee_id"] is None

    delivered = call("POST", f"/api/v1/tasks/{delivery['id']}/complete", staff["logistics"],
                     json={"data": {"carrier": "SF", "tracking_no": "SF1"}}).get_json()
    assert [t["bpmn_id"] for t in delivered["next_tasks"]] == ["op_receipt"]
