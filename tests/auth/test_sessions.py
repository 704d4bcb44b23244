"""How sessions end: signing out, a password change or reset, and disabling the account each give the user
a new security stamp, and every request compares the stamp carried by the session cookie and by the
remember-me cookie (`User.get_id()` is "id:stamp") with the user's. A cookie captured before, replayed
after, signs nobody in. The remember-me cookie is HttpOnly, SameSite=Lax, and Secure exactly when the
session cookie is (CRM_SESSION_COOKIE_SECURE)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm.auth import services as auth_services
from crm.extensions import db
from crm.org import services as org_services
from crm.org.models import User
from tests.auth.conftest import login
from tests.auth.conftest import signed_in_as
from tests.conftest import RequestIsolatedClient
from tests.conftest import csrf
from tests.conftest import make_test_app
from tests.factories import PASSWORD
from tests.factories import UserFactory

WELCOME = "Welcome, Wang Fang"


def _client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


def _remembered_login(client: FlaskClient, identifier: str) -> Any:
    return client.post("/login", data={"identifier": identifier, "password": PASSWORD, "remember": "1",
                                       "csrf_token": csrf(client)})


def _replay(app: Flask, **cookies: str) -> FlaskClient:
    """A new browser holding only these cookies (as an attacker who copied them would)."""
    replay = _client(app)
    for name, value in cookies.items():
        replay.set_cookie(name, value)
    return replay


def _log_out(client: FlaskClient) -> None:
    resp = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert resp.status_code == 302


def test_a_session_cookie_replayed_after_log_out_signs_nobody_in(client: FlaskClient, app: Flask,
                                                                 fang: User) -> None:
    assert login(client, fang.mobile, PASSWORD).status_code == 302
    captured = client.get_cookie("session").value
    assert signed_in_as(_replay(app, session=captured)) == WELCOME  # the copy works while signed in ...

    _log_out(client)
    replay = _replay(app, session=captured)
    assert signed_in_as(replay) is None  # ... and not after signing out
    home = replay.get("/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/login")
    # The API never took cookies; nothing changes there either.
    assert replay.get("/api/v1/me").status_code == 401


def test_a_remember_token_replayed_after_log_out_signs_nobody_in(client: FlaskClient, app: Flask,
                                                                 fang: User) -> None:
    assert _remembered_login(client, fang.mobile).status_code == 302
    token = client.get_cookie("remember_token").value
    assert signed_in_as(_replay(app, remember_token=token)) == WELCOME  # the year-long cookie works ...

    _log_out(client)
    assert signed_in_as(_replay(app, remember_token=token)) is None  # ... until the user signs out
    # Signing in again issues a cookie that works.
    again = _client(app)
    assert _remembered_login(again, fang.mobile).status_code == 302
    assert signed_in_as(_replay(app, remember_token=again.get_cookie("remember_token").value)) == WELCOME


def test_log_out_ends_the_users_sessions_on_every_device(client: FlaskClient, app: Flask,
                                                         fang: User) -> None:
    """The stamp is per user: signing out on one device signs the other devices out too."""
    phone = _client(app)
    assert login(phone, fang.mobile, PASSWORD).status_code == 302
    assert login(client, fang.mobile, PASSWORD).status_code == 302
    _log_out(client)
    assert signed_in_as(phone) is None
    assert signed_in_as(client) is None


def test_log_out_without_a_session_is_harmless(client: FlaskClient, fang: User) -> None:
    resp = client.post("/logout", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"


def test_an_admin_password_reset_ends_the_users_sessions(client: FlaskClient, app: Flask, login_as: Any,
                                                          fang: User, roles: dict[str, Any]) -> None:
    assert _remembered_login(client, fang.mobile).status_code == 302
    session_cookie = client.get_cookie("session").value
    token = client.get_cookie("remember_token").value
    admin = UserFactory(name="Admin", unit=fang.org_unit, roles=[roles["super_admin"]])
    auth_services.reset_password(fang, "N3w-password!", actor=admin)
    db.session.commit()
    assert signed_in_as(_replay(app, session=session_cookie)) is None
    assert signed_in_as(_replay(app, remember_token=token)) is None


def test_disabling_ends_sessions_for_good(client: FlaskClient, app: Flask, fang: User,
                                          roles: dict[str, Any]) -> None:
    """Disabling rotates the stamp: enabling the account again does not bring old cookies back."""
    assert _remembered_login(client, fang.mobile).status_code == 302
    session_cookie = client.get_cookie("session").value
    token = client.get_cookie("remember_token").value
    admin = UserFactory(name="Admin", unit=fang.org_unit, roles=[roles["super_admin"]])
    org_services.disable_user(fang, transfer_to=None, actor=admin)
    db.session.commit()
    assert signed_in_as(_replay(app, session=session_cookie)) is None
    assert signed_in_as(_replay(app, remember_token=token)) is None
    org_services.enable_user(fang, actor=admin)
    db.session.commit()
    assert signed_in_as(_replay(app, session=session_cookie)) is None
    assert signed_in_as(_replay(app, remember_token=token)) is None
    assert login(_client(app), fang.mobile, PASSWORD).status_code == 302


def test_a_forged_stamp_signs_nobody_in(client: FlaskClient, fang: User) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{fang.id}:{'0' * 32}"
        sess["_fresh"] = True
    assert signed_in_as(client) is None
    with client.session_transaction() as sess:
        sess["_user_id"] = str(fang.id)  # the bare id (as before stamps) is not enough either
    assert signed_in_as(client) is None


# The remember-me cookie follows the session cookie's Secure flag ------------------------------------------
@pytest.fixture
def secure_app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app as an operator configures it behind HTTPS: CRM_SESSION_COOKIE_SECURE=true."""
    monkeypatch.setenv("CRM_SESSION_COOKIE_SECURE", "true")
    app = make_test_app(database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


def _set_cookies(resp: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in resp.headers.getlist("Set-Cookie")}


def test_remember_cookie_is_secure_when_the_session_cookie_is(secure_app: Flask, fang: User) -> None:
    assert secure_app.config["SESSION_COOKIE_SECURE"] is True
    client = _client(secure_app)
    # A Secure cookie comes back only over HTTPS: talk to the app as the TLS proxy in front of it would.
    client.environ_base["wsgi.url_scheme"] = "https"
    resp = client.post("/login", data={"identifier": fang.mobile, "password": PASSWORD, "remember": "1",
                                       "csrf_token": csrf(client)})
    assert resp.status_code == 302
    cookies = _set_cookies(resp)
    for name in ("session", "remember_token"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")]
        assert "secure" in attributes, cookies[name]
        assert "httponly" in attributes, cookies[name]
        assert "samesite=lax" in attributes, cookies[name]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_remember_cookie_is_not_secure_over_plain_http_by_default(client: FlaskClient, app: Flask,
                                                                  fang: User) -> None:
    resp = _remembered_login(client, fang.mobile)
    attributes = [part.strip().lower() for part in _set_cookies(resp)["remember_token"].split(";")]
    assert "secure" not in attributes  # a development server on http:// keeps working
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert "Strict-Transport-Security" not in resp.headers


def test_remember_cookie_secure_can_be_set_on_its_own(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("CRM_REMEMBER_COOKIE_SECURE", "false")
    app = make_test_app(database_url)
    assert app.config["REMEMBER_COOKIE_SECURE"] is False
