"""The process owner's first look at the editor (issue 25), in English and Chinese: the order pipeline opens
legible, right of the palette, with zoom buttons; a task's `role` property offers the roles and `status` the
order's statuses; nothing is logged to the console (no `keyboard.bindTo` warning)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.config import Config
from crm.extensions import db
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

OWNER = "13800000004"  # 赵流程, process owner at HQ


@pytest.fixture
def owner_server(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser_process_owner") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            deploy_directory(PROCESS_DIR)
            db.session.commit()
        with serve(app) as base_url:
            yield base_url


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_editor_opens_legible_with_zoom_and_pickers(owner_server: str, browser: Any, locale: str) -> None:
    from playwright.sync_api import expect

    base = owner_server
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900},
                                  extra_http_headers={"Accept-Language": locale})
    page = context.new_page()
    page.set_default_timeout(15000)
    logged: list[str] = []
    page.on("console", lambda m: logged.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") and "favicon" not in (m.location or {}).get("url", "") else None)
    page.on("pageerror", lambda exc: logged.append(f"pageerror: {exc}"))
    page.goto(f"{base}/login")
    page.fill("#identifier", OWNER)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
    page.goto(f"{base}/processes/definitions/order_pipeline/edit")
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    zoom = page.evaluate("window.crmModeler.get('canvas').zoom()")
    assert zoom >= 0.6, zoom
    palette = page.locator("#canvas .djs-palette").bounding_box()
    start = page.locator("#canvas [data-element-id='op_start']").bounding_box()
    assert start["x"] > palette["x"] + palette["width"], (start, palette)  # the palette does not cover the start
    page.click("#zoom-in")
    assert page.evaluate("window.crmModeler.get('canvas').zoom()") > zoom
    page.click("#zoom-fit")
    assert page.evaluate("window.crmModeler.get('canvas').zoom()") < zoom
    page.reload()  # back to the view it opens with
    expect(page.locator("#canvas[data-ready='1']")).to_have_count(1)
    page.click("#canvas [data-element-id='op_sign']")
    rows = page.locator("[data-field='properties'] .pair")
    expect(rows.first.locator("input").nth(0)).to_have_value("status")
    expect(rows.first.locator("input").nth(1)).to_have_attribute("list", "status-list")
    statuses = page.locator("#status-list option").evaluate_all("els => els.map(e => e.value)")
    assert {"contracting", "pending_collection", "completed"} <= set(statuses)
    roles = page.locator("#role-list option").evaluate_all("els => els.map(e => e.value)")
    assert {"warehouse", "finance", "salesperson"} <= set(roles)
    assert logged == [], logged
    context.close()
