"""Inbox test support: the inbox test process, `inbox`, `review(store, ...)` and `uploads` are
tests/conftest.py's (the task tests in tests/workflow/tasks use them too); here attachments always go to
a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def uploads(uploads: Path) -> Path:
    """Task attachments go to a temporary folder in every test here (tests/conftest.py's `uploads`)."""
    return uploads
