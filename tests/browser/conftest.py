"""Browser tests run a server on a database of their own, so they opt out of the suite's savepointed
session; a failed test's report is kept on the item so the page fixture can save a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def db_session() -> Iterator[None]:
    """Overrides tests/conftest.py's fixture: the server has its own database, engine and sessions."""
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
