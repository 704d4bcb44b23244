"""Signing in and out, throttling, password change, CSRF, safe redirects and the language switch."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from crm.auth.services import verify_password
from crm.extensions import db
from crm.org.models import User
from tests.auth.conftest import LOCKED
from tests.auth.conftest import START
from tests.auth.conftest import WRONG
from tests.auth.conftest import error_text
from tests.auth.conftest import login
from tests.auth.conftest import signed_in_as
from tests.conftest import csrf
from tests.factories import PASSWORD


def fresh_client(app: Flask) -> FlaskClient:
    return app.test_client()


# Log-in --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "identifier",
    ["13912345678", " 13912345678 ", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678", "+8613912345678",
     "0086 139 1234 5678", "１３９１２３４５６７８", "wang.fang@example.com", "WANG.FANG@EXAMPLE.COM",
     " Wang.Fang@Example.com "],
)
def test_log_in_by_mobile_or_email(client: FlaskClient, fang: User, identifier: str) -> None:
    resp = login(client, identifier, PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    assert signed_in_as(client) == "Welcome, Wang Fang"
    db.session.expire_all()
    assert db.session.get(User, fang.id).last_login_at is not None


def test_wrong_password_and_unknown_account_answer_the_same(client: FlaskClient, app: Flask, fang: User) -> None:
    wrong = login(client, fang.mobile, "not-the-password")
    other = fresh_client(app)
    unknown = login(other, "13700000000", "not-the-password")
    unknown_mail = login(fresh_client(app), "nobody@example.com", "not-the-password")
    for resp in (wrong, unknown, unknown_mail):
        assert resp.status_code == 401
        assert error_text(resp) == WRONG
        assert "Wang Fang" not in resp.get_data(as_text=True)
    assert signed_in_as(client) is None

    def scrub(resp: Any, identifier: str) -> str:
        page = resp.get_data(as_text=True).replace(identifier, "IDENTIFIER")
        return re.sub(r'(csrf-token" content="|csrf_token" value="|"X-CSRFToken": ")[^"]+', r"\1TOKEN", page)

    # Apart from the echoed identifier and the CSRF token, the two pages are byte for byte the same.
    assert scrub(wrong, fang.mobile) == scrub(unknown, "13700000000")


def test_empty_fields(client: FlaskClient, fang: User) -> None:
    resp = login(client, "   ", "")
    assert resp.status_code == 422
    assert error_text(resp) == "Enter your mobile number or e-mail and your password."


def test_disabled_user_cannot_log_in(client: FlaskClient, fang: User) -> None:
    fang.active = False
    db.session.commit()
    resp = login(client, fang.mobile, PASSWORD)
    assert resp.status_code == 401
    assert error_text(resp) == WRONG
    assert signed_in_as(client) is None


def test_disabling_ends_an_open_session(client: FlaskClient, fang: User, login_as: Any) -> None:
    login_as(fang)
    assert signed_in_as(client) == "Welcome, Wang Fang"
    fang.active = False
    db.session.commit()
    assert signed_in_as(client) is None


# Throttling ----------------------------------------------------------------------------------------------
def test_five_failures_lock_for_fifteen_minutes(client: FlaskClient, fang: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(4):
            assert login(client, fang.mobile, "wrong").status_code == 401
        # Four failures do not lock; a success clears the count.
        assert login(client, fang.mobile, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
        for _ in range(4):
            assert login(client, fang.mobile, "wrong").status_code == 401
        fifth = login(client, "+86 139-1234-5678", "wrong")  # the same identifier, written differently
        assert fifth.status_code == 401
        assert error_text(fifth) == WRONG

        locked = login(client, fang.mobile, PASSWORD)  # the right password no longer helps
        assert locked.status_code == 429
        assert error_text(locked) == LOCKED
        assert signed_in_as(client) is None
        assert login(client, "139 1234 5678", PASSWORD).status_code == 429

        clock.shift(timedelta(minutes=14, seconds=59))
        assert login(client, fang.mobile, PASSWORD).status_code == 429

        clock.shift(timedelta(seconds=2))
        assert login(client, fang.mobile, PASSWORD).status_code == 302
        assert signed_in_as(client) == "Welcome, Wang Fang"


def test_expired_lock_starts_counting_from_zero(client: FlaskClient, fang: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            login(client, fang.mobile, "wrong")
        assert login(client, fang.mobile, PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=16))
        assert login(client, fang.mobile, "wrong").status_code == 401  # one failure, not a sixth
        assert login(client, fang.mobile, PASSWORD).status_code == 302


def test_lock_is_per_account(client: FlaskClient, app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            login(client, fang.mobile, "wrong")
        assert login(client, fang.mobile, PASSWORD).status_code == 429
        # The e-mail names the same account: no five more guesses through it ...
        locked = login(fresh_client(app), "wang.fang@example.com", PASSWORD)
        assert locked.status_code == 429
        assert error_text(locked) == LOCKED
        # ... and other users are not affected.
        assert login(fresh_client(app), "13987654321", PASSWORD).status_code == 302


def test_unknown_identifier_is_locked_identically(client: FlaskClient, app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        known, unknown = [], []
        for _ in range(6):
            known.append(login(fresh_client(app), fang.mobile, "wrong"))
            unknown.append(login(fresh_client(app), "13700000000", "wrong"))
        assert [r.status_code for r in known] == [401] * 5 + [429]
        assert [r.status_code for r in unknown] == [401] * 5 + [429]
        assert [error_text(r) for r in known] == [error_text(r) for r in unknown] == [WRONG] * 5 + [LOCKED]
        clock.shift(timedelta(minutes=15, seconds=1))
        assert login(fresh_client(app), "13700000000", "wrong").status_code == 401


# Password change -----------------------------------------------------------------------------------------
def field_errors(resp: Any) -> dict[str, str]:
    page = resp.get_data(as_text=True)
    return {name: text.strip() for name, text in re.findall(r'data-field-error="([^"]+)">([^<]*)<', page)}


@pytest.mark.parametrize(
    ("current", "new", "confirm", "errors"),
    [
        ("wrong-current", "N3w-password!", "N3w-password!", {"current_password": "The current password is wrong."}),
        (PASSWORD, "N3w-password!", "N3w-passw0rd!", {"confirm_password": "The two new passwords differ."}),
        (PASSWORD, "Sh0rt!", "Sh0rt!", {"new_password": "Use at least 8 characters."}),
        (PASSWORD, "onlyletters", "onlyletters", {"new_password": "Mix letters with digits or symbols."}),
        (PASSWORD, PASSWORD, PASSWORD, {"new_password": "Choose a password different from the current one."}),
        ("wrong", "short", "other", {"current_password": "The current password is wrong.",
                                     "new_password": "Use at least 8 characters."}),
    ],
)
def test_password_change_errors(client: FlaskClient, login_as: Any, fang: User, current: str, new: str,
                                confirm: str, errors: dict[str, str]) -> None:
    login_as(fang)
    resp = client.post("/account/password", data={
        "current_password": current, "new_password": new, "confirm_password": confirm, "csrf_token": csrf(client, "/"),
    })
    assert resp.status_code == 422
    assert field_errors(resp) == errors
    assert 'id="form-errors"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert verify_password(db.session.get(User, fang.id).password_hash, PASSWORD)


def test_password_change_page_survives_success(client: FlaskClient, login_as: Any, fang: User) -> None:
    login_as(fang)
    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "N3w-password!", "confirm_password": "N3w-password!",
        "csrf_token": csrf(client, "/"),
    })
    assert resp.status_code == 302
    assert signed_in_as(client) == "Welcome, Wang Fang"


def test_password_change_ends_other_sessions(client: FlaskClient, app: Flask, fang: User) -> None:
    other = fresh_client(app)
    assert login(other, fang.mobile, PASSWORD).status_code == 302
    remembered = fresh_client(app)
    resp = remembered.post("/login", data={"identifier": fang.mobile, "password": PASSWORD, "remember": "1",
                                           "csrf_token": csrf(remembered)})
    assert resp.status_code == 302
    assert remembered.get_cookie("remember_token") is not None
    assert login(client, fang.mobile, PASSWORD).status_code == 302

    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "N3w-password!", "confirm_password": "N3w-password!",
        "csrf_token": csrf(client, "/"),
    })
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/account"
    assert signed_in_as(client) == "Welcome, Wang Fang"  # this session continues
    assert signed_in_as(other) is None  # the other one is over
    other_home = other.get("/")
    assert other_home.status_code == 302
    assert other_home.headers["Location"].startswith("/login")
    # A remember-me cookie of the old password does not bring a session back either.
    remembered.delete_cookie("session")
    assert signed_in_as(remembered) is None

    assert login(fresh_client(app), fang.mobile, PASSWORD).status_code == 401
    assert login(fresh_client(app), fang.mobile, "N3w-password!").status_code == 302


# CSRF ----------------------------------------------------------------------------------------------------
def test_form_without_csrf_token_is_refused(client: FlaskClient, login_as: Any, fang: User) -> None:
    login_as(fang)
    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "N3w-password!", "confirm_password": "N3w-password!",
    })
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "The form expired" in page
    assert "reload the page" in page
    db.session.expire_all()
    assert verify_password(db.session.get(User, fang.id).password_hash, PASSWORD)
    assert signed_in_as(client) == "Welcome, Wang Fang"


def test_forged_csrf_token_is_refused(client: FlaskClient, app: Flask, fang: User) -> None:
    foreign = csrf(fresh_client(app))  # valid, but for another session
    resp = client.post("/login", data={"identifier": fang.mobile, "password": PASSWORD, "csrf_token": foreign})
    assert resp.status_code == 400
    assert "The form expired" in resp.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_csrf_error_as_json(client: FlaskClient, fang: User) -> None:
    resp = client.post("/login", data={"identifier": fang.mobile, "password": PASSWORD},
                       headers={"Accept": "application/json"})
    assert resp.status_code == 400
    assert resp.get_json()["title"] == "The form expired"


# Redirects -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/account", "/account"),
        ("/account/password?x=1", "/account/password?x=1"),
        ("//evil.example", "/"),
        ("//evil.example/login", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_after_log_in_stays_on_site(client: FlaskClient, fang: User, next_url: str, location: str) -> None:
    from urllib.parse import quote

    resp = login(client, fang.mobile, PASSWORD, next_url=quote(next_url, safe=""))
    assert resp.status_code == 302
    assert resp.headers["Location"] == location


def test_anonymous_pages_redirect_to_sign_in(client: FlaskClient) -> None:
    resp = client.get("/account")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/account"
    api_like = client.get("/account", headers={"Accept": "application/json"})
    assert api_like.status_code == 401
    assert api_like.mimetype == "application/problem+json"


def test_signed_in_user_visiting_login_goes_home(client: FlaskClient, login_as: Any, fang: User) -> None:
    login_as(fang)
    resp = client.get("/login")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


# Log-out -------------------------------------------------------------------------------------------------
def test_log_out_needs_post(client: FlaskClient, login_as: Any, fang: User) -> None:
    login_as(fang)
    assert client.get("/logout").status_code == 405
    assert signed_in_as(client) == "Welcome, Wang Fang"
    assert client.post("/logout").status_code == 400  # no CSRF token: refused
    assert signed_in_as(client) == "Welcome, Wang Fang"

    resp = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert signed_in_as(client) is None


# Language ------------------------------------------------------------------------------------------------
def html_lang(resp: Any) -> str:
    match = re.search(r'<html lang="([^"]+)"', resp.get_data(as_text=True))
    assert match, "no <html lang>"
    return match.group(1)


def test_language_switch(client: FlaskClient, login_as: Any, fang: User) -> None:
    assert html_lang(client.get("/login")) == "en"
    resp = client.post("/language", data={"lang": "zh", "next": "/login", "csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    assert html_lang(client.get("/login")) == "zh-Hans"
    # Unknown languages are ignored; foreign redirect targets too.
    resp = client.post("/language", data={"lang": "xx", "next": "//evil.example", "csrf_token": csrf(client)})
    assert resp.headers["Location"] == "/"
    assert html_lang(client.get("/login")) == "zh-Hans"


def test_language_choice_is_kept_for_the_user(client: FlaskClient, app: Flask, login_as: Any, fang: User) -> None:
    login_as(fang)
    client.post("/language", data={"lang": "zh", "csrf_token": csrf(client, "/")})
    assert html_lang(client.get("/")) == "zh-Hans"
    db.session.expire_all()
    assert db.session.get(User, fang.id).locale == "zh"
    # Signing in on another device brings the user's language along.
    other = fresh_client(app)
    assert login(other, fang.mobile, PASSWORD).status_code == 302
    assert html_lang(other.get("/")) == "zh-Hans"


def test_browser_language_is_the_default(client: FlaskClient) -> None:
    assert html_lang(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})) == "zh-Hans"
    assert html_lang(client.get("/login", headers={"Accept-Language": "de-DE"})) == "en"


def test_a_hash_of_other_parameters_is_remade_with_the_tuned_ones_at_log_in(client: FlaskClient, app: Flask,
                                                                           fang: User) -> None:
    """A password hashed with argon2-cffi's old default (4 lanes, 3 passes) still signs in, and the hash is
    replaced by one with the tuned parameters (docs/benchmarks.md) in the same request."""
    from argon2 import PasswordHasher
    from argon2 import extract_parameters

    from crm.auth import services

    fang.password_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    db.session.flush()
    app.config["PASSWORD_HASH_FAST"] = False
    try:
        assert login(client, fang.mobile, PASSWORD).status_code == 302
    finally:
        app.config["PASSWORD_HASH_FAST"] = True
    db.session.expire_all()
    remade = extract_parameters(db.session.get(User, fang.id).password_hash)
    assert (remade.time_cost, remade.memory_cost, remade.parallelism) == (
        services.PASSWORD_TIME_COST, services.PASSWORD_MEMORY_KIB, services.PASSWORD_PARALLELISM)
    assert verify_password(db.session.get(User, fang.id).password_hash, PASSWORD)
