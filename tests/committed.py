"""Tests that commit for real (races between threads or processes need real transactions and row
locks), each module in a database of its own instead of the suite's savepointed session.

    pytestmark = requires_postgres("a real race needs PostgreSQL (row locks)")
    from tests.committed import db_session  # noqa: F401  (turns the savepointed session off)

    @pytest.fixture(scope="module")
    def shared(tmp_path_factory):
        with committed_app(tmp_path_factory.mktemp("x"), "crm_x", setup) as (url, app, ids):
            yield app, ids
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from crm.extensions import db
from tests.conftest import isolated_database
from tests.conftest import make_test_app


def requires_postgres(why: str) -> Any:
    return pytest.mark.skipif(not os.environ.get("CRM_TEST_DATABASE_URL"),
                              reason=f"{why}: set CRM_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def db_session() -> Any:
    """Replaces the suite's savepointed session: these tests commit for real, in their own schema."""
    yield None


@contextmanager
def committed_app(directory: Path, prefix: str, setup: Callable[[Any, dict[str, Any]], dict[str, Any]]
                  ) -> Iterator[tuple[str, Flask, dict[str, Any]]]:
    """(database url, app, ids): a fresh schema with the default roles and the test org, then
    `setup(org, roles)` (deploy processes, make rows) whose returned ids the tests use; committed."""
    from crm.auth.defaults import ensure_default_roles
    from tests import factories

    with isolated_database(directory, prefix) as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            roles = ensure_default_roles()
            ids = setup(factories.build_org(roles), roles)
            db.session.commit()
            db.session.remove()
        try:
            yield url, app, ids
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
