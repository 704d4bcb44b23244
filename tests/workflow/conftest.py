"""Workflow test support: deploy a scenario folder of tests/workflow/data, test operators, and the small
queries the process tests share (open inbox rows, candidates, history, effects, data); racing threads
and the step-budget test diagram."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import Conflict
from crm.extensions import db
from crm.org.models import User
from crm.workflow import registry
from crm.workflow import runtime
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus

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


# Queries the process tests share ---------------------------------------------------------------------------
OPEN = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def tasks(instance: ProcessInstance, *statuses: TaskStatus, bpmn_id: str | None = None) -> list[HumanTask]:
    """The instance's inbox rows (open ones unless statuses are given), oldest first."""
    stmt = select(HumanTask).where(HumanTask.instance_id == instance.id,
                                   HumanTask.status.in_(statuses or OPEN)).order_by(HumanTask.id)
    if bpmn_id is not None:
        stmt = stmt.where(HumanTask.bpmn_id == bpmn_id)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def one_task(instance: ProcessInstance, bpmn_id: str | None = None) -> HumanTask:
    found = tasks(instance, bpmn_id=bpmn_id)
    assert len(found) == 1, [(t.bpmn_id, t.status) for t in found]
    return found[0]


def candidates(task: HumanTask) -> set[int]:
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))


def kinds(instance: ProcessInstance) -> list[str]:
    return [e.kind for e in runtime.history(instance.id)]


def effects(instance: ProcessInstance) -> list[str]:
    """Labels the `test.record` operator recorded for the instance, in order."""
    return [e.details["label"] for e in runtime.history(instance.id) if e.kind == "test_effect"]


def count_events(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessEvent).where(ProcessEvent.kind == kind)) or 0


def data(instance: ProcessInstance) -> dict[str, Any]:
    """The data of the instance's last completed task (the workflow's data once it has ended)."""
    wf = runtime._load(reload(instance))
    return dict(wf.data) if wf.is_completed() else dict(wf.last_task.data if wf.last_task else {})


def reload(instance: ProcessInstance) -> ProcessInstance:
    db.session.refresh(instance)
    return instance


# Racing threads (real commits) ----------------------------------------------------------------------------
def _race(app: Flask, calls: list[Any]) -> list[tuple[str, Any]]:
    """Run each call — (task_id, actor_id) for complete_task, or a function — in its own thread, app
    context and session, all released together; returns ("ok" | "conflict" | "error", detail) per call
    (for a function, "ok" comes with what it returned)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, Any]] = [("none", "")] * len(calls)

    def user(i: int, call: Any) -> None:
        with app.app_context():
            try:
                barrier.wait()
                if callable(call):
                    result = call()
                else:
                    task_id, actor_id = call
                    result = runtime.complete_task(task_id, {"by": actor_id}, actor_id=actor_id) and ""
                db.session.commit()
                outcomes[i] = ("ok", result)
            except Conflict as exc:
                db.session.rollback()
                outcomes[i] = ("conflict", str(exc))
            except BaseException as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes[i] = ("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=user, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    return outcomes


def _open_task_ids(instance_id: int) -> dict[str, int]:
    from crm.workflow.models import HumanTask

    return {bpmn_id: task_id for task_id, bpmn_id in db.session.execute(
        select(HumanTask.id, HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])))}


# The step budget's test diagram ---------------------------------------------------------------------------
def _diagram(key: str, script: str, *, wait_first: bool = False) -> bytes:
    """start -> [wait: a user task] -> loop: the script -> done: a user task -> end."""
    nodes = ["start", *(["wait"] if wait_first else []), "loop", "done", "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>\n'
                    for a, b in zip(nodes, nodes[1:], strict=False))
    assignee = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="assignee" '
                'value="initiator_id"/></spiffworkflow:properties></bpmn:extensionElements>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="http://x">\n'
        f'<bpmn:process id="{key}" name="Loop" isExecutable="true"><bpmn:startEvent id="start"/>\n'
        + (f'<bpmn:userTask id="wait" name="Wait">{assignee}</bpmn:userTask>\n' if wait_first else "")
        + f'<bpmn:scriptTask id="loop" name="Loop"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>\n'
        f'<bpmn:userTask id="done" name="Done">{assignee}</bpmn:userTask>\n<bpmn:endEvent id="end"/>\n'
        f'{flows}</bpmn:process></bpmn:definitions>\n'
    ).encode()
