"""The approval queue in a real browser: the demo salesperson 王芳 submits an expense (a test process
calling `approval`); her supervisor 郑主管 finds it in the queue with its summary, approves it with a
comment; 王芳 sees the bell, opens the request and reads the outcome and the comment. Opened from the
generic Tasks inbox instead, the approval shows the same decision form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.approvals.conftest import DATA
from tests.approvals.conftest import EXPENSES
from tests.browser.conftest import REP
from tests.browser.conftest import SUPERVISOR
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser


@pytest.fixture
def approval_server(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser_approvals") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_directory(PROCESS_DIR)
            deploy_directory(DATA)
            admin = db.session.scalar(select(User).where(User.mobile == "13800000001"))
            approval_chains.create_chain({"key": "expense", "steps": [{"title": "主管审核", "rule": "supervisor",
                                                                "mode": "single"}]}, actor=admin)
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            EXPENSES[4242] = {"id": 4242, "store_id": rep.store_id, "amount": Decimal("8800.00"),
                              "category": "trade fair"}
            runtime.start("wf_expense", object_type="test_expense", object_id=4242, store_id=rep.store_id,
                          data={"approval_chain": "expense"}, actor_id=rep.id)
            db.session.commit()
        with serve(app) as base_url:
            yield base_url


def test_supervisor_approves_from_the_queue_and_the_requester_sees_it(approval_server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    sup_context = browser.new_context(locale="en-US")
    page = sup_context.new_page()
    page.set_default_timeout(10000)
    login(page, approval_server, SUPERVISOR)
    expect(page.locator("#mainnav")).to_contain_text("Approvals")
    page.goto(f"{approval_server}/approvals/")
    item = page.locator(".list-group-item", has_text="Expense 4242")
    expect(item).to_contain_text("8800.00")
    expect(item).to_contain_text("trade fair")
    item.locator("input[name=comment]").fill("Budget is fine")
    item.locator("button[value=approve]").click()
    expect(page.locator(".alert-success")).to_contain_text("Approved.")
    expect(page.locator("body")).not_to_contain_text("Expense 4242")
    page.click("#view-decided")
    expect(page.locator("table")).to_contain_text("Budget is fine")
    sup_context.close()

    rep_context = browser.new_context(locale="en-US")
    page = rep_context.new_page()
    page.set_default_timeout(10000)
    login(page, approval_server, REP)
    page.goto(f"{approval_server}/notifications/")
    note = page.locator("#notifications li", has_text="Your request was approved")
    note.locator("button[name=open]").click()
    expect(page.locator("#request-status")).to_have_text("Approved")
    expect(page.locator("#request-history")).to_contain_text("Budget is fine")
    expect(page.locator("#request-history")).to_contain_text("郑主管")
    rep_context.close()


def test_an_approval_opened_from_the_tasks_inbox_is_decided_like_in_the_queue(approval_server: str, browser: Any) -> None:
    """The Tasks badge leads the supervisor to the generic inbox: the task page shows the request's summary
    and Approve / Reject (no checkbox, nothing chosen); Reject without a comment shows the field's error,
    then Approve decides it."""
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10000)
    login(page, approval_server, SUPERVISOR)
    page.goto(f"{approval_server}/tasks/")
    page.locator("a.task-link", has_text="主管审核").first.click()
    expect(page.locator("#approval-summary")).to_contain_text("8800.00")
    expect(page.locator("#approval-title")).to_contain_text("Expense 4242")
    expect(page.locator("#decide-form input[type=checkbox]")).to_have_count(0)
    expect(page.locator("#complete-button")).to_have_count(0)
    page.click("#reject-button")
    expect(page.locator("[data-field-error=comment]")).to_contain_text("Say why you reject it.")
    expect(page.locator("#comment")).to_have_class(re.compile(r"is-invalid"))
    page.fill("#comment", "Budget is fine after all")
    page.click("#approve-button")
    expect(page.locator(".alert-success")).to_contain_text("Approved.")
    page.goto(f"{approval_server}/approvals/?view=decided")
    expect(page.locator("table")).to_contain_text("Budget is fine after all")
    context.close()
