"""A database connection that dies in the middle of a request answers 503 with Retry-After (a page for
browsers, problem+json for the API), not 500; nothing of the request is kept, and the next request is
served on a fresh connection.

On PostgreSQL with real commits in a schema of its own: the server really ends the request's backend
(pg_terminate_backend from a second connection) just before a chosen statement of the request runs; the
engine hook only picks the moment. SQLite has no backend to end: skipped there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from crm.auth.services import create_token
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import User
from tests.conftest import committed_app
from tests.conftest import csrf
from tests.conftest import requires_postgres

pytestmark = [requires_postgres("ending a backend needs PostgreSQL"), pytest.mark.committed]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask, dict[str, Any]]]:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        _row, token = create_token(org.hq_admin, "503 test")
        return {"rep": org.a_rep1.id, "token": token}

    with committed_app(tmp_path_factory.mktemp("gone"), "crm_gone", setup) as (url, app, ids):
        yield url, app, ids


class BackendKiller:
    """Arms a hook on the app's engine: the first statement containing `needle` finds its connection's
    backend terminated by the server (requested from a connection of our own) before it runs."""

    def __init__(self, url: str, app: Flask) -> None:
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with app.app_context():
            self.engine = db.engine
        self.needle: str | None = None
        self.killed: list[int] = []
        event.listen(self.engine, "before_cursor_execute", self._before)

    def arm(self, needle: str) -> None:
        self.needle = needle

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.needle is None or self.needle not in statement:
            return
        self.needle = None
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self.admin.connect() as admin:
            assert admin.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        self.killed.append(pid)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        self.admin.dispose()


@pytest.fixture
def killer(world: Any) -> Iterator[BackendKiller]:
    url, app, _ids = world
    k = BackendKiller(url, app)
    yield k
    k.close()


def _signed_in(app: Flask, user_id: int) -> FlaskClient:
    client = app.test_client()
    with app.app_context():
        stamped_id = db.session.get(User, user_id).get_id()
        db.session.remove()
    with client.session_transaction() as sess:
        sess["_user_id"] = stamped_id
        sess["_fresh"] = True
    return client


def test_a_page_answers_503_when_the_connection_drops(world: Any, killer: BackendKiller) -> None:
    _url, app, ids = world
    client = _signed_in(app, ids["rep"])
    assert client.get("/customers/").status_code == 200

    killer.arm("FROM customer")
    resp = client.get("/customers/", headers={"Accept-Language": "en"})
    assert killer.killed, "the hook did not fire"
    assert resp.status_code == 503
    assert resp.headers["Retry-After"].isdigit()
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert "The service is briefly unavailable" in page
    assert "The connection to the database was interrupted. Try again in a moment." in page
    assert resp.headers["X-Frame-Options"] == "DENY"  # the security headers too

    # The app recovered: the next request gets a fresh connection.
    assert client.get("/customers/").status_code == 200


def test_the_page_speaks_the_visitors_language(world: Any, killer: BackendKiller) -> None:
    _url, app, ids = world
    client = _signed_in(app, ids["rep"])
    killer.arm("FROM customer")
    resp = client.get("/customers/", headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 503
    assert "服务暂时不可用" in resp.get_data(as_text=True)


def test_the_api_answers_problem_json_503(world: Any, killer: BackendKiller) -> None:
    _url, app, ids = world
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ids['token']}"}
    assert client.get("/api/v1/customers", headers=auth).status_code == 200

    killer.arm("FROM customer")
    resp = client.get("/api/v1/customers", headers=auth)
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"].isdigit()
    body = resp.get_json()
    assert body["status"] == 503 and body["title"] == "The service is briefly unavailable"
    assert client.get("/api/v1/customers", headers=auth).status_code == 200


def test_a_write_cut_off_keeps_nothing(world: Any, killer: BackendKiller) -> None:
    _url, app, ids = world
    client = _signed_in(app, ids["rep"])
    token = csrf(client, "/customers/new")
    killer.arm("INSERT INTO customer ")
    resp = client.post("/customers/new", data={"csrf_token": token, "name": "Lost Co", "mobile": "138 0099 1234"})
    assert killer.killed
    assert resp.status_code == 503
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.name == "Lost Co")) == 0
        db.session.remove()
    # Sent again, it goes through.
    resp = client.post("/customers/new", data={"csrf_token": token, "name": "Lost Co", "mobile": "138 0099 1234"})
    assert resp.status_code == 302


def test_the_connection_drops_while_the_user_is_loaded(world: Any, killer: BackendKiller) -> None:
    """Before the view runs (Flask-Login's user loader): still 503, and no query while answering."""
    _url, app, ids = world
    client = _signed_in(app, ids["rep"])
    killer.arm('FROM "user"')
    resp = client.get("/customers/")
    assert killer.killed
    assert resp.status_code == 503
    assert client.get("/customers/").status_code == 200
