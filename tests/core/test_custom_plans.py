"""`crm.core.db.custom_plans`: the rest of the transaction planned for each statement's own parameters on
PostgreSQL (one `SET LOCAL` per transaction, gone at its end); nothing elsewhere."""

from __future__ import annotations

from sqlalchemy import text

from crm.core.db import custom_plans
from crm.extensions import db
from tests.conftest import statements


def test_once_per_transaction_and_gone_with_it(app):
    session = db.session()
    postgres = session.get_bind().dialect.name == "postgresql"
    with statements() as seen:
        custom_plans(session)
        custom_plans(session)
    assert _sets(seen) == (1 if postgres else 0)
    if not postgres:
        return
    assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    session.rollback()
    assert session.scalar(text("SHOW plan_cache_mode")) == "auto"
    with statements() as seen:
        custom_plans(session)  # a new transaction: set again
    assert _sets(seen) == 1


def _sets(seen: list[str]) -> int:
    """The statements besides the test harness's savepoints (its transactions)."""
    return len([s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])
