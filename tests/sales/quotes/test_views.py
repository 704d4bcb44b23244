"""Quote pages: build, submit, history beside the lines, errors per field, PDF, the customer-supplied invoice
file, isolation; a process owner moving the discount threshold in the editor."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus
from tests.conftest import csrf
from tests.sales.conftest import line
from tests.sales.conftest import sold
from tests.sales.conftest import submitted

pytestmark = pytest.mark.usefixtures("quote_process")


def _post(client, url, data, **kw):
    return client.post(url, data={"csrf_token": csrf(client, "/quotes/"), **data}, **kw)


def test_a_salesperson_builds_and_submits_a_quote_through_the_pages(org, products, customers, login_as):
    client = login_as(org.a_rep1)
    sold(org.a_rep1, customers["a"], line(products["p100"], "93.00"))  # history: the customer paid 93
    page = client.get("/quotes/new")
    assert page.status_code == 200 and "宁波港物流" in page.get_data(as_text=True)
    assert "B Customer" not in page.get_data(as_text=True) and "Old crate" not in page.get_data(as_text=True)
    resp = _post(client, "/quotes/new", {"customer_id": customers["a"].id, "lines-0-product_id": products["p100"].id,
                                         "lines-0-quantity": "10", "lines-0-unit_price": "85",
                                         "lines-1-product_id": products["p200"].id, "lines-1-quantity": "1",
                                         "lines-1-unit_price": "¥200.00"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    quote = db.session.scalars(db.select(Quote).order_by(Quote.id.desc())).first()
    assert quote.total == Decimal("1050.00")
    html = client.get(f"/quotes/{quote.id}").get_data(as_text=True)
    assert "85.00 %" in html and "¥93.00" in html  # rate and the customer's past price beside the line
    assert _post(client, f"/quotes/{quote.id}/submit", {}).status_code == 303
    db.session.refresh(quote)
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    pdf = client.get(f"/quotes/{quote.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")


def test_bad_input_comes_back_per_field_and_nothing_is_written(org, products, customers, login_as):
    client = login_as(org.a_rep1)
    before = db.session.scalar(db.select(db.func.count()).select_from(Quote))
    resp = _post(client, "/quotes/new", {"customer_id": customers["b"].id, "valid_until": "31/12/2026",
                                         "lines-0-product_id": products["p100"].id, "lines-0-quantity": "ten",
                                         "lines-0-unit_price": "1.001"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("customer_id", "valid_until", "lines.0.quantity", "lines.0.unit_price"):
        assert f'data-field-error="{field}"' in html, field
    assert db.session.scalar(db.select(db.func.count()).select_from(Quote)) == before


def test_margin_only_for_cost_holders_and_another_store_gets_404(org, products, customers, login_as):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00"))
    client = login_as(org.a_rep1)
    assert "Margin" not in client.get(f"/quotes/{q.id}").get_data(as_text=True)
    client = login_as(org.a_manager)
    assert "Margin" in client.get(f"/quotes/{q.id}").get_data(as_text=True)
    client = login_as(org.b_rep)
    for url in (f"/quotes/{q.id}", f"/quotes/{q.id}/pdf", f"/quotes/{q.id}/edit"):
        assert client.get(url).status_code == 404, url
    assert _post(client, f"/quotes/{q.id}/revise", {}).status_code == 404
    assert "宁波港物流" not in client.get("/quotes/").get_data(as_text=True)


def test_a_customer_supplied_invoice_file_is_attached_and_invoices_are_asked_of_finance(org, products, customers,
                                                                                        login_as):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00"))
    client = login_as(org.a_rep1)
    resp = _post(client, f"/quotes/{q.id}/invoice", {"invoice": (io.BytesIO(b"%PDF-1.4 test"), "发票.pdf")},
                 content_type="multipart/form-data")
    assert resp.status_code == 303
    db.session.refresh(q)
    assert q.invoice_original_name == "发票.pdf"
    assert client.get(f"/quotes/{q.id}/invoice").data == b"%PDF-1.4 test"
    bad = _post(client, f"/quotes/{q.id}/invoice", {"invoice": (io.BytesIO(b"MZ..."), "x.exe")},
                content_type="multipart/form-data", follow_redirects=True)
    assert "not accepted" in bad.get_data(as_text=True)
    # Requesting an invoice is finance's form now (tests/finance/invoices): the old flag is gone.
    assert _post(client, f"/quotes/{q.id}/invoice-request", {}).status_code == 404
    page = client.get(f"/quotes/{q.id}").get_data(as_text=True)
    assert f'href="/finance/quotes/{q.id}/invoices/new"' in page


def test_editing_a_draft_shows_the_past_prices_beside_the_line(org, products, customers, login_as):
    sold(org.a_rep1, customers["a"], line(products["p100"], "96.00"))
    from tests.sales.conftest import quote

    draft = quote(org.a_rep1, customers["a"], line(products["p100"], "91.00"))
    html = login_as(org.a_rep1).get(f"/quotes/{draft.id}/edit").get_data(as_text=True)
    assert "line-history" in html and "¥96.00" in html


def test_the_customer_page_lists_its_quotes_and_opportunities_with_links_to_new_ones(org, products, customers,
                                                                                      login_as):
    from crm.sales.opportunities import services as opportunity_services

    mine = submitted(org.a_rep1, customers["a"], line(products["p100"], "95.00"))
    other = submitted(org.a_rep1, customers["a2"], line(products["p100"], "96.00"))
    pipeline = opportunity_services.save_pipeline(None, {"name": "Wholesale", "stages": [
        {"name": "Lead", "win_rate": "10"}]}, actor=org.a_manager)
    deal = opportunity_services.create_opportunity({"customer_id": customers["a"].id, "pipeline_id": pipeline.id,
                                                    "name": "800 pallets", "amount": "64000"}, actor=org.a_rep1)
    db.session.commit()
    page = login_as(org.a_rep1).get(f"/customers/{customers['a'].id}?tab=related").get_data(as_text=True)
    assert f"/quotes/{mine.id}" in page and f"/quotes/{other.id}" not in page
    assert f"/opportunities/{deal.id}" in page and "800 pallets" in page
    assert f"/quotes/new?customer_id={customers['a'].id}" in page
    assert f"/opportunities/new?customer_id={customers['a'].id}" in page


def test_the_quote_history_reads_in_words(org, products, customers, login_as):
    """The quote page's history names fields by their labels, the status by its label and the store,
    customer and salesperson by name."""
    import re

    quote = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00"))
    client = login_as(org.a_rep1)
    page = client.get(f"/quotes/{quote.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):]))
    for words in ("Status Draft → Pending approval", f"Customer {customers['a'].name}", f"Store {quote.store.name}",
                  f"Salesperson {org.a_rep1.name}", f"Number {quote.number}"):
        assert words in text, words
    for raw in ("pending_approval", "customer_id", "store_id", "owner_id"):
        assert raw not in text, raw


def test_a_revised_quote_names_the_version_it_replaced(org, products, customers, login_as):
    from crm.sales.quotes import services as quote_services

    quote = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00"))
    quote_services.set_quote_status(quote.id, "rejected", comment="too low")
    v2 = quote_services.revise_quote(quote.id, actor=org.a_rep1)
    db.session.commit()
    page = login_as(org.a_rep1).get(f"/quotes/{v2.id}").get_data(as_text=True)
    import re

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):]))
    assert f"Previous version {quote.number} v1" in text


def test_a_process_owner_moves_the_threshold_to_85_percent_in_the_editor_and_new_quotes_follow(
        org, roles, products, customers, client, login_as):
    from crm.workflow.deploy import PROCESS_DIR
    from tests.conftest import csrf
    from tests.factories import UserFactory

    before = submitted(org.a_rep1, customers["a"], line(products["p100"], "88.00"))
    assert before.status == QuoteStatus.PENDING_APPROVAL

    owner = UserFactory(name="Process Owner", unit=org.units["hq"], roles=[roles["process_owner"]])
    db.session.commit()
    xml = (PROCESS_DIR / "quote_approval.bpmn").read_text(encoding="utf-8")
    assert "min_rate &lt; 0.90" in xml
    login_as(owner)
    token = csrf(client, "/processes/editor")
    resp = client.post("/processes/editor/save", json={"xml": xml.replace("min_rate &lt; 0.90", "min_rate &lt; 0.85"),
                                                       "comment": "discount audit from 85 %", "key": "quote_approval"},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["version"] == 2

    at_88 = submitted(org.a_rep1, customers["a"], line(products["p100"], "88.00"))
    at_85 = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00"))
    at_84 = submitted(org.a_rep1, customers["a"], line(products["p100"], "84.99"))
    assert (at_88.status, at_85.status, at_84.status) == (
        QuoteStatus.APPROVED, QuoteStatus.APPROVED, QuoteStatus.PENDING_APPROVAL)
    db.session.refresh(before)
    assert before.status == QuoteStatus.PENDING_APPROVAL  # the running one stays on its version


def test_the_approvals_queue_shows_the_quote_lines_as_one_table_with_the_low_line_red(
        org, products, customers, client, login_as):
    """The supervisor's queue: the lines of a quote in one table (product, quantity, price, rate, what the
    customer and the store paid), the line whose rate alone needs the discount audit (< 90 %) flagged red,
    and the Approvals menu with its own count."""
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "85.00", 2), line(products["p200"], "196.00"))
    assert q.status.value == "pending_approval"
    login_as(org.a_sup)
    page = client.get("/approvals/").get_data(as_text=True)
    table = page.split('class="table table-sm small mb-0 approval-summary-table"')[1].split("</table>")[0]
    for header in ("Product", "Quantity", "Unit price", "Discount rate", "Customer paid", "Store paid"):
        assert f">{header}</th>" in table
    rows = table.split("<tr")[2:]
    assert len(rows) == 2
    low = next(r for r in rows if products["p100"].name in r)
    fine = next(r for r in rows if products["p200"].name in r)
    assert 'data-flag="low-rate"' in low and "text-danger" in low and "85.00 %" in low
    assert 'data-flag="low-rate"' not in fine and "98.00 %" in fine
    assert re.search(r'Approvals\s*<span class="badge text-bg-primary">1</span>', page)
    login_as(org.a_rep2)  # nothing to decide: no badge
    assert not re.search(r'Approvals\s*<span class="badge', client.get("/").get_data(as_text=True))
