"""The dry run in a real browser: the demo process owner opens the order pipeline in the editor, presses
"Test" and sees the runs on the demo orders' start data — the paths taken and the statuses — beside the
current version; then breaks a gateway condition in the editor, tests again and sees the error at that
gateway, marked on the canvas, while the current version completes; and tests again from the deployment's
review, which stays open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.config import Config
from crm.extensions import db
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessInstance
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

OWNER = "13800000004"  # 赵流程, process owner at HQ


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with isolated_database(tmp_path, "crm_browser_dry_run") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            assert db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.process_key == "order_pipeline"))
        with serve(app) as base_url:
            yield base_url, app


def _counts(app: Any) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0,
                db.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def test_test_in_the_editor_shows_the_paths_beside_the_current_version(demo_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base, app = demo_server
    before = _counts(app)
    page.goto(f"{base}/login")
    page.fill("#identifier", OWNER)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
    page.goto(f"{base}/processes/definitions/order_pipeline/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)

    page.click("#dry-run")
    runs = page.locator("#dry-run-runs")
    expect(runs).to_be_visible()
    expect(page.locator("#dry-run-box")).to_be_visible()
    first = runs.locator("tr.dry-run-row").first
    expect(first.locator(".dry-run-new [data-outcome='completed']")).to_be_visible()
    expect(first.locator(".dry-run-current [data-outcome='completed']")).to_be_visible()
    expect(first.locator(".dry-run-new .dry-run-path")).to_contain_text("Issue the delivery note")
    expect(runs).to_contain_text("Cancelled")  # the cancellation paths were explored
    expect(page.locator("#dry-run-summary")).to_contain_text("0 with an error")

    # Break the payment-mode condition in the diagram as it stands in the editor, and test again.
    page.evaluate("""() => {
      const modeler = window.crmModeler;
      const flow = modeler.get('elementRegistry').get('op_f_prepay');
      const expr = modeler.get('moddle').create('bpmn:FormalExpression', { body: 'int(order_number) > 0' });
      modeler.get('modeling').updateProperties(flow, { conditionExpression: expr });
    }""")
    page.click("#dry-run")
    error = page.locator(".dry-run-new .dry-run-error").first
    expect(error).to_contain_text("Payment mode? (op_gw_mode)")
    expect(page.locator("#dry-run-box li[data-element='op_gw_mode']")).to_have_count(1)
    expect(page.locator(".djs-element.crm-failed[data-element-id='op_gw_mode']")).to_have_count(1)
    expect(page.locator("tr.dry-run-row").first.locator(".dry-run-current [data-outcome='completed']")).to_be_visible()

    # From the deployment's review: "Test it first" runs the same test and keeps the review open.
    page.fill("#comment", "check the payment mode differently")
    page.click("#save")
    expect(page.locator("#deploy-review")).to_be_visible()
    page.click("#review-dry-run")
    expect(page.locator("#dry-run-box")).to_be_visible()
    expect(page.locator(".dry-run-new .dry-run-error").first).to_contain_text("op_gw_mode")
    expect(page.locator("#confirm-deploy")).to_be_visible()
    assert _counts(app) == before  # nothing deployed, no instance started
