"""An order in a real browser: the demo salesperson 王芳 makes a contracting order from her approved quote
and records the customer's signature from her inbox, then the customer's transfer with its bank slip on
the order page; finance (冯出纳) opens it from the ledger, checks the voucher and verifies it; the warehouse (陈仓管) confirms outbound and logistics (孔物流) enters the tracking number from their
inboxes; 王芳 confirms receipt with the customer's rating. At every step the order page's diagram marks
where the order is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.quotes import services as quote_services
from tests.browser.conftest import REP
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.factories import make_customer

pytestmark = pytest.mark.browser
FINANCE, WAREHOUSE, LOGISTICS = "13800000105", "13800000106", "13800000109"


@pytest.fixture
def order_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with isolated_database(tmp_path, "crm_browser_orders") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            customer = make_customer(rep, name="宁波港物流（订单）")
            product = db.session.scalar(select(Product).where(Product.sku == "PL-1210-9"))  # list 78.00
            quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
                {"product_id": product.id, "quantity": 40, "unit_price": "75.00"}]}, actor=rep)
            quote_services.submit_quote(quote.id, actor=rep)  # 96 %: approved at once
            db.session.commit()
            quote_id = quote.id
        with serve(app) as base_url:
            yield base_url, quote_id


def _logout(page: Any, base: str) -> None:
    page.context.clear_cookies()


def _at(page: Any, base: str, order_url: str, element: str, status: str) -> None:
    from playwright.sync_api import expect

    page.goto(order_url)
    expect(page.locator("#order-status")).to_have_attribute("data-status", status)
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator(f"#diagram [data-element-id='{element}'].crm-active")).to_have_count(1)


def _from_inbox(page: Any, base: str, mobile: str, title_part: str, fill: dict[str, str | bool]) -> None:
    from playwright.sync_api import expect

    _logout(page, base)
    login(page, base, mobile)
    page.goto(f"{base}/tasks/group")
    links = page.locator("a", has_text=title_part)
    if links.count() == 0:
        page.goto(f"{base}/tasks/")
    page.locator("a", has_text=title_part).first.click()
    for selector, value in fill.items():
        if value is True:
            page.check(selector)  # a radio button or a checkbox
        else:
            page.fill(selector, value)
    page.click("#complete-button")
    expect(page.locator(".alert-success")).to_contain_text(title_part)


def _order_from_quote(page: Any, base: str, quote_id: int, terminal: str | None = None) -> tuple[str, str]:
    """The salesperson (logged in) makes a pay-before-delivery order from the quote: (order URL, its number)."""
    from playwright.sync_api import expect

    page.goto(f"{base}/quotes/{quote_id}")
    page.click("#make-order")
    page.select_option("#f-payment_mode", "prepay")
    if terminal:
        page.select_option("#f-terminal", terminal)
    page.fill("#f-ship_address", "浙江省宁波市北仑区港城大道 88 号")
    page.click("#create-order")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "contracting")
    return page.url, page.locator("h1").inner_text().split()[1]


def test_order_from_quote_to_completed_through_the_inboxes(order_server: tuple[str, int], browser: Any) -> None:
    from playwright.sync_api import expect

    base, quote_id = order_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, base, REP)
    order_url, number = _order_from_quote(page, base, quote_id, "mini_program")
    _at(page, base, order_url, "op_sign", "contracting")

    _from_inbox(page, base, REP, number, {"#f-contract_no": "HT-88"})
    _at(page, base, order_url, "op_wait_payment", "pending_collection")

    # The salesperson records the customer's transfer with the bank slip from the order page ...
    page.goto(order_url)
    page.click("#record-collection")
    page.select_option("#f-method", "bank_transfer")
    page.fill("#f-reference", "TX-BROWSER-1")
    page.set_input_files("#f-vouchers", files=[{"name": "slip.png", "mimeType": "image/png", "buffer": VOUCHER}])
    page.click("#record-collection")
    expect(page.locator("#payment-status")).to_have_text("Waiting for verification")
    _at(page, base, order_url, "op_wait_payment", "pending_collection")  # it does not count yet

    # ... finance finds it in the ledger, opens the voucher and verifies it ...
    _logout(page, base)
    login(page, base, FINANCE)
    page.goto(f"{base}/")
    page.locator("#collections-to-verify a").click()
    row = page.locator("#ledger-table tbody tr", has_text=number)
    expect(row.locator("img.voucher-thumb")).to_have_count(1)
    row.locator("td a").first.click()
    expect(page.locator("img.voucher-image")).to_have_count(1)
    # The picture loads (CSP, scope and content type let it through).
    # (Read as the element's properties: a string predicate is evaluated with eval, which the page's CSP
    # refuses whenever the first check fails and Playwright polls.)
    voucher = page.locator("img.voucher-image")
    expect(voucher).to_have_js_property("complete", True)
    expect(voucher).to_have_js_property("naturalWidth", 1)
    page.check("#d-verify")
    page.click("#decide")
    expect(page.locator("#payment-status")).to_have_text("Verified")

    # ... and the salesperson sees the order move on to the warehouse.
    _logout(page, base)
    login(page, base, REP)
    _at(page, base, order_url, "op_outbound", "pending_outbound")

    _from_inbox(page, base, WAREHOUSE, number, {})
    _at(page, base, order_url, "op_delivery", "pending_delivery")

    _from_inbox(page, base, LOGISTICS, number, {"#f-carrier": "顺丰速运", "#f-tracking_no": "SF8888"})
    _at(page, base, order_url, "op_receipt", "pending_receipt")

    _from_inbox(page, base, REP, number, {'#f-rating input[value="5"]': True})  # five stars
    page.goto(order_url)
    expect(page.locator("#order-status")).to_have_attribute("data-status", "completed")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='op_end'].crm-completed")).to_have_count(1)
    expect(page.locator("#tracking-no")).to_have_text("SF8888")
    context.close()


def test_a_chinese_salesperson_reads_the_pipeline_in_chinese(order_server: tuple[str, int], browser: Any) -> None:
    """With a Chinese browser, the inbox lists the signature task by its Chinese title, the order page's
    diagram draws it with the order's number in Chinese, and completing it says so in Chinese."""
    from playwright.sync_api import expect

    base, quote_id = order_server
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, base, REP)
    order_url, number = _order_from_quote(page, base, quote_id)
    title = f"合同订单 {number}：登记签约"
    expect(page.locator("#order-tasks")).to_contain_text(title)
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='op_sign']")).to_contain_text("登记签约")

    page.goto(f"{base}/tasks/")
    page.locator("a.task-link", has_text=title).click()
    expect(page.locator("#task-title")).to_have_text(title)
    expect(page.locator("#task-instructions")).to_contain_text(f"签署合同订单 {number}")
    page.fill("#f-contract_no", "HT-99")
    page.click("#complete-button")
    expect(page.locator(".alert-success")).to_contain_text(title)
    page.goto(order_url)
    expect(page.locator("#order-status")).to_have_attribute("data-status", "pending_collection")
    context.close()
