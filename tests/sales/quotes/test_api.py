"""/api/v1/quotes: create, submit, revise, PDF, price history; scope and field errors."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from tests.approvals.conftest import decide
from tests.conftest import assert_problem

pytestmark = pytest.mark.usefixtures("quote_process")
BASE = "/api/v1/quotes"


@pytest.fixture
def api(org):
    from crm.extensions import db
    from tests.conftest import grant
    grant(org.roles["salesperson"], "api.use")
    grant(org.roles["store_manager"], "api.use")
    db.session.commit()
    return org


def test_create_submit_reject_revise_resubmit_and_pdf(call: Any, api, products, customers) -> None:
    o = api
    body = {"customer_id": customers["a"].id, "lines": [{"product_id": products["p100"].id, "quantity": 5,
                                                          "unit_price": "89.99"}]}
    resp = call("POST", BASE, o.a_rep1, json=body)
    assert resp.status_code == 201, resp.get_json()
    quote = resp.get_json()
    assert quote["status"] == "draft" and quote["total"] == "449.95" and quote["lines"][0]["discount_rate"] == "0.899900"
    assert "margin" not in quote["lines"][0]
    submitted = call("POST", f"{BASE}/{quote['id']}/submit", o.a_rep1).get_json()
    assert submitted["status"] == "pending_approval"
    decide(runtime.instances_of("quote", quote["id"])[-1], o.a_sup, approved=False, comment="too low")
    rejected = call("GET", f"{BASE}/{quote['id']}", o.a_rep1).get_json()
    assert rejected["status"] == "rejected" and rejected["decision_comment"] == "too low"
    v2 = call("POST", f"{BASE}/{quote['id']}/revise", o.a_rep1)
    assert v2.status_code == 201 and v2.get_json()["version"] == 2
    v2 = v2.get_json()
    patched = call("PATCH", f"{BASE}/{v2['id']}", o.a_rep1, json={
        "lock_version": v2["lock_version"], "lines": [{"product_id": products["p100"].id, "quantity": 5,
                                                       "unit_price": 90}]})
    assert patched.status_code == 200, patched.get_json()
    assert call("POST", f"{BASE}/{v2['id']}/submit", o.a_rep1).get_json()["status"] == "approved"
    pdf = call("GET", f"{BASE}/{v2['id']}/pdf", o.a_rep1)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert call("GET", f"{BASE}/{v2['id']}", o.a_manager).get_json()["lines"][0]["margin"] == "0.3333"

    from crm.sales.quotes.models import Quote
    from tests.sales.conftest import sell

    sell(o.a_rep1, db.session.get(Quote, v2["id"]))  # signed: its price is now the store's history
    third = call("POST", BASE, o.a_rep1, json=body).get_json()
    history = call("GET", f"{BASE}/{third['id']}/price-history", o.a_rep1).get_json()["items"]
    assert [p["unit_price"] for p in history[0]["store"]] == ["90.00"]


def test_errors_and_scope(call: Any, api, products, customers) -> None:
    o = api
    bad = call("POST", BASE, o.a_rep1, json={"customer_id": customers["b"].id, "valid_until": "soon",
                                             "lines": [{"product_id": products["off"].id, "quantity": -1,
                                                        "unit_price": "abc"}]})
    assert_problem(bad, 422, "customer_id", "valid_until", "lines.0.product_id", "lines.0.quantity",
                   "lines.0.unit_price")
    quote = call("POST", BASE, o.a_rep1, json={"customer_id": customers["a"].id, "lines": [
        {"product_id": products["p100"].id, "quantity": 1, "unit_price": "99"}]}).get_json()
    for method, url in (("GET", f"{BASE}/{quote['id']}"), ("POST", f"{BASE}/{quote['id']}/submit"),
                        ("GET", f"{BASE}/{quote['id']}/pdf"), ("GET", f"{BASE}/{quote['id']}/price-history")):
        assert call(method, url, o.b_rep).status_code == 404, url
    assert call("GET", BASE, o.b_rep).get_json()["items"] == []
    stale = call("PATCH", f"{BASE}/{quote['id']}", o.a_rep1, json={"lock_version": 99, "lines": []})
    assert_problem(stale, 409)
    assert call("POST", f"{BASE}/{quote['id']}/revise", o.a_rep1).status_code == 409
