"""The task inbox in a real browser: the demo supervisor claims a group task, fills its form with a
mistake, reads the message next to the field, fixes it, completes the task and no longer finds it in
My tasks.

Like test_smoke.py: an app of its own on its own database with the demo data, served by werkzeug in a
thread, driven by Debian's Chromium. The inbox test process (tests/data) is deployed into that
database and one instance started in the demo store 天猫旗舰店, whose supervisors are the candidates of
its "Supervisor" lane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.config import Config
from crm.extensions import db
from crm.org.models import OrgUnit
from tests.browser.conftest import serve
from tests.conftest import deploy_inbox_process
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.conftest import start_review

pytestmark = pytest.mark.browser

SUPERVISOR = "13800000102"  # 郑主管, supervisor in 天猫旗舰店


@pytest.fixture
def inbox_server(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser_inbox") as url:
        app = make_test_app(url, TASK_ATTACHMENT_DIR=str(tmp_path / "uploads"))
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_inbox_process()
            store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
            start_review(store, order_no="SO-4242", customer="华东物流")
            db.session.commit()
        with serve(app) as base_url:
            yield base_url


def test_claim_fill_fix_and_complete_a_task(inbox_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{inbox_server}/login")
    page.fill("#identifier", SUPERVISOR)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
    expect(page.locator("#mainnav")).to_contain_text("Tasks")

    page.goto(f"{inbox_server}/tasks/group")
    row = page.locator("tr", has_text="Review order SO-4242")
    expect(row).to_be_visible()
    row.locator(".claim-button").click()
    expect(page.locator("#task-title")).to_have_text("Review order SO-4242")
    expect(page.locator("#task-status")).to_have_text("Claimed")
    expect(page.locator("#task-instructions")).to_contain_text("Check order SO-4242 of 华东物流")

    # A mistake: three decimals in an amount. The rest is filled in, with one line item added.
    page.check("text=Reject")
    page.fill("#f-amount", "12.345")
    page.fill("#f-quantity", "3")
    page.click("#f-lines-add")
    page.fill("#f-lines-0-product", "Pallet 1200×1000")
    page.fill("#f-lines-0-qty", "2")
    page.click("#complete-button")

    error = page.locator('[data-field-error="amount"]')
    expect(error).to_have_text("Amount has at most 2 decimal places.")
    expect(page.locator("#task-status")).to_have_text("Claimed")  # still open
    expect(page.locator("#f-amount")).to_have_value("12.345")  # what was typed is still there
    expect(page.locator("#f-lines-0-product")).to_have_value("Pallet 1200×1000")

    page.fill("#f-amount", "12.34")
    page.click("#complete-button")
    expect(page).to_have_url(f"{inbox_server}/tasks/")
    expect(page.locator(".alert-success")).to_contain_text("Task completed: Review order SO-4242.")
    expect(page.locator("#task-results")).not_to_contain_text("SO-4242")
    # What is left is the demo's after-sales approval (the empty state is tested in tests/inbox/test_views.py).
    expect(page.locator("#task-results")).to_contain_text("Approval")
    page.click("#view-completed")
    expect(page.locator("#task-table")).to_contain_text("Review order SO-4242")
