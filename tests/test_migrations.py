"""Migrations: on a brand-new empty database `flask db upgrade` builds exactly the schema the models
declare (Alembic's autogenerate finds nothing to do), and `flask db downgrade base` removes it again.

These tests run on a database of their own (a temporary SQLite file, or a fresh PostgreSQL schema created
and dropped here) through an app and engine of their own; the shared savepointed session is not used."""

from __future__ import annotations

import json
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
from sqlalchemy import select
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm import sessionmaker

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


def test_roles_of_a_database_from_before_orders_are_offered_the_order_defaults_once(migration_app: Flask) -> None:
    """The upgrade path of a real installation: roles made by an older release, then `db upgrade` and
    `crm sync-roles`. Roles from before orders get `order.*`; a role that already had an order permission
    (made after orders, then trimmed by an admin) does not get the trimmed one back; custom roles and
    everything an admin changed stay as they were."""
    from sqlalchemy import text

    flask_migrate.upgrade(revision="3000d00be3a4")
    legacy = [  # key, default_name, is_system, permissions
        ("super_admin", "Super admin", True, ["org.view", "role.manage"]),
        ("salesperson", "Salesperson", False, ["customer.view", "customer.create", "quote.view"]),
        ("warehouse", "Warehouse", False, []),
        ("finance", "Finance", False, ["audit.view", "order.view", "order.export"]),  # made after orders, trimmed
        ("couriers", None, False, ["customer.view"]),  # an admin's own role
    ]
    with db.engine.begin() as conn:
        for key, default_name, is_system, permissions in legacy:
            conn.execute(text(
                "INSERT INTO role (key, name, default_name, data_scope, permissions, is_system, created_at, updated_at) "
                "VALUES (:key, :name, :default_name, 'store', :permissions, :is_system, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ), {"key": key, "name": default_name or "Couriers", "default_name": default_name,
                "permissions": json.dumps(permissions), "is_system": is_system})
    flask_migrate.upgrade()

    from crm.auth.defaults import apply_defaults
    from crm.auth.defaults import pending_defaults
    from crm.auth.models import Role

    original = db.session  # the autouse fixture's session is bound to the shared test database, not this one
    db.session = scoped_session(sessionmaker(bind=db.engine))
    try:
        pending = {item.key: item.permissions for item in pending_defaults()}
        # (and what later releases added to the role: collections, receivable plans, the enquiry statistics, invoices)
        assert pending["salesperson"] == ["api.use", "order.view", "order.create", "order.cancel", "finance.collection.record",
                                          "finance.plan.edit", "enquiry.view", "enquiry.enter_own",
                                          "finance.invoice.request", "finance.make_up.request",
                                          "aftersales.request", "work.report.file"]
        assert pending["warehouse"] == ["api.use", "order.view", "aftersales.inspect"]
        assert pending["logistics"] == ["api.use", "order.view", "finance.invoice.mail"]  # a new role
        # Finance was offered order.record_payment, so the finance centre's renames of it count as offered;
        # the export of the ledger, the invoices and the receivable plans are new.
        assert pending["finance"] == ["api.use", "finance.export", "finance.invoice.request", "finance.invoice.issue",
                                      "finance.invoice.mail", "finance.plan.edit", "finance.make_up.request"]
        assert "couriers" not in pending and "super_admin" not in pending
        apply_defaults(grant=True, actor=None)
        db.session.commit()
        roles = {r.key: r for r in db.session.scalars(select(Role))}
        assert roles["salesperson"].permission_list == sorted(["api.use", "customer.view", "customer.create", "quote.view",
                                                               "order.view", "order.create", "order.cancel",
                                                               "finance.collection.record", "finance.plan.edit",
                                                               "enquiry.view", "enquiry.enter_own",
                                                               "finance.invoice.request", "finance.make_up.request",
                                                               "aftersales.request", "work.report.file"])
        assert roles["finance"].permission_list == ["api.use", "audit.view", "finance.export", "finance.invoice.issue",
                                                    "finance.invoice.mail", "finance.invoice.request",
                                                    "finance.make_up.request", "finance.plan.edit",
                                                    "order.export",
                                                    "order.view"]
        assert roles["couriers"].permission_list == ["customer.view"]
        assert sorted(roles["logistics"].permission_list) == ["api.use", "finance.invoice.mail", "order.view"]
        assert "finance.collection.verify" in roles["super_admin"].permission_list
        assert pending_defaults() == []
    finally:
        db.session.remove()
        db.session = original


def test_the_customers_saved_views_move_into_the_shared_table_and_back(migration_app: Flask) -> None:
    """b8d0f2a4c6e8: `customer_saved_view` rows become `saved_view` rows of the list "customers" with their
    ids (bookmarked links keep working); the downgrade brings them back and drops the other lists' views."""
    from sqlalchemy import text

    flask_migrate.upgrade(revision="e4b6c8d0f2a3")
    with db.engine.begin() as conn:
        unit_id = _insert_row(conn, "org_unit", kind="hq", path="/", depth=0)
        user_id = _insert_row(conn, "user", org_unit_id=unit_id, mobile="13800000000")
        conn.execute(text("INSERT INTO customer_saved_view (id, user_id, name, query, columns, created_at) "
                          "VALUES (7, :u, 'Pool', 'owner=pool', '[\"tags\"]', CURRENT_TIMESTAMP)"), {"u": user_id})
    flask_migrate.upgrade(revision="b8d0f2a4c6e8")
    with db.engine.begin() as conn:
        rows = conn.execute(text("SELECT id, user_id, list_key, name, query, columns FROM saved_view")).all()
        assert [tuple(r[:5]) for r in rows] == [(7, user_id, "customers", "Pool", "owner=pool")]
        columns = rows[0][5]
        assert (json.loads(columns) if isinstance(columns, str) else columns) == ["tags"]
        conn.execute(text("INSERT INTO saved_view (user_id, list_key, name, query, columns, created_at) "
                          "VALUES (:u, 'aftersales_cases', 'Open', 'status=requested', '[]', CURRENT_TIMESTAMP)"),
                     {"u": user_id})
        assert conn.scalar(text("SELECT MAX(id) FROM saved_view")) == 8  # the ids go on after the copied ones
    assert "customer_saved_view" not in table_names()
    flask_migrate.downgrade(revision="e4b6c8d0f2a3")
    assert "saved_view" not in table_names()
    with db.engine.begin() as conn:
        back = conn.execute(text("SELECT id, user_id, name, query FROM customer_saved_view")).all()
    assert [tuple(r) for r in back] == [(7, user_id, "Pool", "owner=pool")]


def _insert_row(conn: Any, table: str, **given: Any) -> int:
    """Insert a row with `given` values and a plain value in every other required column (the table as the
    revision at hand has it); its id."""
    from datetime import UTC
    from datetime import datetime

    from sqlalchemy import Boolean
    from sqlalchemy import DateTime
    from sqlalchemy import Integer
    from sqlalchemy import MetaData
    from sqlalchemy import Table
    from sqlalchemy import func

    tbl = Table(table, MetaData(), autoload_with=conn)
    values = dict(given)
    for col in tbl.columns:
        if col.name in values or col.nullable or col.primary_key or col.server_default is not None:
            continue
        kind = col.type
        values[col.name] = (datetime.now(UTC) if isinstance(kind, DateTime) else False if isinstance(kind, Boolean)
                            else 0 if isinstance(kind, Integer) else [] if "JSON" in type(kind).__name__.upper()
                            else "x")
    conn.execute(tbl.insert().values(**values))
    return int(conn.scalar(select(func.max(tbl.c.id))))
