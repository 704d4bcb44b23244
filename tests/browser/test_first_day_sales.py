"""A salesperson's first day in a real browser, in English and in Chinese, at a desk and on a phone (issue 25):
the home page says what today holds; the customer list's bulk bar appears only with a selection and says
what it does; a lead with a known mobile number is flagged while it is typed; the orders list searches and
sums; the order page shows where the order is as a stepper read from its diagram, above a diagram that
zooms; the salesperson releases their own customer and lands on the high seas. At 390 px no main page
scrolls sideways and the order page folds its diagram. No page logs an error and no raw status value or
template shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import User
from crm.sales.orders.models import Order
from crm.sales.quotes.models import Quote
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.conftest import REP
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

LANGUAGES = {"en": "en-US", "zh": "zh-CN"}
TEXTS = {
    "en": {"sales_today": "My sales today", "steps": ["Contracting", "Pending collection", "Pending outbound",
                                                      "Pending delivery", "Pending receipt", "Completed"],
           "selected": "1 selected", "duplicate": "already exists", "released": "released to the high seas"},
    "zh": {"sales_today": "我今天的销售", "steps": ["签约中", "待回款", "待出库", "待发货", "待签收", "已完成"],
           "selected": "已选 1 项", "duplicate": "已有客户", "released": "已放回公海"},
}
RAW = re.compile(r"\b(pending_collection|pending_outbound|pending_delivery|pending_receipt|waiting_visit)\b|\{\{|\{%")


@pytest.fixture(scope="module")
def sales_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with isolated_database(tmp_path_factory.mktemp("first_day"), "crm_browser_first_day") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_directory(PROCESS_DIR)
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            order = db.session.scalar(select(Order).where(Order.owner_id == rep.id, Order.status == "contracting")
                                      .order_by(Order.id))
            customers = list(db.session.scalars(select(Customer).where(Customer.owner_id == rep.id, ~Customer.locked)
                                                .order_by(Customer.id)))
            world = {"order_id": order.id, "order_number": order.number, "order_customer": order.customer.name,
                     "known_mobile": customers[0].mobile, "release": [c.id for c in customers[-2:]],
                     "customer_id": customers[0].id,
                     "quote_id": db.session.scalar(select(Quote.id).where(Quote.owner_id == rep.id))}
            db.session.commit()
        with serve(app) as base_url:
            world["base"] = base_url
            yield world


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """The page's console errors and uncaught exceptions (a missing favicon is not the page's)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and "favicon" not in (message.location or {}).get("url", ""):
            self.errors.append(message.text)


