"""Invoice pages: the request form from the order and quote pages, finance's sections there, the inbox's
issue form with its file, the list with filters (and in Chinese), an invoice's page, its file, voiding."""

from __future__ import annotations

import io
import re

from crm.extensions import db
from crm.finance.invoices.models import Invoice
from crm.finance.invoices.models import InvoiceStatus
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import post
from tests.finance.invoices.conftest import PDF
from tests.finance.invoices.conftest import invoice_task
from tests.finance.invoices.conftest import issue
from tests.finance.invoices.conftest import request_invoice
from tests.sales.conftest import approved_quote


def test_the_salesperson_requests_from_the_order_page_and_finance_issues_in_the_inbox(waiting, staff, org, client,
                                                                                       login_as):
    login_as(org.a_rep1)
    page = html(client.get(f"/orders/{waiting.id}"))
    assert 'id="invoices"' in page and f'href="/finance/orders/{waiting.id}/invoices/new"' in page
    assert 'id="invoiceable">¥950.00' in page and "Invoice requested on the quote." not in page  # the old section
    form = html(client.get(f"/finance/orders/{waiting.id}/invoices/new"))
    assert 'value="950.00"' in form and 'value="宁波港物流"' in form  # what is left, the customer as title
    refused = post(client, f"/finance/orders/{waiting.id}/invoices/new", {
        "type": "paper", "title": "", "amount": "951", "email": "x"})
    assert refused.status_code == 422
    assert field_errors(refused) == {"title", "amount", "email", "mailing_address"}
    assert "At most ¥950.00 can still be invoiced." in html(refused)
    done = post(client, f"/finance/orders/{waiting.id}/invoices/new", {
        "type": "paper", "title": "宁波港物流有限公司", "taxpayer_no": "91330200MA2ABCDEF1", "amount": "500",
        "mailing_address": "宁波市北仑区 1 号"})
    assert done.status_code == 303
    invoice = db.session.query(Invoice).one()
    assert done.headers["Location"].endswith(f"/finance/invoices/{invoice.id}")
    detail = html(client.get(f"/finance/invoices/{invoice.id}"))
    assert 'data-status="requested"' in detail and 'id="waiting-task"' in detail and 'id="void-form"' not in detail
    assert f'id="section-invoice-{invoice.id}"' in html(client.get(f"/orders/{waiting.id}"))

    # Finance opens the task and issues it with the file, through the inbox's form.
    task = invoice_task(invoice)
    login_as(staff["finance"])
    task_page = html(client.get(f"/tasks/{task.id}"))
    assert 'name="invoice_file"' in task_page and 'name="issue.invoice_no"' in task_page
    missing = post(client, f"/tasks/{task.id}/form", {"issue.decision": "issue", "issue.invoice_no": "12345678",
                                                      "issue.issued_on": "2026-12-01", "issue.amount": "500.00"},
                   content_type="multipart/form-data")
    assert missing.status_code == 422 and "invoice_file" in field_errors(missing)
    ok = post(client, f"/tasks/{task.id}/form", {
        "issue.decision": "issue", "issue.invoice_no": "12345678", "issue.issued_on": "2026-12-01",
        "issue.amount": "500.00", "invoice_file": (io.BytesIO(PDF), "fp.pdf")}, content_type="multipart/form-data")
    assert ok.status_code == 303, html(ok)
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_no == "12345678"
    assert client.get(f"/finance/invoices/{invoice.id}/file").get_data() == PDF
    detail = html(client.get(f"/finance/invoices/{invoice.id}"))
    assert 'id="download-invoice"' in detail and 'id="void-form"' in detail
    assert invoice_task(invoice, "ir_mail").bpmn_id == "ir_mail"  # waits for its mailing now


def test_finance_voids_from_the_invoice_page(waiting, staff, org, client, login_as):
    invoice = issue(request_invoice(waiting, org.a_rep1), staff["finance"])
    login_as(org.a_rep1)
    assert post(client, f"/finance/invoices/{invoice.id}/void", {"reason": "x"}).status_code == 403
    login_as(staff["finance"])
    refused = post(client, f"/finance/invoices/{invoice.id}/void", {"reason": ""}, follow_redirects=True)
    assert "This field is required." in html(refused)
    done = post(client, f"/finance/invoices/{invoice.id}/void", {"reason": "开错了，红冲"}, follow_redirects=True)
    assert 'data-status="voided"' in html(done) and "开错了，红冲" in html(done)
    login_as(org.a_rep1)
    assert 'id="invoiceable">¥950.00' in html(client.get(f"/orders/{waiting.id}"))


