"""The high seas in a real browser (demo data, the demo chain `high_seas_claim`: the supervisor approves):
郑主管 moves 王芳's customer to the high seas with a reason; 李强 claims it from the pool; 郑主管 approves
the claim in the approval queue; 李强 now owns the customer, records the visit, and the claim is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.config import Config
from crm.customers import services as customers
from crm.extensions import db
from crm.org.models import User
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

SUPERVISOR = "13800000102"  # 郑主管
REP = "13800000103"  # 王芳
OTHER_REP = "13800000104"  # 李强
NAME = "Harbour Pallet Trading"


@pytest.fixture
def highseas_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with isolated_database(tmp_path, "crm_browser_highseas") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_directory(PROCESS_DIR)
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            customer = customers.create_customer({"name": NAME, "mobile": "13912340077"}, actor=rep)
            db.session.commit()
            customer_id = customer.id
        with serve(app) as base_url:
            yield base_url, customer_id


def login(page: Any, base: str, mobile: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")


def as_user(browser: Any, base: str, mobile: str) -> tuple[Any, Any]:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, base, mobile)
    return context, page


def test_release_claim_approve_and_visit(highseas_server: tuple[str, int], browser: Any) -> None:
    from playwright.sync_api import expect

    base, customer_id = highseas_server
    ctx, page = as_user(browser, base, SUPERVISOR)
    page.goto(f"{base}/customers/{customer_id}")
    page.click("#tab-team")
    page.locator("#release-form input[name=reason]").fill("Stopped answering calls")
    page.click("#release-customer")
    expect(page.locator(".alert-success")).to_be_visible()
    page.goto(f"{base}/high-seas/")
    expect(page.locator("#pool-table")).to_contain_text(NAME)
    ctx.close()

    ctx, page = as_user(browser, base, OTHER_REP)
    expect(page.locator("#mainnav")).to_contain_text("High seas")
    page.goto(f"{base}/high-seas/")
    row = page.locator("#pool-table tr", has_text=NAME)
    expect(row).to_contain_text("Stopped answering calls")
    row.locator("input[name=reason]").fill("Met their buyer at the fair")
    row.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("sent for approval")
    expect(page.locator("#claims-table")).to_contain_text("Waiting for approval")
    ctx.close()

    ctx, page = as_user(browser, base, SUPERVISOR)
    page.goto(f"{base}/high-seas/audit")
    page.click("text=Open the approval queue")
    item = page.locator(".list-group-item", has_text=f"High-seas claim: {NAME}")
    expect(item).to_contain_text("Met their buyer at the fair")
    item.locator("button[value=approve]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    ctx.close()

    ctx, page = as_user(browser, base, OTHER_REP)
    page.goto(f"{base}/customers/{customer_id}")
    expect(page.locator("#customer-owner")).to_contain_text("李强")
    page.locator("#follow-up-form select[name=kind]").select_option("visit")
    page.locator("#follow-up-form textarea[name=content]").fill("Visited their warehouse")
    page.click("#record-follow-up")
    expect(page.locator("#follow-up-list")).to_contain_text("Visited their warehouse")
    page.goto(f"{base}/high-seas/claims")
    expect(page.locator("#claims-table")).to_contain_text("Kept")
    ctx.close()
