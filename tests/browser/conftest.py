"""Browser tests run a server on a database of their own, so they opt out of the suite's savepointed
session; a failed test's report is kept on the item so the page fixture can save a screenshot."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from crm.config import Config
from crm.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SUPERVISOR = "13800000102"  # 郑主管 (demo data)
REP = "13800000103"  # 王芳


@pytest.fixture(autouse=True)
def db_session() -> Iterator[None]:
    """Overrides tests/conftest.py's fixture: the server has its own database, engine and sessions."""
    yield


def _closing(app: Any) -> Any:
    """The app with every answer read whole and its iterator closed before werkzeug writes it. When the
    browser drops a connection mid-answer (it cancels a font or script it no longer needs), werkzeug's
    development server skips `close()` on the iterator, and a static file's handle is left open for the
    garbage collector: a ResourceWarning, an error under our warning filter, in whichever test runs then."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve `app` with werkzeug in a thread; yields its base URL, shuts it down afterwards."""
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium for the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed (apt install chromium); browser tests skipped outside CI")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10000)
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)  # set by tests/browser/conftest.py
        if report is None or report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def login(page: Any, base: str, mobile: str) -> None:
    """Sign in through the log-in page as a demo user (seed-demo's password)."""
    page.goto(f"{base}/login")
    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
