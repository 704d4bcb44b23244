"""After-sales in a real browser: the demo salesperson 王芳 opens a return and refund from the order page
of a paid and delivered order; her supervisor 郑主管 approves it in the queue (the demo's `after_sales`
chain); 王芳 enters the return's tracking number, the warehouse (陈仓管) inspects the goods and finance
(冯出纳) refunds them, each from their inbox; the order page lists the case and the case page draws its
diagram."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments import services as payment_services
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.orders import services as order_services
from crm.sales.quotes import services as quote_services
from crm.workflow import runtime
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission
from tests.browser.conftest import REP
from tests.browser.conftest import SUPERVISOR
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.conftest import verification_task
from tests.factories import make_customer
from tests.sales.conftest import open_task

pytestmark = pytest.mark.browser
FINANCE, WAREHOUSE, LOGISTICS = "13800000105", "13800000106", "13800000109"


def _user(mobile: str) -> User:
    return db.session.scalars(select(User).where(User.mobile == mobile)).one()


@pytest.fixture
def delivered_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with isolated_database(tmp_path, "crm_browser_aftersales") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            rep = _user(REP)
            customer = make_customer(rep, name="宁波港物流（售后）")
            product = db.session.scalar(select(Product).where(Product.sku == "PL-1210-9"))  # list 78.00
            quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
                {"product_id": product.id, "quantity": 40, "unit_price": "75.00"}]}, actor=rep)
            quote_services.submit_quote(quote.id, actor=rep)
            order = order_services.create_from_quote(quote.id, {"payment_mode": "prepay", "ship_address": "宁波"},
                                                     actor=rep)
            db.session.commit()
            runtime.complete_task(open_task(order, "op_sign").id, {}, actor_id=rep.id)
            payment = payment_services.record_collection(order.id, {"amount": "3000.00", "method": "bank_transfer"},
                                                         [("slip.png", io.BytesIO(VOUCHER))], actor=rep)
            db.session.commit()
            tasks.complete(verification_task(payment).id, JsonSubmission({"verification": {"decision": "verify"}}),
                           actor=_user(FINANCE))
            runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 40}]},
                                  actor_id=_user(WAREHOUSE).id)
            runtime.complete_task(open_task(order, "op_delivery").id, {"carrier": "SF", "tracking_no": "SF-1"},
                                  actor_id=_user(LOGISTICS).id)
            db.session.commit()
            order_id = order.id
        with serve(app) as base_url:
            yield base_url, order_id


def _from_inbox(page: Any, base: str, mobile: str, title_part: str, fill: dict[str, str]) -> None:
    from playwright.sync_api import expect

    page.context.clear_cookies()
    login(page, base, mobile)
    page.goto(f"{base}/tasks/group")
    if page.locator("a", has_text=title_part).count() == 0:
        page.goto(f"{base}/tasks/")
    page.locator("a", has_text=title_part).first.click()
    for selector, value in fill.items():
        if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click("#complete-button")
    expect(page.locator(".alert-success")).to_be_visible()


def test_return_and_refund_from_the_order_page_to_completed(delivered_server: tuple[str, int], browser: Any) -> None:
    from playwright.sync_api import expect

    base, order_id = delivered_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, base, REP)
    page.goto(f"{base}/orders/{order_id}")
    page.click("#open-after-sales")
    page.select_option("#f-type", "return_refund")
    page.fill("#f-reason", "Two pallets arrived cracked")
    page.fill("#f-amount", "150.00")
    page.locator("#case-lines input[name^=qty_]").first.fill("2")
    page.click("#open-case")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "pending_approval")
    case_url = page.url
    page.goto(f"{base}/orders/{order_id}")
    expect(page.locator("#order-after-sales")).to_be_visible()

    page.context.clear_cookies()
    login(page, base, SUPERVISOR)
    page.goto(f"{base}/approvals/")
    item = page.locator(".list-group-item", has_text="Two pallets arrived cracked")
    item.locator("input[name=comment]").fill("ok")
    item.locator("button[value=approve]").click()
    expect(page.locator(".alert-success")).to_be_visible()

    _from_inbox(page, base, REP, "the customer's shipment", {
        "[name='return_shipment.carrier']": "顺丰速运", "[name='return_shipment.tracking_no']": "SF-BACK-88"})
    _from_inbox(page, base, WAREHOUSE, "Receive and inspect", {"[name='inspection.lines.0.accepted']": "2",
                                                               "[name='inspection.note']": "Both cracked"})
    _from_inbox(page, base, FINANCE, "Refund after-sales case", {"[name='refund.method']": "bank_transfer",
                                                                 "[name='refund.reference']": "RF-B-1"})

    page.context.clear_cookies()
    login(page, base, REP)
    page.goto(f"{base}/orders/{order_id}")
    row = page.locator("#after-sales-cases tbody tr").first
    expect(row).to_contain_text("Return and refund")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "completed")
    expect(page.locator("#order-after-sales")).to_have_count(0)
    row.locator("a", has_text="Live diagram").click()
    expect(page.locator("#case-status")).to_have_attribute("data-status", "completed")
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    expect(page.locator("#diagram [data-element-id='as_refund'].crm-completed")).to_have_count(1)
    expect(page.locator("#case-refund")).to_contain_text("150.00")
    assert page.url.startswith(case_url)
    context.close()
