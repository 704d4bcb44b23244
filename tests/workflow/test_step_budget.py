"""Every step has a time budget (issue 18, DESIGN §6): a script or expression that runs past it is
stopped, the step rolls back, the instance shows the error on the element, and a retry after the diagram
is fixed goes on. On PostgreSQL with real commits: a `while True:` completion answers within the budget
plus a margin, and a second request on the same instance is served (test_step_budget_locks.py)."""

from __future__ import annotations

from time import monotonic
from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import repair
from crm.workflow.budget import StepTimeout
from crm.workflow.budget import budget
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance
from crm.workflow.runtime import StepFailed
from tests import factories
from tests.workflow.conftest import _diagram
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task

BUDGET = 0.5


@pytest.fixture
def short_budget(app: Any, monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setitem(app.config, "PROCESS_STEP_BUDGET_SECONDS", BUDGET)
    return BUDGET


@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "n = 0\nwhile True:\n    try:\n        n += 1\n    except ValueError:\n        pass",
    "result = sum(1 for a in range(1000000) for b in range(1000000))",
    "def f(n):\n    return f(n + 1) if n % 900 else sum(1 for a in range(1000000) for b in range(1000000))\nf(1)",
])
def test_a_script_past_the_budget_is_stopped_and_the_step_rolled_back(script: str, org: Any, short_budget: float) -> None:
    deploy_files({"wf_loop.bpmn": _diagram("wf_loop", script)}, source="file")
    db.session.commit()
    with pytest.raises(StepFailed) as failed:
        runtime.start("wf_loop", actor_id=org.a_rep1.id)
    db.session.commit()
    assert "time budget of 0.5 s" in failed.value.detail and "[loop]" in failed.value.detail
    instance = db.session.get(ProcessInstance, failed.value.instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert "time budget" in instance.last_error
    assert "error" in kinds(instance)


def test_a_retry_after_the_diagram_is_fixed_goes_on(org: Any, short_budget: float) -> None:
    deploy_files({"wf_loop.bpmn": _diagram("wf_loop", "while True:\n    pass", wait_first=True)}, source="file")
    db.session.commit()
    instance = runtime.start("wf_loop", actor_id=org.a_rep1.id)
    db.session.commit()
    wait = one_task(instance, "wait")
    with pytest.raises(StepFailed):
        runtime.complete_task(wait.id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.ERROR and one_task(instance, "wait").id == wait.id  # rolled back
    # The process owner fixes the diagram and moves the instance onto it; the retry completes the task.
    deploy_files({"wf_loop.bpmn": _diagram("wf_loop", "looped = 1", wait_first=True)}, source="file")
    db.session.commit()
    from crm.workflow.admin import instances as admin

    owner = factories.UserFactory(unit=org.hq, roles=[org.roles["process_owner"]])
    db.session.commit()
    token = admin.migration_preview(instance.id, actor=owner).token
    admin.migrate(instance.id, token, actor=owner)
    db.session.commit()
    repair.retry(instance.id, actor_id=owner.id)
    db.session.commit()
    db.session.refresh(instance)
    assert instance.status == InstanceStatus.RUNNING
    # The completion was rolled back with its step: the task waits again, and now goes through.
    runtime.complete_task(one_task(instance, "wait").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    assert one_task(instance, "done")


def test_a_budget_inside_a_budget_shares_the_outer_deadline() -> None:
    started = monotonic()
    with pytest.raises(StepTimeout), budget(0.3) as outermost:
        assert outermost
        with budget(30) as inner:
            assert not inner
            while True:
                pass
    assert monotonic() - started < 10


def test_a_finished_budget_never_fires_later() -> None:
    for _ in range(200):
        with budget(0.001):
            pass
    # Deadlines of finished blocks have passed by now; none of them may reach this thread.
    deadline = monotonic() + 0.2
    while monotonic() < deadline:
        pass
