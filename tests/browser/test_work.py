"""Work tasks in a real browser on the demo data: the store manager 吴店长 arranges a task for the
salesperson 王芳, who finds it in her inbox next to a process task (a claimed review of the inbox test
process), completes it in one click, finds it under Completed by me and files her daily report — its
figures count the task — which the manager then reads on Who has reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.workflow.tasks import services as task_services
from tests.browser.conftest import REP
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import deploy_inbox_process
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.conftest import start_review

pytestmark = pytest.mark.browser

MANAGER = "13800000101"  # 吴店长, store manager of 天猫旗舰店


@pytest.fixture
def work_server(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser_work") as url:
        app = make_test_app(url, TASK_ATTACHMENT_DIR=str(tmp_path / "uploads"))
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_inbox_process()
            store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            task = start_review(store, order_no="SO-7070", customer="华东物流", candidates=[rep])
            task_services.claim(task.id, actor=rep)
            db.session.commit()
        with serve(app) as base_url:
            yield base_url


def test_a_manager_arranges_a_task_the_salesperson_completes_it_and_reports(work_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    login(page, work_server, MANAGER)
    expect(page.locator("#mainnav")).to_contain_text("Tasks")
    page.goto(f"{work_server}/tasks/")
    page.click("#new-work-task")
    page.fill("#f-title", "Call 华东物流 about the pallets")
    page.select_option("#f-priority", "high")
    page.select_option("#f-assignee_ids", label="王芳")
    page.click("#save-task")
    expect(page.locator("h1")).to_contain_text("Call 华东物流 about the pallets")

    page.context.clear_cookies()
    login(page, work_server, REP)
    page.goto(f"{work_server}/tasks/")
    work_row = page.locator("tr", has_text="Call 华东物流 about the pallets")
    process_row = page.locator("tr", has_text="Review order SO-7070")
    expect(work_row).to_be_visible()
    expect(process_row).to_be_visible()
    expect(work_row.locator(".kind-badge")).to_have_text("Work task")
    expect(process_row.locator(".kind-badge")).to_have_text("Process task")
    expect(process_row.locator(".complete-button")).to_have_count(0)  # a process task opens its form

    work_row.locator(".complete-button").click()
    expect(page.locator("tr", has_text="Call 华东物流 about the pallets")).to_have_count(0)
    expect(page.locator("tr", has_text="Review order SO-7070")).to_be_visible()
    page.goto(f"{work_server}/tasks/completed")
    expect(page.locator("tr", has_text="Call 华东物流 about the pallets")).to_be_visible()

    page.goto(f"{work_server}/work/reports/")
    page.click("#new-daily-report")
    expect(page.locator('[data-figure="tasks_completed"]')).to_have_text("1")
    expect(page.locator("#report-supervisor")).to_have_text("郑主管")
    page.fill("#f-done", "Called 华东物流 about the pallets")
    page.fill("#recipient-search", "李")
    expect(page.locator("#f-recipient_ids option:not([hidden])")).to_have_text(["李强"])
    page.select_option("#f-recipient_ids", label="李强")
    page.click("#send-report")
    expect(page.locator("#report-title")).to_contain_text("王芳")
    expect(page.locator("#read-receipts")).to_contain_text("郑主管")

    page.context.clear_cookies()
    login(page, work_server, MANAGER)
    page.goto(f"{work_server}/work/reports/team")
    expect(page.locator("#reported")).to_contain_text("王芳")
    expect(page.locator("#reported")).to_contain_text("Called 华东物流 about the pallets")
    expect(page.locator("#not-reported")).to_contain_text("李强")
