"""Process admin test support: a failing operator to repair (`broken`). The process owners and the
diagrams built from a list of steps (`owner`, `store_admin`, `chain`, `deploy_chain`) are in
tests/conftest.py: the instance admin tests in tests/workflow use them too; a "svc:X" step of `chain`
calls the operator registered here."""

from __future__ import annotations

from typing import Any

import pytest

from crm.workflow import registry

BROKEN: set[str] = set()


@registry.operator("test.ledger")
def ledger(ctx: registry.OperatorContext, label: str) -> dict[str, Any]:
    """Fails while `label` is in BROKEN, as if the system behind it were down."""
    if label in BROKEN:
        raise RuntimeError(f"the ledger is offline ({label})")
    return {"booked": label}


@pytest.fixture
def broken():
    BROKEN.clear()
    yield BROKEN
    BROKEN.clear()
