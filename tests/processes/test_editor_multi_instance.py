"""A multi-instance task made in the editor's side panel runs: data/wf_browser_mi.bpmn is byte for byte what
the panel saves (tests/browser/test_processes.py compares it), a parallel user task over `approvers` with the
item `approver` and the output `decisions` / `decision`. Deployed through the editor's save route, it gives
each listed user an inbox task of their own, and the process goes on only when all of them are done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import current_definitions
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.conftest import csrf
from tests.workflow.conftest import candidates
from tests.workflow.conftest import data
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks

EDITOR_MI = Path(__file__).parent / "data" / "wf_browser_mi.bpmn"
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _save(client: Any, xml: str) -> Any:
    token = csrf(client, "/processes/editor")
    return client.post("/processes/editor/save", json={"xml": xml, "comment": "Everyone approves", "key": None},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _variant(old: str, new: str) -> str:
    """The saved file with one more panel field, written as the panel writes it (the browser test checks
    the panel's form of cardinality and completion condition)."""
    xml = EDITOR_MI.read_text(encoding="utf-8")
    assert old in xml
    return xml.replace(old, new).replace('id="Defs_wf_browser"', f'{XSI} id="Defs_wf_browser"')


def test_the_panels_parallel_multi_instance_deploys_and_waits_for_every_approver(client: Any, login_as: Any,
                                                                                owner: Any, org: Any) -> None:
    xml = EDITOR_MI.read_text(encoding="utf-8")
    assert "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>" in xml  # the file is what the test is about
    login_as(owner)
    resp = _save(client, xml)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert current_definitions()["wf_browser"].source == "editor"

    approvers = [org.a_sup, org.a_manager, org.east_manager]
    instance = runtime.start("wf_browser", store_id=org.store_a.id, data={"approvers": [u.id for u in approvers]},
                             actor_id=owner.id)
    db.session.commit()
    rows = tasks(instance)
    assert [t.assignee_id for t in rows] == [u.id for u in approvers]
    for row, user in zip(rows, approvers, strict=True):
        assert row.bpmn_id == "check" and row.status == TaskStatus.CLAIMED and row.item == user.id
        assert candidates(row) == {user.id}
    assert len({t.task_guid for t in rows}) == 3

    login_as(org.a_manager)
    assert "Check the order" in client.get("/tasks/").get_data(as_text=True)  # in the approver's own inbox

    for row, user in zip(rows[:2], approvers[:2], strict=True):
        runtime.complete_task(row.id, {"decision": {"by": user.id, "ok": True}}, actor_id=user.id)
        db.session.commit()
        assert reload(instance).status == InstanceStatus.RUNNING  # still waiting for the others
    assert [t.assignee_id for t in tasks(instance)] == [org.east_manager.id]
    runtime.complete_task(rows[2].id, {"decision": {"by": org.east_manager.id, "ok": False}},
                          actor_id=org.east_manager.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert [d["by"] for d in data(instance)["decisions"]] == [u.id for u in approvers]
    assert len(tasks(instance, TaskStatus.COMPLETED)) == 3


def test_a_completion_condition_from_the_panel_ends_the_other_instances(client: Any, login_as: Any, owner: Any,
                                                                        org: Any) -> None:
    login_as(owner)
    xml = _variant('<bpmn:outputDataItem id="decision" name="decision" />',
                   '<bpmn:outputDataItem id="decision" name="decision" /><bpmn:completionCondition '
                   'xsi:type="bpmn:tFormalExpression">not decision[\'ok\']</bpmn:completionCondition>')
    assert _save(client, xml).status_code == 200
    approvers = [org.a_sup, org.a_manager, org.east_manager]
    instance = runtime.start("wf_browser", store_id=org.store_a.id, data={"approvers": [u.id for u in approvers]},
                             actor_id=owner.id)
    db.session.commit()
    rows = tasks(instance)
    runtime.complete_task(rows[0].id, {"decision": {"by": org.a_sup.id, "ok": True}}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.RUNNING
    runtime.complete_task(rows[1].id, {"decision": {"by": org.a_manager.id, "ok": False}}, actor_id=org.a_manager.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED  # the rejection ended it
    assert [t.assignee_id for t in tasks(instance, TaskStatus.CANCELLED)] == [org.east_manager.id]


def test_a_cardinality_from_the_panel_makes_that_many_instances(client: Any, login_as: Any, owner: Any,
                                                                org: Any) -> None:
    login_as(owner)
    xml = _variant('<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>',
                   '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">2</bpmn:loopCardinality>')
    xml = xml.replace('<bpmn:inputDataItem id="approver" name="approver" />', "")
    assert _save(client, xml).status_code == 200
    instance = runtime.start("wf_browser", store_id=org.store_a.id, actor_id=owner.id)
    db.session.commit()
    assert len(tasks(instance)) == 2


def test_a_collection_and_a_cardinality_together_are_a_readable_problem(client: Any, login_as: Any,
                                                                         owner: Any) -> None:
    login_as(owner)
    xml = _variant('<bpmn:loopDataInputRef>', '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">2'
                   '</bpmn:loopCardinality><bpmn:loopDataInputRef>')
    resp = _save(client, xml)
    assert resp.status_code == 422
    problem = resp.get_json()["problems"][0]
    assert problem["element_id"] == "check" and "cardinality" in problem["message"]


def test_a_cardinality_with_an_output_that_already_exists(client: Any, login_as: Any, owner: Any, org: Any) -> None:
    """SpiffWorkflow 3.2.0 misspells a variable in this check (guide §4.3: `NameError: name 'data_ouput'`), so
    a cardinality loop whose output list already exists (seeded, or from an earlier pass of a loop) failed
    with a NameError. The engine corrects the check: an empty list is used, a filled one is a readable error."""
    login_as(owner)
    xml = _variant('<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>',
                   '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">2</bpmn:loopCardinality>')
    xml = xml.replace('<bpmn:inputDataItem id="approver" name="approver" />', "")
    assert _save(client, xml).status_code == 200
    instance = runtime.start("wf_browser", store_id=org.store_a.id, data={"decisions": []}, actor_id=owner.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.RUNNING
    assert len(tasks(instance)) == 2

    with pytest.raises(runtime.StepFailed) as failed:
        runtime.start("wf_browser", store_id=org.store_a.id, data={"decisions": ["old"]}, actor_id=owner.id)
    assert "cardinality" in str(failed.value) and "data_ouput" not in str(failed.value)
