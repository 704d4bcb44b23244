"""A real browser against a real server: sign in as the demo salesperson, open the Sales menu from the
keyboard, switch to Chinese, sign out.

The server is an app of its own on its own database (a temporary SQLite file, or a fresh PostgreSQL
schema), filled by `flask crm seed-demo` and served by werkzeug in a thread. Playwright drives Debian's
Chromium (never a downloaded browser). Without /usr/bin/chromium the test is skipped, except under CI
(the CI variable set), where it fails instead. A screenshot of a failing page goes to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm.auth.models import Role
from crm.config import Config
from crm.extensions import db
from crm.org.models import User
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.factories import ORDER_PERMISSIONS

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).resolve().parents[2] / "crm" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"
SALESPERSON = ("13800000103", "王芳")
ADMIN = "13800000003"


@pytest.fixture
def server_database(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_browser") as url:
        yield url


def _seeded(database: str) -> Flask:
    app = make_test_app(database)
    # Inside this app's context: the CLI runs in whatever app context is current, and the suite keeps the
    # shared test app's context pushed.
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
        assert result.exit_code == 0, result.output
        assert SALESPERSON[0] in result.output
        assert db.session.scalar(select(User.name).where(User.mobile == SALESPERSON[0])) == SALESPERSON[1]
    return app


@pytest.fixture
def live_server(server_database: str) -> Iterator[str]:
    with serve(_seeded(server_database)) as url:
        yield url


@pytest.fixture
def upgraded_server(server_database: str) -> Iterator[str]:
    """The demo as a database from before orders has it after `db upgrade`: the salesperson role has no
    order permission and was never offered one."""
    app = _seeded(server_database)
    with app.app_context():
        role = db.session.scalar(select(Role).where(Role.key == "salesperson"))
        role.permissions = sorted(set(role.permission_list) - ORDER_PERMISSIONS)
        role.offered_permissions = sorted(set(role.offered_permissions) - ORDER_PERMISSIONS)
        db.session.commit()
        db.session.remove()
    with serve(app) as url:
        yield url


def _sign_in(page: Any, base: str, mobile: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")


def test_an_admin_grants_the_new_defaults_and_the_salesperson_sees_orders(upgraded_server: str, page: Any,
                                                                          browser: Any) -> None:
    from playwright.sync_api import expect

    rep = browser.new_page()
    _sign_in(rep, upgraded_server, SALESPERSON[0])
    expect(rep).to_have_url(f"{upgraded_server}/")
    assert rep.goto(f"{upgraded_server}/orders/").status == 403

    _sign_in(page, upgraded_server, ADMIN)
    page.goto(f"{upgraded_server}/admin/roles")
    notice = page.locator("#new-defaults")
    expect(notice.locator("[data-role-key='salesperson']")).to_contain_text("View contracting orders")
    page.click("#grant-defaults")
    expect(page.locator(".alert-success")).to_contain_text("New default permissions granted to 1 role.")
    expect(page.locator("#new-defaults")).to_have_count(0)

    assert rep.goto(f"{upgraded_server}/orders/").status == 200  # the salesperson's next request
    rep.close()


def test_sign_in_switch_language_sign_out(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    mobile, name = SALESPERSON
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.fill("#identifier", mobile)
    page.fill("#password", Config.DEMO_PASSWORD)
    page.click("#login-button")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("#welcome")).to_have_text(f"Welcome, {name}")
    expect(page.locator("#user-menu")).to_contain_text(name)

    # The Sales group works from the keyboard: focus its toggle, open it, arrow down to Customers, follow it.
    toggle = page.locator("#nav-group-sales")
    expect(page.locator("[data-nav-group='sales'] .dropdown-menu")).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(page.locator("[data-nav-group='sales'] .dropdown-item").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/customers")
    expect(toggle).to_have_class(re.compile(r"\bactive\b"))
    page.goto(f"{live_server}/")

    page.click("#language-switcher button[value='zh']")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page).to_have_url(f"{live_server}/")
    if TRANSLATIONS.exists():
        expect(page.locator("#welcome")).to_have_text(f"欢迎，{name}")

    page.click("#user-menu")
    page.click("#logout-button")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("#login-button")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")  # the language outlives the session
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=/")
