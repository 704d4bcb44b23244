"""Migrations: on a brand-new empty database `flask db upgrade` builds exactly the schema the models
declare (Alembic's autogenerate finds nothing to do), and `flask db downgrade base` removes it again.

These tests run on a database of their own (a temporary SQLite file, or a fresh PostgreSQL schema created
and dropped here) through an app and engine of their own; the shared savepointed session is not used."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect

from crm.core.db import include_in_schema_compare
from crm.extensions import db
from tests.conftest import isolated_database
from tests.conftest import make_test_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"



@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    with isolated_database(tmp_path, "crm_mig") as url:
        yield url


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """Alembic's env.py calls logging.config.fileConfig, which disables every existing logger and replaces
    the root handlers; put everything back so later tests still see their log records."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
             for name, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, lg in logging.Logger.manager.loggerDict.items():
        if not isinstance(lg, logging.Logger):
            continue
        if name in saved:
            lg.disabled, lg.level, handlers, lg.propagate = saved[name]
            lg.handlers[:] = handlers
        else:
            lg.disabled = False


@pytest.fixture
def migration_app(empty_database_url: str, keep_logging: None) -> Iterator[Flask]:
    app = make_test_app(empty_database_url)
    with app.app_context():
        try:
            yield app
        finally:
            db.engine.dispose()


def schema_diff() -> list[Any]:
    with db.engine.connect() as conn:
        include = partial(include_in_schema_compare, dialect=conn.dialect.name)
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False,
                                                         "include_object": include})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_matches_the_models_and_downgrade_removes_everything(migration_app: Flask) -> None:
    assert table_names() == set()  # really a brand-new database

    flask_migrate.upgrade()
    model_tables = set(db.metadata.tables)
    assert model_tables <= table_names()
    assert schema_diff() == []

    flask_migrate.downgrade(revision="base")
    assert table_names() - {"alembic_version"} == set()

    # ... and the way up works again after the way down.
    flask_migrate.upgrade()
    assert schema_diff() == []


def test_upgrade_step_by_step_and_back(migration_app: Flask) -> None:
    """Every revision upgrades and downgrades on its own (not only all at once)."""
    script = ScriptDirectory.from_config(migration_app.extensions["migrate"].migrate.get_config(str(MIGRATIONS)))
    revisions = list(reversed(list(script.walk_revisions())))
    for rev in revisions:
        flask_migrate.upgrade(revision=rev.revision)
    assert schema_diff() == []
    for rev in reversed(revisions):
        flask_migrate.downgrade(revision=rev.down_revision or "base")
    assert table_names() - {"alembic_version"} == set()


def test_revisions_form_one_line_with_messages(migration_app: Flask) -> None:
    script = ScriptDirectory.from_config(migration_app.extensions["migrate"].migrate.get_config(str(MIGRATIONS)))
    assert len(script.get_heads()) == 1, "several heads: merge the migration branches"
    for rev in script.walk_revisions():
        assert rev.doc and rev.doc.strip() and rev.doc.strip().lower() != "empty message", (
            f"revision {rev.revision} ({rev.path}) has no message"
        )
