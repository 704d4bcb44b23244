"""Fixtures of the REST API tests.

`api_org` is the standard org (tests/factories.py) with `api.use` granted to the store manager and
salesperson roles, committed (to the test's savepoint) so that a request answering an error, which rolls
its transaction back, keeps the fixture data. `token(user)` makes an API token; `call` sends a request
with it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from crm.auth.services import create_token
from crm.extensions import db
from tests.factories import Org


def grant(role: Any, *permissions: str) -> None:
    role.permissions = sorted({*role.permission_list, *permissions})
    db.session.flush()


@pytest.fixture
def api_org(org: Org) -> Org:
    grant(org.roles["store_manager"], "api.use")
    grant(org.roles["salesperson"], "api.use")
    db.session.commit()
    return org


@pytest.fixture
def token() -> Any:
    made: dict[int, str] = {}

    def _token(user: Any, name: str = "test") -> str:
        if user.id not in made:
            _row, plain = create_token(user, name)
            db.session.commit()
            made[user.id] = plain
        return made[user.id]

    return _token


class ApiCaller:
    def __init__(self, client: FlaskClient, token: Any) -> None:
        self.client = client
        self.token = token

    def __call__(self, method: str, path: str, user: Any = None, *, json: Any = None, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> Any:
        sent = dict(headers or {})
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        return self.client.open(path, method=method, json=json, headers=sent, **kwargs)


@pytest.fixture
def call(client: FlaskClient, token: Any) -> ApiCaller:
    """call("GET", "/api/v1/me", user, json=..., headers=...)"""
    return ApiCaller(client, token)


def assert_problem(resp: Any, status: int, *fields: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    for field in fields:
        assert field in body.get("errors", {}), body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body
