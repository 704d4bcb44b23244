"""The Content-Security-Policy in a real browser: the pages whose scripts moved out of the templates (list
filters that submit on change, the customer list's select-all, a task form's table rows), and the pages
carrying third-party code (bpmn-js in the process editor and viewer, Swagger UI, htmx, Bootstrap), run
with no violation reported and no script error, and their behaviours still work.

Like test_smoke.py: an app of its own on its own database with the demo data, served by werkzeug in a
thread, driven by Debian's Chromium (without it the test is skipped outside CI)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.config import Config
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.workflow.models import ProcessInstance
from tests.browser.conftest import serve
from tests.conftest import deploy_inbox_process
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.conftest import start_review

pytestmark = pytest.mark.browser

SUPER_ADMIN = "13800000001"
SUPERVISOR = "13800000102"  # 郑主管, supervisor in 天猫旗舰店


@pytest.fixture
def csp_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with isolated_database(tmp_path, "crm_browser_csp") as url:
        app = make_test_app(url, TASK_ATTACHMENT_DIR=str(tmp_path / "uploads"))
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            from crm.customers.leads import services as leads

            deploy_inbox_process()
            store = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "天猫旗舰店"))
            start_review(store, order_no="SO-5151", customer="华东物流")
            admin = db.session.scalar(select(User).where(User.mobile == SUPER_ADMIN))
            form = leads.create_web_form(store.id, "询价表", actor=admin)
            instance_id = db.session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id))
            db.session.commit()
            ids = {"form_token": form.token, "instance_id": instance_id}
        with serve(app) as base_url:
            yield base_url, ids


class Watch:
    """Collects CSP violations (Chromium reports each on the console) and uncaught script errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: page error: {exc}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or message.type == "error" and (
                "Refused to" in text):
            self.problems.append(f"{self.page.url}: {message.type}: {text[:300]}")


def _sign_in(page: Any, base: str, mobile: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/login")
    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
    expect(page).to_have_url(f"{base}/")


def test_pages_run_under_the_policy(csp_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base, ids = csp_server
    watch = Watch(page)
    response = page.goto(f"{base}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    _sign_in(page, base, SUPER_ADMIN)

    # Customer list: the header checkbox selects every row, and clears them again.
    page.goto(f"{base}/customers/")
    rows = page.locator("#customer-table tbody input[name=ids]")
    assert rows.count() > 1
    page.locator("#customer-table thead input[data-select-all]").check()
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))
    page.locator("#customer-table thead input[data-select-all]").uncheck()
    assert not any(rows.nth(i).is_checked() for i in range(rows.count()))

    # Filters that submit when the choice changes.
    page.goto(f"{base}/customers/leads?view=all")
    page.locator("select[name=status][data-autosubmit]").select_option(index=1)
    expect(page).to_have_url(re.compile(r"[?&]status=[^&]+"))
    page.goto(f"{base}/quotes/")
    page.select_option("#f-status", index=1)
    expect(page).to_have_url(re.compile(r"[?&]status=[^&]+"))
    page.goto(f"{base}/opportunities/")
    if page.locator("#f-pipeline").count():
        options = page.locator("#f-pipeline option")
        if options.count() > 1:
            value = options.nth(1).get_attribute("value")
            page.select_option("#f-pipeline", value)
            expect(page).to_have_url(re.compile(rf"pipeline_id={value}\b"))

    # Third-party code: bpmn-js (viewer and modeler), Swagger UI.
    page.goto(f"{base}/processes/{ids['instance_id']}")
    expect(page.locator(".djs-container").first).to_be_visible()
    page.goto(f"{base}/processes/editor")
    expect(page.locator(".djs-container").first).to_be_visible()
    page.goto(f"{base}/processes/definitions/wf_inbox/analytics")  # the heatmap colours shapes from a script
    expect(page.locator("#diagram[data-ready='1']")).to_have_count(1)
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    # Error pages and the public lead form (which may be framed) use the same scripts.
    page.goto(f"{base}/no/such/page")
    expect(page.locator("h1")).to_have_text("Not found")
    page.goto(f"{base}/f/{ids['form_token']}")
    expect(page.locator("form")).to_be_visible()

    assert watch.problems == []


def test_a_task_forms_table_rows_work_under_the_policy(csp_server: Any, page: Any) -> None:
    from playwright.sync_api import expect

    base, _ids = csp_server
    watch = Watch(page)
    _sign_in(page, base, SUPERVISOR)
    page.goto(f"{base}/tasks/group")
    page.locator("tr", has_text="Review order SO-5151").locator(".claim-button").click()
    expect(page.locator("#task-status")).to_have_text("Claimed")
    page.click("#f-lines-add")
    page.click("#f-lines-add")
    expect(page.locator("#f-lines-1-product")).to_be_visible()
    page.locator("#f-lines-0-product").locator("xpath=ancestor::tr").locator(".remove-row").click()
    expect(page.locator("#f-lines-0-product")).to_have_count(0)
    expect(page.locator(".form-table tbody .row-number")).to_have_text(["1"])
    assert watch.problems == []


@contextmanager
def _other_site(html: str) -> Iterator[str]:
    """Another origin (same host, another port) serving one page."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the handler's protocol
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_framing_page_is_refused(csp_server: Any, page: Any) -> None:
    """Another site's page cannot show ours in a frame (frame-ancestors 'none'); the lead form it can."""
    base, ids = csp_server
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    html = (f'<iframe id="crm" src="{base}/login"></iframe>'
            f'<iframe id="lead" src="{base}/f/{ids["form_token"]}"></iframe>')
    with _other_site(html) as other:
        page.goto(other)
        page.frame_locator("#lead").locator("form").wait_for()
        page.wait_for_timeout(500)
        assert page.frame_locator("#crm").locator("#login-button").count() == 0
    assert len(blocked) == 1 and "frame-ancestors 'none'" in blocked[0], blocked  # the sign-in page only
