"""Customers in a real browser (demo data, its own database): a salesperson creates a customer, is told
about a duplicate mobile number without seeing the other record, fixes it, records a follow-up and finds it
on the timeline; the store manager imports a small CSV file and watches the progress bar reach the result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.config import Config
from crm.customers import imports
from crm.extensions import db
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

SALESPERSON = "13800000103"  # 王芳, 天猫旗舰店
MANAGER = "13800000101"  # 吴店长, 天猫旗舰店


@pytest.fixture
def customer_server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with isolated_database(tmp_path, "crm_browser_customers") as url:
        app = make_test_app(url, TASK_ATTACHMENT_DIR=str(tmp_path / "uploads"))
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
        with serve(app) as base_url:
            yield base_url, app


def sign_in(page: Any, base: str, mobile: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")


def test_create_a_customer_and_record_a_follow_up(customer_server: tuple[str, Any], page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, app = customer_server
    sign_in(page, base, SALESPERSON)
    page.goto(f"{base}/customers/new")
    page.fill("#f-name", "宁波港联物流")
    page.fill("#f-mobile", "138 0000 0102")  # 郑主管's number is a user, not a customer: no clash
    page.fill("#f-tags", "冷链, 大客户")
    page.select_option("#f-level", "a")
    page.click("#save-customer")
    expect(page.locator("#customer-name")).to_contain_text("宁波港联物流")

    # The same number again, typed differently: refused with a message naming the owner (herself).
    page.goto(f"{base}/customers/new")
    page.fill("#f-name", "Duplicate")
    page.fill("#f-mobile", "+86 13800000102")
    page.click("#save-customer")
    expect(page.locator('[data-field-error="mobile"]')).to_contain_text("owned by you")
    page.goto(f"{base}/customers?q=宁波")
    page.click("text=宁波港联物流")

    page.select_option("#f-kind", "wechat")
    page.fill("#f-content", "加了微信，发了九脚托盘报价")
    page.fill("#f-next_contact_at", "2030-01-15T10:00")
    page.click("#record-follow-up")
    expect(page.locator(".alert-success")).to_contain_text("The follow-up was recorded.")
    expect(page.locator("#follow-up-list")).to_contain_text("加了微信，发了九脚托盘报价")
    page.click("#tab-history")
    expect(page.locator("#timeline")).to_contain_text("Follow-up recorded")

    # The store manager imports two rows, one of them bad, and watches the result arrive.
    page.context.clear_cookies()
    sign_in(page, base, MANAGER)
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text("客户名称,手机号\n义乌小商品物流,13900009999\n,123\n", encoding="utf-8")
    page.goto(f"{base}/customers/import")
    page.set_input_files("#f-file", str(csv_file))
    page.click("#upload-import")
    expect(page.locator("#preview")).to_contain_text("义乌小商品物流")
    page.click("#start-import")
    expect(page.locator("#import-progress")).to_be_visible()
    with app.app_context():
        imports.run_imports()
        db.session.remove()
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done", timeout=15000)
    expect(page.locator("#n-created")).to_have_text("1")
    expect(page.locator("#n-failed")).to_have_text("1")
    expect(page.locator("#error-report")).to_be_visible()


def test_public_lead_form_feeds_the_pool_and_the_lead_is_converted(customer_server: tuple[str, Any], page: Any,
                                                                   browser: Any) -> None:
    from playwright.sync_api import expect
    from sqlalchemy import select

    from crm.customers.models import LeadWebForm
    from crm.org.models import OrgUnit

    base, app = customer_server
    with app.app_context():
        store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
        token = db.session.scalar(select(LeadWebForm.token).where(LeadWebForm.store_id == store.id))
        db.session.remove()

    # A visitor, no account, no cookies: a mistake first, then a valid enquiry.
    visitor = browser.new_context(locale="zh-CN")
    form = visitor.new_page()
    form.goto(f"{base}/f/{token}")
    form.fill("#p-name", "赵先生")
    form.fill("#p-mobile", "12345")
    form.click("#send")
    expect(form.locator('[data-field-error="mobile"]')).to_be_visible()
    form.fill("#p-mobile", "139 1234 5678")
    form.fill("#p-message", "需要 500 片九脚托盘")
    visitor.clear_cookies()  # the form needs no cookie (an iframe on another site may have none)
    form.click("#send")
    expect(form.locator("#sent")).to_be_visible()
    visitor.close()

    sign_in(page, base, MANAGER)  # the store manager sees the lead wherever the assignment rule put it
    page.goto(f"{base}/customers/leads?view=all")
    page.click("text=赵先生")
    expect(page.locator("#lead-name")).to_contain_text("赵先生")
    page.click("#convert-lead")
    expect(page.locator("#customer-name")).to_contain_text("赵先生")
    expect(page.locator("#profile")).to_contain_text("139 1234 5678")
