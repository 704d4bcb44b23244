"""Parallel guessing, on PostgreSQL with real commits in a schema of its own: the throttle rows are locked
(SELECT … FOR UPDATE, created race-free), so ten wrong passwords sent at the same moment, half through the
mobile number and half through the e-mail of one account, get exactly five guesses checked; the rest are
refused as locked. The same for the per-address limit with guesses spread over many accounts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crm.auth.models import LoginThrottle
from crm.auth.services import _account_key
from crm.extensions import db
from crm.org.models import User
from tests.conftest import committed_app
from tests.conftest import csrf
from tests.conftest import requires_postgres

pytestmark = [requires_postgres("a real race needs PostgreSQL (row locks)"), pytest.mark.committed]


@pytest.fixture
def world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        rep = org.users["a_rep1"]
        return {"rep": rep.id, "mobile": rep.mobile, "email": rep.email}

    with committed_app(tmp_path, "crm_throttle", setup) as (_url, app, ids):
        yield app, ids


def _at_once(app: Flask, attempts: list[tuple[str, str, str]]) -> list[int]:
    """Each (address, identifier, password) posted by its own browser, all released together (a plain test
    client: no application context is pushed here, every request has its own)."""
    clients: list[FlaskClient] = []
    for address, _identifier, _password in attempts:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        clients.append(client)
    tokens = [csrf(c) for c in clients]
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = [0] * len(attempts)

    def attempt(i: int) -> None:
        _address, identifier, password = attempts[i]
        barrier.wait()
        resp = clients[i].post("/login", data={"identifier": identifier, "password": password,
                                               "csrf_token": tokens[i]})
        statuses[i] = resp.status_code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return statuses


def _row(app: Flask, key: Callable[[], str]) -> LoginThrottle | None:
    with app.app_context():
        try:
            return db.session.scalar(select(LoginThrottle).where(LoginThrottle.identifier_hash == key()))
        finally:
            db.session.remove()


def test_ten_parallel_guesses_through_two_identifiers_get_five_checked(world: Any) -> None:
    app, ids = world
    attempts = [(f"203.0.113.{i}", ids["mobile"] if i % 2 else ids["email"], "wrong") for i in range(10)]
    statuses = _at_once(app, attempts)
    assert sorted(statuses) == [401] * 5 + [429] * 5, statuses

    def key() -> str:
        return _account_key(db.session.get(User, ids["rep"]))

    row = _row(app, key)
    assert row is not None and row.failures == 5 and row.locked_until is not None


def test_parallel_spraying_from_one_address_stops_at_the_limit(world: Any) -> None:
    app, _ids = world
    # 30 unknown accounts, one guess each, all from one address at once: 20 are checked, 10 refused.
    attempts = [("198.51.100.1", f"1370000{i:04d}", "wrong") for i in range(30)]
    statuses = _at_once(app, attempts)
    assert sorted(statuses) == [401] * 20 + [429] * 10, statuses