def _session(chromium: Any, world: dict[str, Any], lang: str, **kw: Any) -> tuple[Any, Any, Watch]:
    context = chromium.new_context(locale=LANGUAGES[lang],
                                   extra_http_headers={"Accept-Language": f"{LANGUAGES[lang]},{lang};q=0.9"}, **kw)
    page = context.new_page()
    page.set_default_timeout(15000)
    watch = Watch(page)
    login(page, world["base"], REP)
    return context, page, watch


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_salespersons_first_day(sales_server: dict[str, Any], chromium: Any, lang: str) -> None:
    from playwright.sync_api import expect

    world, base, t = sales_server, sales_server["base"], TEXTS[lang]
    context, page, watch = _session(chromium, world, lang, viewport={"width": 1366, "height": 900})

    # Home: today's work in one card.
    page.goto(f"{base}/")
    expect(page.locator("#my-sales-today")).to_contain_text(t["sales_today"])
    expect(page.locator("#sales-month")).to_contain_text("¥")
    # The demo gives her customers the recycle rules send back soon: named, linked, with the days left.
    expect(page.locator("#sales-recycle li a").first).to_be_visible()

    # The customer list: the bulk bar only with a selection, saying what the chosen action does.
    page.goto(f"{base}/customers/")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    page.locator("#customer-table tbody input[name=ids]").first.check()
    expect(page.locator("#bulk-bar")).to_be_visible()
    expect(page.locator("#bulk-bar [data-bulk-count]")).to_have_text(t["selected"])
    page.select_option("#bulk-action", "pool")
    expect(page.locator("#bulk-bar [data-bulk-help]")).not_to_be_empty()
    expect(page.locator("#bulk-bar input[name=reason]")).to_be_visible()
    expect(page.locator("#bulk-bar select[name=access]")).to_be_hidden()
    expect(page.locator("#customer-table a[href^='tel:']").first).to_be_visible()

    # A lead with a customer's mobile number is flagged while it is typed.
    page.goto(f"{base}/customers/leads/new")
    page.fill("#f-name", "New contact")
    page.fill("#f-mobile", world["known_mobile"])
    expect(page.locator("#lead-duplicate")).to_be_visible()
    expect(page.locator("#lead-duplicate")).to_contain_text(t["duplicate"])

    # The orders list searches by customer and sums what it lists.
    page.goto(f"{base}/orders/")
    page.fill("#f-q", world["order_customer"])
    page.locator("#order-filters button[type=submit]").click()
    expect(page.locator(f"#orders-table tr[data-order-id='{world['order_id']}']")).to_be_visible()
    expect(page.locator("#orders-totals")).to_contain_text("¥")

    # The order page: where the order is, read from its diagram; a diagram that zooms.
    page.goto(f"{base}/orders/{world['order_id']}")
    steps = page.locator("#order-steps li")
    expect(steps).to_have_count(6)
    expect(page.locator("#order-steps .crm-step-label")).to_have_text(t["steps"])
    expect(page.locator("#order-steps li[aria-current=step] .crm-step-label")).to_have_text(t["steps"][0])
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    before = page.evaluate("window.crmViewer.get('canvas').zoom()")
    page.click("#diagram [data-zoom=in]")
    assert page.evaluate("window.crmViewer.get('canvas').zoom()") > before
    assert not RAW.search(page.locator("main").inner_text())

    # The quote form computes as it is typed (the whole walk is in test_quotes.py).
    page.goto(f"{base}/quotes/new")
    expect(page.locator("#quote-lines[data-ready='1']")).to_have_count(1)
    expect(page.locator("#quote-total")).to_have_text("¥0.00")
    assert watch.errors == [], watch.errors
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_salesperson_releases_their_own_customer_to_the_high_seas(sales_server: dict[str, Any], chromium: Any,
                                                                    lang: str) -> None:
    from playwright.sync_api import expect

    world, base = sales_server, sales_server["base"]
    context, page, watch = _session(chromium, world, lang)
    customer_id = world["release"][0 if lang == "en" else 1]
    page.goto(f"{base}/customers/{customer_id}")
    page.click("#tab-team")
    page.locator("#release-form input[name=reason]").fill("不再需要托盘")
    page.click("#release-customer")
    expect(page).to_have_url(re.compile(r"/high-seas/"))
    expect(page.locator(".alert-success")).to_contain_text(TEXTS[lang]["released"])
    assert watch.errors == [], watch.errors
    context.close()


PHONE_PAGES = ["/", "/customers/", "/customers/{customer_id}", "/customers/leads", "/customers/leads/new", "/quotes/",
               "/quotes/new", "/quotes/{quote_id}", "/orders/", "/orders/{order_id}", "/opportunities/",
               "/opportunities/forecast", "/high-seas/", "/tasks/", "/products/", "/notifications/"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_main_pages_fit_a_phone(sales_server: dict[str, Any], chromium: Any, lang: str) -> None:
    from playwright.sync_api import expect

    world, base = sales_server, sales_server["base"]
    context, page, watch = _session(chromium, world, lang, viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True)
    for path in PHONE_PAGES:
        url = base + path.format(**world)
        response = page.goto(url)
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        width, view = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width <= view, f"{path} scrolls sideways at 390 px: {width} > {view}"
        assert not RAW.search(page.locator("main").inner_text()), path
    # The customer list: filters folded behind a button; rows as cards with numbers to tap.
    page.goto(f"{base}/customers/")
    expect(page.locator("#customer-filters")).to_be_hidden()
    page.click("#toggle-filters")
    expect(page.locator("#customer-filters")).to_be_visible()
    expect(page.locator("#customer-table thead")).to_be_hidden()
    expect(page.locator("#customer-table a[href^='tel:']").first).to_be_visible()
    # The order page: the stepper stands, the diagram is folded until asked for.
    page.goto(f"{base}/orders/{world['order_id']}")
    expect(page.locator("#order-steps li")).to_have_count(6)
    expect(page.locator("#pipeline-diagram")).not_to_have_attribute("open", "")
    page.locator("#pipeline-diagram summary").click()
    expect(page.locator("#diagram[data-ready='1']")).to_be_visible()
    assert watch.errors == [], watch.errors
    context.close()
