"""Shared fixtures.

- `app` is session-scoped; its schema is built once with create_all (migrations are tested on their own
  in tests/test_migrations.py). On PostgreSQL (CRM_TEST_DATABASE_URL) every run works in a fresh schema
  that is dropped at the end; on SQLite in a temporary file.
- `db_session` (autouse) wraps each test in an outer transaction; the code under test commits to a
  SAVEPOINT (SQLAlchemy 2 "join_transaction_mode=create_savepoint"), and everything is rolled back after.
- `client`, `login_as(user)`, `csrf(client)`; `org` builds a small org tree with users in several stores.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import sessionmaker

from crm import create_app
from crm.extensions import db
from tests import factories


def _postgres_schema_url(base_url: str, schema: str) -> str:
    url = make_url(base_url)
    query = dict(url.query)
    query["options"] = f"-csearch_path={schema}"
    return url.set(query=query).render_as_string(hide_password=False)


@contextmanager
def isolated_database(directory: Path, prefix: str) -> Iterator[str]:
    """A database nobody else uses, removed afterwards: on PostgreSQL (CRM_TEST_DATABASE_URL) a new
    schema named `<prefix>_<random>`, dropped at the end; otherwise a new SQLite file in `directory`."""
    base = os.environ.get("CRM_TEST_DATABASE_URL")
    if not base:
        yield "sqlite:///" + str(directory / f"{prefix}.sqlite3")
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with isolated_database(tmp_path_factory.mktemp("db"), "crm_test") as url:
        yield url


def make_test_app(database_url: str, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_FAST": True,
        "WTF_CSRF_ENABLED": True,
        "SCHEDULER_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def db_session(app: Flask) -> Iterator[Any]:
    """Each test runs inside one outer transaction that is rolled back; commits go to savepoints."""
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        connection.close()


class RequestIsolatedClient(FlaskClient):
    """Tests keep one app context pushed (for the database), and Flask reuses a pushed app context for
    requests, so `g` would leak from one request to the next (Flask-WTF caches the CSRF token there).
    Give every request an empty `g`, as a real server does."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g

        saved = dict(g.__dict__)
        g.__dict__.clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            g.__dict__.clear()
            g.__dict__.update(saved)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


_CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """A valid CSRF token for this client's session, read from a rendered page."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


@pytest.fixture
def login_as(client: FlaskClient) -> Any:
    """login_as(user): sign the test client in as `user` (through the session, not the form)."""

    def _login(user: Any) -> FlaskClient:
        with client.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return _login


@pytest.fixture
def roles() -> dict[str, Any]:
    from crm.auth.defaults import ensure_default_roles

    roles = ensure_default_roles()
    db.session.commit()  # into the test's savepoint: a request that rolls back must not take it along
    return roles


@pytest.fixture
def org(roles: dict[str, Any]) -> factories.Org:
    """A small company: HQ, two subsidiaries, three stores, departments, users in each (see factories.Org)."""
    built = factories.build_org(roles)
    # Commit (to the test's outer transaction): a request answering 4xx rolls its own work back, and an
    # uncommitted fixture would go with it.
    db.session.commit()
    return built
