"""/api/v1 of invoices: request on an order or a quote, read, list with filters, the file, void; issuing,
rejecting and mailing through the tasks API (the file uploaded to the task first); scope."""

from __future__ import annotations

import io

import pytest

from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import grant
from tests.finance.invoices.conftest import PDF
from tests.finance.invoices.conftest import issue
from tests.finance.invoices.conftest import request_invoice
from tests.sales.conftest import approved_quote


@pytest.fixture
def api(org, roles, staff):
    for role in ("salesperson", "store_manager", "finance", "logistics"):
        grant(roles[role], "api.use")
    db.session.commit()
    return org


def _task(call, user, bpmn_id):
    [task] = [t for t in call("GET", "/api/v1/tasks?view=group", user).get_json()["items"] if t["bpmn_id"] == bpmn_id]
    return task


def test_request_issue_mail_and_read_through_the_api(call, api, waiting, staff):
    resp = call("POST", f"/api/v1/orders/{waiting.id}/invoices", api.a_rep1, json={
        "type": "paper", "title": "宁波港物流有限公司", "taxpayer_no": "91330200MA2ABCDEF1", "amount": "950",
        "mailing_address": "宁波市北仑区 1 号", "note": "请尽快"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "requested" and body["amount"] == "950.00" and body["order_id"] == waiting.id
    assert body["file"] is None and body["requested_by_id"] == api.a_rep1.id

    task = _task(call, staff["finance"], "ir_issue")
    upload = call("POST", f"/api/v1/tasks/{task['id']}/attachments", staff["finance"],
                  data={"file": (io.BytesIO(PDF), "fp.pdf"), "field": "invoice_file"}, content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    bad = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"],
               json={"data": {"issue": {"decision": "issue", "invoice_no": "", "amount": "1000"}}})
    assert_problem(bad, 422, "issue.invoice_no", "issue.issued_on", "invoice_file")
    over = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"], json={"data": {
        "issue": {"decision": "issue", "invoice_no": "NO-1", "issued_on": "2026-12-01", "amount": "950.01"},
        "invoice_file": upload.get_json()["id"]}})
    assert assert_problem(over, 422, "issue.amount")["errors"]["issue.amount"] == [
        "At most ¥950.00 can still be invoiced."]
    ok = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"], json={"data": {
        "issue": {"decision": "issue", "invoice_no": "NO-1", "issued_on": "2026-12-01", "amount": "950.00"},
        "invoice_file": upload.get_json()["id"]}})
    assert ok.status_code == 200, ok.get_json()
    read = call("GET", f"/api/v1/invoices/{body['id']}", api.a_rep1).get_json()
    assert read["status"] == "issued" and read["invoice_no"] == "NO-1" and read["issued_on"] == "2026-12-01"
    assert read["file"]["content_type"] == "application/pdf"
    assert call("GET", read["file"]["url"], api.a_rep1).get_data() == PDF

    mailing = _task(call, staff["logistics"], "ir_mail")
    done = call("POST", f"/api/v1/tasks/{mailing['id']}/complete", staff["logistics"],
                json={"data": {"mailing": {"carrier": "顺丰速运", "tracking_no": "SF1"}}})
    assert done.status_code == 200, done.get_json()
    read = call("GET", f"/api/v1/invoices/{body['id']}", api.a_rep1).get_json()
    assert read["status"] == "mailed" and read["tracking_no"] == "SF1" and read["mailed_by_id"] == staff["logistics"].id


def test_reject_through_the_tasks_api(call, api, waiting, staff):
    invoice = request_invoice(waiting, api.a_rep1)
    task = _task(call, staff["finance"], "ir_issue")
    assert_problem(call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"],
                        json={"data": {"issue": {"decision": "reject"}}}), 422, "issue.reason")
    ok = call("POST", f"/api/v1/tasks/{task['id']}/complete", staff["finance"],
              json={"data": {"issue": {"decision": "reject", "reason": "税号不对"}}})
    assert ok.status_code == 200
    read = call("GET", f"/api/v1/invoices/{invoice.id}", api.a_rep1).get_json()
    assert read["status"] == "rejected" and read["reject_reason"] == "税号不对"


