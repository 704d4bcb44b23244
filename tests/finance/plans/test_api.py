"""/api/v1/orders/{id}/plan: read and replace an order's receivable plan; errors per field; scope."""

from __future__ import annotations

import pytest

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import collect
from tests.conftest import grant


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "finance"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def test_put_and_get_a_plan(call, api, waiting, staff):
    path = f"/api/v1/orders/{waiting.id}/plan"
    assert_problem(call("GET", path, api.a_rep1), 404)  # no plan yet
    short = assert_problem(call("PUT", path, api.a_rep1, json={"instalments": [{"amount": "900", "due_on": "2027-01-10"}]}),
                           422, "instalments")
    assert "¥50.00 short" in short["errors"]["instalments"][0]
    assert_problem(call("PUT", path, api.a_rep1, json={"instalments": [{"amount": "950", "due_on": "x"}]}),
                   422, "instalments.0.due_on")
    assert_problem(call("PUT", path, api.a_rep1, json={"instalments": "all at once"}), 422, "instalments")
    resp = call("PUT", path, api.a_rep1, json={"instalments": [
        {"amount": "450", "due_on": "2027-01-10", "method": "alipay"}, {"amount": "500.00", "due_on": "2027-02-10",
                                                                        "remind_days": 7}], "note": "Deposit first"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["total"] == "950.00" and body["amount_due"] == "950.00" and body["note"] == "Deposit first"
    assert [(i["number"], i["amount"], i["method"], i["remind_days"], i["status"]) for i in body["instalments"]] == [
        (1, "450.00", "alipay", 3, "pending"), (2, "500.00", None, 7, "pending")]
    collect(waiting, api.a_rep1, staff["finance"], "500.00")
    read = call("GET", path, staff["finance"]).get_json()
    assert [(i["collected"], i["status"]) for i in read["instalments"]] == [
        ("450.00", "collected"), ("50.00", "partly_collected")]
    assert read["status"] == "partly_collected"
    # Replacing the plan with a stale version is a conflict.
    stale = call("PUT", path, staff["finance"], json={"instalments": [{"id": i["id"], "amount": i["amount"],
                                                                        "due_on": i["due_on"]} for i in read["instalments"]],
                                                      "lock_version": read["lock_version"] - 1})
    assert_problem(stale, 409)


def test_the_plan_api_keeps_to_the_scope(call, api, waiting, roles, staff):
    from tests.factories import UserFactory

    b_finance = UserFactory(name="B Finance", unit=api.units["store_b"], roles=[roles["finance"]])
    db.session.commit()
    path = f"/api/v1/orders/{waiting.id}/plan"
    assert_problem(call("PUT", path, b_finance, json={"instalments": [{"amount": "950", "due_on": "2027-01-10"}]}), 404)
    assert_problem(call("GET", path, b_finance), 404)
    assert call("PUT", path, staff["warehouse"], json={"instalments": []}).status_code in (401, 403)


def test_a_collection_names_its_instalment_through_the_api(call, api, waiting, staff):
    import io

    from crm.finance.demo import VOUCHER
    from tests.finance.plans.conftest import save

    plan = save(waiting, api.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-10"))
    second = plan.instalments[1]

    def record(instalment_id):
        return call("POST", f"/api/v1/orders/{waiting.id}/collections", api.a_rep1, content_type="multipart/form-data",
                    data={"amount": "100", "method": "alipay", "instalment_id": instalment_id,
                          "vouchers": [(io.BytesIO(VOUCHER), "slip.png")]})

    assert_problem(record("999999"), 422, "instalment_id")
    assert_problem(record("first"), 422, "instalment_id")
    resp = record(str(second.id))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["instalment_id"] == second.id
