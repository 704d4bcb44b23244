"""Log-in throttling: one lock per account whichever identifier is typed (its mobile number, however
written, or its e-mail), and a limit per client address across accounts (LOGIN_ADDRESS_MAX_FAILURES
failures within LOGIN_ADDRESS_WINDOW_MINUTES). The client address is the connection's; X-Forwarded-For
counts only behind TRUSTED_PROXIES proxies. (The per-account rules themselves: tests/auth/test_login.py;
parallel guessing on PostgreSQL: tests/auth/test_throttle_race.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from crm.extensions import db
from crm.org.models import User
from tests.auth.conftest import LOCKED
from tests.auth.conftest import START
from tests.auth.conftest import WRONG
from tests.auth.conftest import error_text
from tests.auth.conftest import login
from tests.conftest import RequestIsolatedClient
from tests.conftest import csrf
from tests.conftest import make_test_app
from tests.factories import PASSWORD

ADDRESS_LOCKED = "Too many failed log-ins from your network. Try again in 15 minutes."


def _from(app: Flask, address: str = "127.0.0.1", **headers: str) -> FlaskClient:
    """A browser at `address` (the connection's remote address), sending `headers` with every request."""
    app.test_client_class = RequestIsolatedClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    for name, value in headers.items():
        client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return client


# One lock per account -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("guess_with", "then_with"),
    [
        ("13912345678", "wang.fang@example.com"),
        ("WANG.FANG@EXAMPLE.COM", "13912345678"),
        ("+86 139-1234-5678", " Wang.Fang@Example.com "),
    ],
)
def test_all_identifiers_of_an_account_share_one_lock(app: Flask, fang: User, guess_with: str,
                                                      then_with: str) -> None:
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            assert login(_from(app), guess_with, "wrong").status_code == 401
        locked = login(_from(app), then_with, PASSWORD)
        assert locked.status_code == 429
        assert error_text(locked) == LOCKED
        assert login(_from(app), "13987654321", PASSWORD).status_code == 302  # another account: unaffected
        clock.shift(timedelta(minutes=15, seconds=1))
        assert login(_from(app), then_with, PASSWORD).status_code == 302


def test_failures_through_both_identifiers_add_up(app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False):
        for identifier in ["13912345678", "wang.fang@example.com"] * 2 + ["139 1234 5678"]:
            assert login(_from(app), identifier, "wrong").status_code == 401
        assert login(_from(app), "wang.fang@example.com", PASSWORD).status_code == 429


# A limit per client address -------------------------------------------------------------------------------
def test_twenty_failures_from_one_address_lock_it_for_every_account(app: Flask, fang: User) -> None:
    """Password spraying: one guess each against many accounts never trips an account lock; the address
    limit stops it. A success in between (the attacker's own account) does not reset the count."""
    with time_machine.travel(START, tick=False) as clock:
        for n in range(19):
            assert login(_from(app, "203.0.113.7"), f"137000000{n:02d}", "wrong").status_code == 401
        assert login(_from(app, "203.0.113.7"), "13987654321", PASSWORD).status_code == 302
        twentieth = login(_from(app, "203.0.113.7"), "13700000099", "wrong")
        assert twentieth.status_code == 401
        assert error_text(twentieth) == WRONG

        # Now every log-in from that address is refused, even with the right password of an untouched account.
        refused = login(_from(app, "203.0.113.7"), fang.mobile, PASSWORD)
        assert refused.status_code == 429
        assert error_text(refused) == ADDRESS_LOCKED
        # Other addresses are not affected, and the account itself is not locked.
        assert login(_from(app, "198.51.100.20"), fang.mobile, PASSWORD).status_code == 302

        clock.shift(timedelta(minutes=14, seconds=59))
        assert login(_from(app, "203.0.113.7"), fang.mobile, PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=2))
        assert login(_from(app, "203.0.113.7"), fang.mobile, PASSWORD).status_code == 302


