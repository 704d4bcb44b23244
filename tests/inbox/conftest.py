"""Inbox fixtures: the standard org (tests/factories.py), the inbox test process deployed, uploads in a
temporary folder, and `review(store, ...)` starting an instance whose open task it returns."""

from __future__ import annotations

from typing import Any

import pytest

from crm.extensions import db
from tests.conftest import deploy_inbox_process
from tests.conftest import start_review
from tests.factories import Org


@pytest.fixture(autouse=True)
def uploads(app: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_DIR", str(folder))
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_MAX_BYTES", 2048)
    return folder


@pytest.fixture
def inbox(org: Org) -> Org:
    deploy_inbox_process()
    db.session.commit()
    return org


@pytest.fixture
def review(inbox: Org) -> Any:
    def _start(store: Any = None, **kwargs: Any) -> Any:
        task = start_review(store or inbox.store_a, **kwargs)
        db.session.commit()
        return task

    return _start
