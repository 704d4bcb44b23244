"""A quote in a real browser: the demo salesperson 王芳 builds a quote with a line at 85 % of the list
price, sees the customer's past price beside it and submits; her supervisor 郑主管 approves it from the
queue; 王芳 sees it approved and downloads the PDF. Then she moves an opportunity on the board with the
keyboard-usable "move to stage" select."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.opportunities import services as opportunity_services
from crm.sales.quotes import services as quote_services
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.browser.conftest import REP
from tests.browser.conftest import SUPERVISOR
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.factories import make_customer

pytestmark = pytest.mark.browser


@pytest.fixture
def quote_server(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser_quotes") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_directory(PROCESS_DIR)
            admin = db.session.scalar(select(User).where(User.mobile == "13800000001"))
            # The demo's `discount_audit` chain: the supervisor (and the store manager under 80 %).
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            customer = make_customer(rep, name="宁波港物流（浏览器）")
            product = db.session.scalar(select(Product).where(Product.sku == "PL-1210-9"))  # list 78.00
            earlier = quote_services.create_quote({"customer_id": customer.id, "lines": [
                {"product_id": product.id, "quantity": 50, "unit_price": "74.10"}]}, actor=rep)
            quote_services.submit_quote(earlier.id, actor=rep)  # 95 %: approved at once
            from tests.sales.conftest import sell

            sell(rep, earlier)  # ordered and signed: now the customer's history
            pipeline = opportunity_services.save_pipeline(None, {"name": "批发", "store_id": rep.store_id, "stages": [
                {"name": "初步接触", "win_rate": "10"}, {"name": "寄样", "win_rate": "40"},
                {"name": "谈判", "win_rate": "70"}]}, actor=admin)
            opportunity_services.create_opportunity({"customer_id": customer.id, "pipeline_id": pipeline.id,
                                                     "name": "港口年度托盘", "amount": "36000"}, actor=rep)
            db.session.commit()
        with serve(app) as base_url:
            yield base_url


def test_quote_at_85_percent_through_the_discount_audit_to_the_pdf(quote_server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    base = quote_server
    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, REP)
    page.goto(f"{base}/quotes/new")
    page.select_option("#f-customer_id", label="宁波港物流（浏览器）")
    # The picker searches the catalogue on the server (name, SKU or size) as the salesperson types.
    expect(page.locator("#quote-lines[data-ready='1'] tbody tr")).to_have_count(1)
    page.fill("#lines-0-product", "1210-9")
    page.locator("#quote-lines .line-results button", has_text="PL-1210-9").first.click()
    expect(page.locator("#lines-0-unit_price")).to_have_value("78.00")  # the list price, to start from
    page.fill("#lines-0-quantity", "100")
    expect(page.locator("#approval-notice")).to_be_hidden()
    page.fill("#lines-0-unit_price", "66.30")  # 85 % of 78.00
    # Amounts, the rate and the audit notice as typed, before anything is saved.
    expect(page.locator("#quote-total")).to_have_text("¥6,630.00")
    expect(page.locator("#lines-0-rate")).to_have_value("85.00")
    expect(page.locator("#quote-rate")).to_have_text("85.00 %")
    expect(page.locator("#approval-notice")).to_be_visible()
    expect(page.locator("#approval-notice")).to_contain_text("90 %")
    # A second line added and removed again.
    page.click("#add-line")
    expect(page.locator("#quote-lines tbody tr")).to_have_count(2)
    page.locator("#quote-lines tbody tr").nth(1).locator(".line-remove").click()
    expect(page.locator("#quote-lines tbody tr")).to_have_count(1)
    page.click("#save-quote")
    expect(page.locator("#quote-status")).to_have_text("Draft")
    row = page.locator("#quote-lines tbody tr").first
    expect(row).to_contain_text("85.00 %")
    expect(row.locator(".customer-history")).to_contain_text("¥74.10")
    expect(page.locator("#quote-total")).to_have_text("¥6,630.00")
    page.click("#submit-quote")
    expect(page.locator("#quote-status")).to_have_text("Pending approval")
    quote_url = page.url
    context.close()

    sup = browser.new_context(locale="en-US")
    page = sup.new_page()
    page.set_default_timeout(10000)
    login(page, base, SUPERVISOR)
    page.goto(f"{base}/approvals/")
    item = page.locator(".list-group-item", has_text="Quote Q")
    expect(item).to_contain_text("85.00 %")
    expect(item).to_contain_text("¥74.10")  # the customer's past price in the summary
    item.locator("input[name=comment]").fill("同意，量大")
    item.locator("button[value=approve]").click()
    expect(page.locator(".alert-success")).to_contain_text("Approved.")
    sup.close()

    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, REP)
    page.goto(quote_url)
    expect(page.locator("#quote-status")).to_have_text("Approved")
    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    assert download.suggested_filename.endswith("-v1.pdf")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")

    page.goto(f"{base}/opportunities/")
    page.select_option("#f-pipeline", page.locator("#f-pipeline option", has_text="批发").get_attribute("value"))
    expect(page.locator("h1")).to_contain_text("批发")
    card = page.locator(".opp-card", has_text="港口年度托盘")
    expect(card).to_be_visible()
    card.locator("select[name=stage_id]").select_option(label="寄样")
    card.locator("button[type=submit]").click()
    expect(page.locator("#board-status")).to_contain_text("寄样", timeout=15_000)  # a loaded machine answers slowly
    expect(page.locator('[data-stage-id] .opp-card', has_text="港口年度托盘")).to_have_count(1)
    expect(page.get_by_role("region", name="寄样").locator(".opp-card")).to_contain_text("港口年度托盘")
    target = page.get_by_role("region", name="谈判").locator(".opp-cards")
    page.locator(".opp-card", has_text="港口年度托盘").drag_to(target)
    expect(page.locator("#board-status")).to_contain_text("谈判")
    page.reload()
    expect(page.get_by_role("region", name="谈判").locator(".opp-card")).to_contain_text("港口年度托盘")
    context.close()


def test_an_order_without_a_quote_uses_the_quote_forms_picker_and_live_amounts(quote_server: str, browser: Any) -> None:
    """The order-without-a-quote form shares the quote form's lines: the product is searched, amounts and the
    rate follow the typing, the notice says a price under the audit's threshold will be refused."""
    from playwright.sync_api import expect

    base = quote_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, base, REP)
    page.goto(f"{base}/orders/new")
    page.select_option("#f-customer_id", label="宁波港物流（浏览器）")
    expect(page.locator("#order-lines[data-ready='1'] tbody tr")).to_have_count(1)
    page.fill("#lines-0-product", "1210-9")
    page.locator("#order-lines .line-results button", has_text="PL-1210-9").first.click()
    expect(page.locator("#lines-0-unit_price")).to_have_value("78.00")
    page.fill("#lines-0-quantity", "10")
    expect(page.locator("#order-total")).to_have_text("¥780.00")
    page.fill("#lines-0-unit_price", "66.30")
    expect(page.locator("#order-rate")).to_have_text("85.00 %")
    expect(page.locator("#approval-notice")).to_be_visible()
    expect(page.locator("#approval-notice")).to_contain_text("refused")
    page.fill("#lines-0-rate", "95")  # a rate prices the line from its list price
    expect(page.locator("#lines-0-unit_price")).to_have_value("74.10")
    expect(page.locator("#order-total")).to_have_text("¥741.00")
    expect(page.locator("#approval-notice")).to_be_hidden()
    page.click("#add-line")
    expect(page.locator("#order-lines tbody tr")).to_have_count(2)  # an empty row is not a line
    page.fill("#f-ship_address", "宁波市北仑区 1 号")  # this customer has no address of its own
    page.click("#create-direct-order")
    if page.locator(".invalid-feedback, .alert-danger").count():
        raise AssertionError(page.locator(".invalid-feedback, .alert-danger").all_inner_texts())
    expect(page.locator(".alert-success")).to_contain_text("was created")
    assert "/orders/" in page.url and not errors, errors
    context.close()