def test_the_address_count_forgets_a_quiet_spell(app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        for n in range(19):
            login(_from(app, "203.0.113.8"), f"137000001{n:02d}", "wrong")
        clock.shift(timedelta(minutes=15, seconds=1))  # nothing for longer than the window
        for n in range(19):
            assert login(_from(app, "203.0.113.8"), f"137000002{n:02d}", "wrong").status_code == 401
        assert login(_from(app, "203.0.113.8"), fang.mobile, PASSWORD).status_code == 302


def test_a_forwarded_for_header_does_not_escape_the_limit(app: Flask, fang: User) -> None:
    """Without TRUSTED_PROXIES the header is the client's word, not its address."""
    with time_machine.travel(START, tick=False):
        for n in range(20):
            client = _from(app, "203.0.113.9", **{"X-Forwarded-For": f"10.0.0.{n}"})
            assert login(client, f"137000003{n:02d}", "wrong").status_code == 401
        client = _from(app, "203.0.113.9", **{"X-Forwarded-For": "10.0.0.200"})
        assert login(client, fang.mobile, PASSWORD).status_code == 429


def test_an_ipv6_client_counts_per_64_network(app: Flask, fang: User) -> None:
    """A client holds a whole /64 and can pick a new address for every guess: the /64 is the client."""
    with time_machine.travel(START, tick=False):
        for n in range(20):
            assert login(_from(app, f"2001:db8:1:2::{n + 1:x}"), f"137000007{n:02d}", "wrong").status_code == 401
        assert login(_from(app, "2001:db8:1:2:ffff::1"), fang.mobile, PASSWORD).status_code == 429
        assert login(_from(app, "2001:db8:1:3::1"), fang.mobile, PASSWORD).status_code == 302


@pytest.fixture
def proxied_app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url, TRUSTED_PROXIES=1)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_the_forwarded_address_counts(proxied_app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False):
        for n in range(20):
            client = _from(proxied_app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.10"})
            assert login(client, f"137000004{n:02d}", "wrong").status_code == 401
        spoofer = _from(proxied_app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.10"})
        assert login(spoofer, fang.mobile, PASSWORD).status_code == 429
        # Another client behind the same proxy signs in.
        colleague = _from(proxied_app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.11"})
        assert login(colleague, fang.mobile, PASSWORD).status_code == 302


def test_the_limits_are_configurable(database_url: str, fang: User) -> None:
    app = make_test_app(database_url, LOGIN_ADDRESS_MAX_FAILURES=3, LOGIN_ADDRESS_WINDOW_MINUTES=5)
    try:
        with time_machine.travel(START, tick=False) as clock:
            for n in range(3):
                assert login(_from(app), f"137000005{n:02d}", "wrong").status_code == 401
            refused = login(_from(app), fang.mobile, PASSWORD)
            assert refused.status_code == 429
            assert error_text(refused) == "Too many failed log-ins from your network. Try again in 5 minutes."
            clock.shift(timedelta(minutes=5, seconds=1))
            assert login(_from(app), fang.mobile, PASSWORD).status_code == 302
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_address_limit_can_be_switched_off(database_url: str, fang: User) -> None:
    app = make_test_app(database_url, LOGIN_ADDRESS_MAX_FAILURES=0)
    try:
        with time_machine.travel(START, tick=False):
            for n in range(25):
                assert login(_from(app), f"137000008{n:02d}", "wrong").status_code == 401
            assert login(_from(app), fang.mobile, PASSWORD).status_code == 302
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_lock_message_in_chinese(app: Flask, fang: User) -> None:
    with time_machine.travel(START, tick=False):
        for n in range(20):
            login(_from(app, "203.0.113.12"), f"137000006{n:02d}", "wrong")
        client = _from(app, "203.0.113.12")
        resp = client.post("/login", data={"identifier": fang.mobile, "password": PASSWORD,
                                           "csrf_token": csrf(client)},
                           headers={"Accept-Language": "zh-CN"})
        assert resp.status_code == 429
        assert error_text(resp) == "来自您所在网络的登录失败次数过多，请 15 分钟后再试。"


def test_purge_forgets_addresses_that_only_signed_in(app: Flask, fang: User) -> None:
    from sqlalchemy import func
    from sqlalchemy import select

    from crm.auth.jobs import purge_login_throttle
    from crm.auth.models import LoginThrottle

    with time_machine.travel(START, tick=False) as clock:
        assert login(_from(app, "203.0.113.13"), fang.mobile, PASSWORD).status_code == 302
        login(_from(app, "203.0.113.14"), "13700000777", "wrong")
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) >= 2
        clock.shift(timedelta(days=1, minutes=1))
        purge_login_throttle()
        assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0