def test_input_errors_are_per_field_and_over_invoicing_is_refused(call, api, waiting):
    body = assert_problem(call("POST", f"/api/v1/orders/{waiting.id}/invoices", api.a_rep1, json={
        "type": "cheque", "title": "", "amount": "1.234", "taxpayer_no": "12"}), 422, "type", "title", "amount",
        "taxpayer_no")
    assert body["errors"]["amount"] == ["Use at most 2 decimal places."]
    assert_problem(call("POST", f"/api/v1/orders/{waiting.id}/invoices", api.a_rep1, json={
        "type": "electronic", "title": "x", "amount": "10"}), 422, "email")
    over = call("POST", f"/api/v1/orders/{waiting.id}/invoices", api.a_rep1, json={
        "type": "electronic", "title": "x", "amount": "951", "email": "a@example.com"})
    assert assert_problem(over, 422, "amount")["errors"]["amount"] == ["At most ¥950.00 can still be invoiced."]


def test_a_quote_is_invoiced_through_the_api(call, api, products, customers):
    quote = approved_quote(api, products, customers)
    resp = call("POST", f"/api/v1/quotes/{quote.id}/invoices", api.a_rep1, json={
        "type": "vat_general", "title": "x", "amount": "100", "email": "a@example.com"})
    assert resp.status_code == 201 and resp.get_json()["quote_id"] == quote.id and resp.get_json()["order_id"] is None
    listed = call("GET", f"/api/v1/invoices?quote_id={quote.id}", api.a_rep1).get_json()["items"]
    assert [i["id"] for i in listed] == [resp.get_json()["id"]]


def test_the_list_filters_and_pages_and_void_frees_the_amount(call, api, waiting, staff):
    invoices = [request_invoice(waiting, api.a_rep1, "100.00") for _ in range(3)]
    issued = issue(invoices[0], staff["finance"], number="NO-9")
    page = call("GET", "/api/v1/invoices?limit=2", staff["finance"]).get_json()
    assert [i["id"] for i in page["items"]] == [invoices[2].id, invoices[1].id] and page["next_cursor"]
    rest = call("GET", f"/api/v1/invoices?limit=2&cursor={page['next_cursor']}", staff["finance"]).get_json()
    assert [i["id"] for i in rest["items"]] == [invoices[0].id]
    assert [i["id"] for i in call("GET", "/api/v1/invoices?status=issued", staff["finance"]).get_json()["items"]] == [
        issued.id]
    assert [i["id"] for i in call("GET", "/api/v1/invoices?q=NO-9", api.a_rep1).get_json()["items"]] == [issued.id]
    assert_problem(call("GET", "/api/v1/invoices?status=lost", staff["finance"]), 422, "status")
    assert call("GET", "/api/v1/invoices", staff["warehouse"]).status_code in (401, 403)

    assert call("POST", f"/api/v1/invoices/{issued.id}/void", api.a_rep1, json={"reason": "x"}).status_code == 403
    assert_problem(call("POST", f"/api/v1/invoices/{issued.id}/void", staff["finance"], json={}), 422, "reason")
    assert_problem(call("POST", f"/api/v1/invoices/{invoices[1].id}/void", staff["finance"], json={"reason": "x"}), 409)
    voided = call("POST", f"/api/v1/invoices/{issued.id}/void", staff["finance"], json={"reason": "红冲"})
    assert voided.status_code == 200 and voided.get_json()["status"] == "voided"
    again = call("POST", f"/api/v1/orders/{waiting.id}/invoices", api.a_rep1, json={
        "type": "electronic", "title": "x", "amount": "750", "email": "a@example.com"})
    assert again.status_code == 201


def test_another_store_gets_404(call, api, roles, waiting, staff):
    from tests.factories import UserFactory

    b_finance = UserFactory(name="B Finance", unit=api.units["store_b"], roles=[roles["finance"]])
    db.session.commit()
    invoice = issue(request_invoice(waiting, api.a_rep1), staff["finance"])
    assert_problem(call("POST", f"/api/v1/orders/{waiting.id}/invoices", b_finance, json={
        "type": "electronic", "title": "x", "amount": "1", "email": "a@example.com"}), 404)
    assert_problem(call("GET", f"/api/v1/invoices/{invoice.id}", b_finance), 404)
    assert_problem(call("GET", f"/api/v1/invoices/{invoice.id}/file", b_finance), 404)
    assert_problem(call("POST", f"/api/v1/invoices/{invoice.id}/void", b_finance, json={"reason": "x"}), 404)
    assert call("GET", "/api/v1/invoices", b_finance).get_json()["items"] == []
