"""A good first day, role by role (issue 25), in Chromium at 1366×900, in English and in Chinese, on the
demo company: what each role sees on its first pages, with no raw enum value, element id or unrendered
template on them and no console error.

- admin: the top bar fits on one line with the Administration menu and the store switcher; the high seas
  and its rules are reachable from the menu;
- supervisor: the Approvals menu counts the quote waiting, its lines are one table with the line under
  90 % in red, and rejecting without a comment answers at the field;
- warehouse: the outbound offered to the store's warehouse is in the default "My tasks";
- logistics: the delivery task names consignee, phone and address; done, its page shows what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm.extensions import db
from crm.org.models import User
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser
CENT = Decimal("0.01")

ADMIN, SUPERVISOR, REP, WAREHOUSE, LOGISTICS = "13800000003", "13800000102", "13800000103", "13800000106", "13800000109"
# What a reader must never see: template syntax, element and process ids, stored keys.
RAW = re.compile(r"\{\{|\{%|\bap_step\b|\bop_[a-z_]+\b|\bwaiting_visit\b|\bfrom_version\b|\bpending_approval\b|"
                 r"\bdouyin\b|\bmanual\b|\bmessage_received\b|\btask_completed\b")


def _seeded(database: str) -> Flask:
    app = make_test_app(database)
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
        assert result.exit_code == 0, result.output
        # A quote with a line under 90 % of the list price, waiting for the supervisor's approval.
        from crm.sales.catalog.models import Product
        from crm.sales.quotes import services as quote_services

        rep = db.session.scalar(select(User).where(User.mobile == REP))
        from crm.customers.models import Customer

        customer = db.session.scalar(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id))
        low, fine = db.session.scalars(select(Product).order_by(Product.id).limit(2)).all()
        quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
            {"product_id": low.id, "quantity": 10, "unit_price": str((low.list_price * Decimal("0.8")).quantize(CENT))},
            {"product_id": fine.id, "quantity": 5, "unit_price": str(fine.list_price)}]}, actor=rep)
        quote_services.submit_quote(quote.id, actor=rep)
        db.session.commit()
        db.session.remove()
    return app


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_first_day") as url, serve(_seeded(url)) as base:
        yield base


@pytest.fixture
def wide(browser: Any) -> Iterator[Any]:
    """A 1366×900 page that records console errors and uncaught page errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.problems = []  # type: ignore[attr-defined]
    # A form refused with its field errors is answered 422 (the page again): Chromium logs that status,
    # which is the answer working, not a problem of the page.
    page.on("console", lambda m: m.type == "error" and "status of 422" not in m.text and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    try:
        yield page
    finally:
        context.close()


def _clean(page: Any) -> str:
    text = page.inner_text("main")
    found = RAW.findall(text)
    assert not found, (page.url, found)
    return text


def _chinese(page: Any) -> None:
    page.click("#language-switcher button[value='zh']")
    page.wait_for_selector("html[lang='zh-Hans']")


def _one_line_top_bar(page: Any) -> None:
    """Every top-level entry of the bar sits on one row (nothing wraps under another)."""
    tops = page.eval_on_selector_all(
        "#mainnav > ul > li", "items => items.map(li => Math.round(li.getBoundingClientRect().top))")
    assert tops and max(tops) - min(tops) <= 12, tops
    heights = page.eval_on_selector_all("#mainnav > ul > li > .nav-link, #mainnav > ul > li > form",
                                        "items => items.map(e => e.getBoundingClientRect().height)")
    assert max(heights) < 48, heights  # an icon stacked over its label is twice as tall


def test_admin_first_day(demo: str, wide: Any) -> None:
    from playwright.sync_api import expect

    page = wide
    login(page, demo, ADMIN)
    expect(page.locator("#store-switcher")).to_be_visible()
    _one_line_top_bar(page)
    page.click("#admin-menu")
    page.click("text=High-seas rules")
    expect(page).to_have_url(re.compile(r"/high-seas/settings/\d+$"))
    _clean(page)
    page.click("#nav-group-sales")
    page.click("[data-nav-group='sales'] >> text=High seas")
    expect(page).to_have_url(f"{demo}/high-seas/")
    _clean(page)
    page.goto(f"{demo}/admin/roles")
    expect(page.locator("#matrix thead th").first).to_be_visible()
    page.locator(".matrix-scroll").evaluate("el => el.scrollTop = 2000")
    expect(page.locator("#matrix thead th").first).to_be_in_viewport()  # the header stays in sight
    _chinese(page)
    _one_line_top_bar(page)
    page.click("#admin-menu")
    expect(page.locator("#admin-menu + .dropdown-menu")).to_contain_text("公海规则")
    _clean(page)
    assert not page.problems, page.problems


def test_supervisor_first_day(demo: str, wide: Any) -> None:
    from playwright.sync_api import expect

    page = wide
    login(page, demo, SUPERVISOR)
    # The demo quote's discount audit and the demo after-sales case wait for them.
    expect(page.locator("a[href='/approvals/'] .badge")).to_have_text("2")
    page.goto(f"{demo}/approvals/")
    quote = page.locator(".list-group-item", has=page.locator("tr[data-flag='low-rate']"))
    table = quote.locator(".approval-summary-table")
    expect(table.locator("thead th")).to_have_count(6)
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr[data-flag='low-rate']")).to_have_count(1)
    expect(table.locator("tbody tr[data-flag='low-rate']")).to_contain_text("80.00 %")
    _clean(page)
    page.locator("#approval-views ~ * button[value='reject'], .list-group button[value='reject']").first.click()
    expect(page.locator("[data-field-error='comment']")).to_have_text("Say why you reject it.")
    expect(page.locator("h1")).to_have_text("Approvals")  # the queue again, not an error page
    page.goto(f"{demo}/approvals/")
    _chinese(page)
    page.locator(".list-group button[value='reject']").first.click()
    expect(page.locator("[data-field-error='comment']")).to_have_text("请填写驳回原因。")
    _clean(page)
    assert not page.problems, page.problems


def test_warehouse_first_day(demo: str, wide: Any) -> None:
    from playwright.sync_api import expect

    page = wide
    login(page, demo, WAREHOUSE)
    page.click("#nav-tasks, a[href='/tasks/']")
    expect(page).to_have_url(f"{demo}/tasks/")
    outbound = page.locator("main a", has_text=re.compile(r"Outbound of order SO"))
    expect(outbound.first).to_be_visible()  # a group task of the store's warehouse, in "My tasks"
    _clean(page)
    outbound.first.click()
    expect(page.locator("#task-instructions")).to_be_visible()
    _clean(page)
    _chinese(page)
    expect(page.locator("h1")).to_contain_text("出库")
    _clean(page)
    assert not page.problems, page.problems


def test_logistics_first_day(demo: str, wide: Any) -> None:
    from playwright.sync_api import expect

    page = wide
    login(page, demo, LOGISTICS)
    page.goto(f"{demo}/tasks/")
    ship = page.locator("main a", has_text=re.compile(r"Ship order SO"))
    expect(ship.first).to_be_visible()
    ship.first.click()
    instructions = page.locator("#task-instructions")
    expect(instructions).to_contain_text("Consignee:")
    expect(instructions).to_contain_text(re.compile(r"1[3-9]\d{9}"))  # the consignee's phone
    _clean(page)
    _chinese(page)
    expect(page.locator("#task-instructions")).to_contain_text("收货人：")
    _clean(page)
    assert not page.problems, page.problems