def test_the_quote_page_shows_its_invoices_and_the_request_form(org, products, customers, staff, client, login_as):
    quote = approved_quote(org, products, customers)
    login_as(org.a_rep1)
    page = html(client.get(f"/quotes/{quote.id}"))
    assert 'id="finance-invoices"' in page and 'id="request-invoice"' in page and 'id="invoice-file"' in page
    assert f'action="/quotes/{quote.id}/invoice-request"' not in page
    done = post(client, f"/finance/quotes/{quote.id}/invoices/new", {
        "type": "electronic", "title": "宁波港物流", "amount": "950", "email": "fp@example.com"})
    assert done.status_code == 303
    page = html(client.get(f"/quotes/{quote.id}"))
    assert 'id="invoiceable">¥0.00' in page and 'id="request-invoice"' not in page and 'data-status="requested"' in page


def test_a_customer_supplied_file_is_attached_from_the_order_page(waiting, org, client, login_as):
    login_as(org.a_rep1)
    resp = post(client, f"/finance/orders/{waiting.id}/supplied-invoice",
                {"invoice": (io.BytesIO(b"%PDF-1.4 customer"), "客户发票.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{waiting.id}#invoices")
    page = html(client.get(f"/orders/{waiting.id}"))
    assert 'id="supplied-invoice"' in page and "客户发票.pdf" in page


def test_the_invoice_list_filters_what_the_reader_may_see(waiting, staff, org, client, login_as, products, customers):
    from tests.finance.conftest import signed_order

    other = signed_order(org, products, customers, price="90.00", quantity=5)
    issued = issue(request_invoice(waiting, org.a_rep1, "300.00", "vat_general", title="甲公司"), staff["finance"],
                   number="INV-001")
    pending = request_invoice(other, org.a_rep1, "100.00", "paper", title="乙公司")
    login_as(staff["finance"])
    page = html(client.get("/finance/invoices"))
    assert f'id="invoice-{issued.id}"' in page and f'id="invoice-{pending.id}"' in page
    assert page.index(f'id="invoice-{pending.id}"') < page.index(f'id="invoice-{issued.id}"')  # newest first

    def ids(query: str) -> set[int]:
        return {int(i) for i in re.findall(r'id="invoice-(\d+)"', html(client.get(f"/finance/invoices{query}")))}

    assert ids("?status=issued") == {issued.id}
    assert ids("?type=paper") == {pending.id}
    assert ids("?q=INV-001") == {issued.id} and ids("?q=乙公司") == {pending.id}
    assert ids(f"?q={other.number}") == {pending.id}
    assert ids("?issued_from=2026-12-01&issued_to=2026-12-01") == {issued.id}
    assert ids(f"?owner_id={org.a_rep1.id}") == {issued.id, pending.id}
    assert ids("?status=nonsense&date_from=yesterday") == {issued.id, pending.id}  # bad filters are dropped
    login_as(org.a_rep2)  # another salesperson of the store: not theirs
    assert ids("") == set()
    login_as(org.b_manager)
    assert ids("") == set()
    assert client.get(f"/finance/invoices/{issued.id}").status_code == 404
    assert client.get(f"/finance/invoices/{issued.id}/file").status_code == 404
    login_as(staff["warehouse"])
    assert client.get("/finance/invoices").status_code == 403


def test_the_invoice_list_in_chinese(waiting, staff, org, client, login_as):
    issue(request_invoice(waiting, org.a_rep1, "300.00", "vat_special", taxpayer_no="91330200MA2ABCDEF1"),
          staff["finance"])
    login_as(staff["finance"])
    page = html(client.get("/finance/invoices", headers={"Accept-Language": "zh-CN"}))
    assert "发票" in page and "增值税专用发票" in page and "已开票" in page and "开票日期" in page
