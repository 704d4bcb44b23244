"""Workflow test support: deploy a scenario folder of tests/workflow/data, and a test operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.org.models import User
from crm.workflow import registry
from crm.workflow.deploy import deploy_directory

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
