"""/api/v1 of after-sales: open a case, the decision in the approval queue's API, each step as the acting
user's inbox task through the tasks API, list with the filters, read; the refusals and the scope. And the
re-issued invoice: voided with the case's reason and requested again, less the refund."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.extensions import db
from crm.finance.invoices.models import Invoice
from crm.finance.invoices.models import InvoiceStatus
from tests.aftersales.conftest import REFUND
from tests.aftersales.conftest import RETURN
from tests.aftersales.conftest import inspection
from tests.aftersales.conftest import open_case
from tests.aftersales.conftest import step
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.finance.invoices.conftest import issue
from tests.finance.invoices.conftest import request_invoice


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "supervisor", "finance", "warehouse"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _complete(call, user, bpmn_id, data):
    tasks = call("GET", "/api/v1/tasks", user).get_json()["items"]  # assigned or claimable
    [task] = [t for t in tasks if t["bpmn_id"] == bpmn_id]
    resp = call("POST", f"/api/v1/tasks/{task['id']}/complete", user, json={"data": data})
    assert resp.status_code == 200, resp.get_json()
    return resp


def test_open_decide_and_every_step_through_the_api(call, api, delivered, staff, after_sales_chain):
    line = delivered.lines[0].id
    resp = call("POST", f"/api/v1/orders/{delivered.id}/after-sales", api.a_rep1,
                json={"type": "return_refund", "reason": "Cracked", "amount": "190",
                      "lines": [{"order_line_id": line, "quantity": 2}]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "pending_approval" and body["amount"] == "190.00" and body["lines"][0]["quantity"] == 2
    assert call("GET", f"/api/v1/orders/{delivered.id}", api.a_rep1).get_json()["after_sales_open"] == 1
    [item] = call("GET", "/api/v1/approvals/pending", api.a_sup).get_json()["items"]
    assert item["request"]["object_type"] == "after_sales"
    decided = call("POST", f"/api/v1/approvals/tasks/{item['task_id']}/decide", api.a_sup,
                   json={"approved": True, "comment": "ok"})
    assert decided.status_code == 200, decided.get_json()
    _complete(call, api.a_rep1, "as_return", RETURN)
    bad = call("GET", "/api/v1/tasks?view=group", staff["warehouse"]).get_json()["items"]
    [inspect] = [t for t in bad if t["bpmn_id"] == "as_inspect"]
    assert_problem(call("POST", f"/api/v1/tasks/{inspect['id']}/complete", staff["warehouse"],
                        json={"data": {"inspection": {"lines": [{"accepted": 3}]}}}), 422, "inspection.lines.0.accepted")
    _complete(call, staff["warehouse"], "as_inspect", inspection(2))
    _complete(call, staff["finance"], "as_refund", REFUND)
    read = call("GET", f"/api/v1/after-sales/{body['id']}", api.a_rep1).get_json()
    assert read["status"] == "completed" and read["refunded_amount"] == "190.00" and read["refund_payment_id"]
    assert call("GET", f"/api/v1/orders/{delivered.id}", api.a_rep1).get_json()["after_sales_open"] == 0
    assert read["lines"][0]["accepted_quantity"] == 2 and read["return_tracking_no"] == "SF-RET-1"
    listed = call("GET", f"/api/v1/after-sales?type=return_refund&status=completed&order_number={delivered.number}",
                  staff["finance"]).get_json()
    assert [c["id"] for c in listed["items"]] == [body["id"]] and "next_cursor" in listed
    assert call("GET", "/api/v1/after-sales?amount_min=200", staff["finance"]).get_json()["items"] == []


def test_bad_input_names_every_field(call, api, delivered):
    resp = call("POST", f"/api/v1/orders/{delivered.id}/after-sales", api.a_rep1,
                json={"type": "gift", "reason": "", "amount": "-1", "lines": [{"order_line_id": "x", "quantity": 0}]})
    assert_problem(resp, 422, "type", "reason", "amount", "lines.0.order_line_id", "lines.0.quantity")
    over = call("POST", f"/api/v1/orders/{delivered.id}/after-sales", api.a_rep1,
                json={"type": "return_refund", "reason": "r", "amount": "1",
                      "lines": [{"order_line_id": delivered.lines[0].id, "quantity": 11}]})
    assert_problem(over, 422, "lines.0.quantity")
    assert_problem(call("GET", "/api/v1/after-sales?status=nope", api.a_rep1), 422)


def test_another_store_is_404_and_the_permission_is_needed(call, api, delivered, org, staff):
    case = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="10")
    assert_problem(call("GET", f"/api/v1/after-sales/{case.id}", org.b_rep), 404)
    assert_problem(call("POST", f"/api/v1/orders/{delivered.id}/after-sales", org.b_rep,
                        json={"type": "refund_only", "reason": "r", "amount": "1"}), 404)
    assert_problem(call("POST", f"/api/v1/orders/{delivered.id}/after-sales", staff["warehouse"],
                        json={"type": "refund_only", "reason": "r", "amount": "1"}), 403)
    assert call("GET", "/api/v1/after-sales", org.b_rep).get_json()["items"] == []


def test_the_invoice_is_voided_and_requested_again_less_the_refund(delivered, org, staff, uploads):
    invoice = issue(request_invoice(delivered, org.a_rep1), staff["finance"])
    assert invoice.status == InvoiceStatus.ISSUED
    case = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="150.00", invoice_reissue=True)
    step(case, "as_refund", staff["finance"], REFUND)
    step(case, "as_invoice", staff["finance"], {"invoice": {}})
    db.session.refresh(invoice)
    assert case.status.value == "completed" and invoice.status == InvoiceStatus.VOIDED
    assert case.number in invoice.void_reason
    new = db.session.query(Invoice).filter(Invoice.order_id == delivered.id, Invoice.id != invoice.id).one()
    assert new.status == InvoiceStatus.REQUESTED and new.amount == Decimal("800.00") and new.title == invoice.title
    assert "¥800.00" in case.invoice_note
