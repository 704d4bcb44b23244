"""Workflow test support: deploy a scenario folder of tests/workflow/data, and a test operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.org.models import User
from crm.workflow import registry
from crm.workflow.deploy import deploy_directory
from tests.api.conftest import call  # noqa: F401  (the API tests' fixtures: call, token)
from tests.api.conftest import token  # noqa: F401

DATA = Path(__file__).parent / "data"


@registry.operator("test.set_position")
def set_position(ctx: registry.OperatorContext, user_id: int, position: str) -> dict[str, Any]:
    """Writes a domain row in the step's transaction (a user's position), like a real operator would."""
    if position == "explode":
        raise RuntimeError("the warehouse system is down")
    user = db.session.get(User, user_id)
    user.position = position
    return {"user_id": user_id, "position": position, "actor_id": ctx.actor_id}


@pytest.fixture
def deploy():
    """deploy("claim"): deploy tests/workflow/data/claim/*.bpmn with its forms folder registered."""

    def _deploy(scenario: str) -> Any:
        folder = DATA / scenario
        registry.register_forms_dir(folder)
        result = deploy_directory(folder)
        db.session.commit()
        return result

    return _deploy


# Appended for the process scenarios (tests/workflow/test_*.py) -------------------------------------------
# Labels for which `test.record` fails, as if the system behind it were down; tests add and remove them
# through the `broken` fixture. Child processes (concurrency tests) start with none.
BROKEN: set[str] = set()


@registry.operator("test.record")
def record(ctx: registry.OperatorContext, label: str) -> dict[str, Any]:
    """The visible effect of a service task: one `test_effect` history row per call, written in the
    step's transaction (so a rolled-back step leaves none). Fails while `label` is in BROKEN."""
    from crm.workflow.models import ProcessEvent

    if label in BROKEN:
        raise RuntimeError(f"the ledger is offline ({label})")
    db.session.add(ProcessEvent(instance_id=ctx.instance_id, kind="test_effect", bpmn_id=ctx.task_bpmn_id,
                                details={"label": label, "actor_id": ctx.actor_id}))
    return {"recorded": label}


@registry.script_function("reviewers_of")
def reviewers_of(*user_ids: int) -> list[int]:
    """A script function a pre-script calls to compute `assignees`."""
    return [int(u) for u in user_ids if u]


@pytest.fixture
def broken():
    """broken.add("label") makes `test.record(label)` fail until the test ends or discards it."""
    BROKEN.clear()
    yield BROKEN
    BROKEN.clear()
