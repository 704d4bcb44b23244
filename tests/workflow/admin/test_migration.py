"""Moving running instances to a new version (guide §8.4): the preview says what will happen, the result
matches it, unsafe moves are refused with a reason, and the move is audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.core.errors import Conflict
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import instances as admin
from crm.workflow.admin.migration import MigrationRefused
from crm.workflow.models import InstanceStatus
from tests.factories import UserFactory
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload

KEY = "wf_mig"


def _at_b(deploy_chain: Any, owner: Any, store: Any) -> Any:
    """v1 = A -> B -> C; an instance that completed A and waits at B."""
    deploy_chain(KEY, "A", "B", "C")
    instance = runtime.start(KEY, object_type="order", object_id=1, store_id=store.id, actor_id=owner.id)
    runtime.complete_task(one_task(instance).id, {"a": 1}, actor_id=owner.id)
    db.session.commit()
    assert one_task(instance).bpmn_id == "B"
    return instance


def _finish(instance: Any, owner: Any) -> list[str]:
    """Complete every task in turn; the bpmn ids in the order they came."""
    path = []
    while reload(instance).status == InstanceStatus.RUNNING:
        task = one_task(instance)
        path.append(task.bpmn_id)
        runtime.complete_task(task.id, {}, actor_id=owner.id)
    return path


def _move(instance: Any, owner: Any) -> Any:
    plan = admin.migration_preview(instance.id, actor=owner)
    assert plan.safe, plan.reasons
    admin.migrate(instance.id, plan.token, actor=owner)
    db.session.commit()
    return plan


def test_a_task_added_before_the_current_one_will_not_run(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "A", "X", "B", "C")
    plan = _move(instance, owner)
    assert plan.added_skipped == ["Step X (X)"]
    assert plan.added_will_run == []
    assert plan.waiting_before == plan.waiting_after == ["Step B (B)"]
    assert reload(instance).definition.version == 2
    assert _finish(instance, owner) == ["B", "C"]
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert "migrated" in kinds(instance)


def test_a_task_added_after_the_current_one_runs(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "A", "B", "Y", "C")
    plan = _move(instance, owner)
    assert plan.added_will_run == ["Step Y (Y)"]
    assert plan.added_skipped == []
    assert _finish(instance, owner) == ["B", "Y", "C"]


def test_a_removed_completed_task_keeps_its_history(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "B", "C")
    plan = _move(instance, owner)
    assert plan.removed_completed == ["Step A (A)"]
    assert plan.waiting_after == ["Step B (B)"]
    # The instance loads again (the removed task's spec is kept in its own copy) and finishes.
    assert _finish(instance, owner) == ["B", "C"]
    assert reload(instance).status == InstanceStatus.COMPLETED
    completed = [e.bpmn_id for e in runtime.history(instance.id) if e.kind == "task_completed"]
    assert completed == ["A", "B", "C"]


def test_removing_the_task_the_instance_waits_at_is_refused(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "A", "C")
    plan = admin.migration_preview(instance.id, actor=owner)
    assert not plan.safe
    assert any("Step B (B)" in r and "no longer" in r for r in plan.reasons), plan.reasons
    with pytest.raises(MigrationRefused):
        admin.migrate(instance.id, plan.token or "x", actor=owner)
    db.session.rollback()
    assert reload(instance).definition.version == 1
    assert one_task(instance).bpmn_id == "B"


def test_a_stale_preview_is_not_applied(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "A", "B", "Y", "C")
    plan = admin.migration_preview(instance.id, actor=owner)
    runtime.complete_task(one_task(instance).id, {}, actor_id=owner.id)  # the instance moves on meanwhile
    db.session.commit()
    with pytest.raises(Conflict):
        admin.migrate(instance.id, plan.token, actor=owner)
    db.session.rollback()
    assert reload(instance).definition.version == 1


def test_the_move_is_audited(org: Any, owner: Any, deploy_chain: Any) -> None:
    instance = _at_b(deploy_chain, owner, org.store_a)
    deploy_chain(KEY, "A", "B", "Y", "C")
    _move(instance, owner)
    log = db.session.scalars(select(OperationLog).where(OperationLog.object_type == "process_instance",
                                                        OperationLog.object_id == instance.id)).all()
    assert [e.action for e in log] == ["process_migrated"]
    assert log[0].actor_id == owner.id


CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_wf_caller" targetNamespace="x">
  <bpmn:process id="wf_caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="call" name="Review" calledElement="wf_callee"/>
    {extra}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    {flows}
  </bpmn:process>
</bpmn:definitions>
"""
AFTER = ('<bpmn:userTask id="after" name="After the review"><bpmn:extensionElements><spiffworkflow:properties>'
         '<spiffworkflow:property name="assignee" value="initiator_id"/></spiffworkflow:properties>'
         '</bpmn:extensionElements></bpmn:userTask>')


def test_a_task_added_after_a_running_call_activity_runs(org: Any, owner: Any, deploy_chain: Any) -> None:
    """Guide §8.4 (1): the FUTURE path below a STARTED call activity keeps the old route with the library
    alone; the migration re-predicts it, so the new task runs once the called process ends."""
    from crm.workflow.deploy import deploy_files

    deploy_chain("wf_callee", "inner")
    v1 = CALLER.format(extra="", flows='<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>')
    deploy_files({"wf_caller.bpmn": v1.encode()}, source="file")
    db.session.commit()
    instance = runtime.start("wf_caller", store_id=org.store_a.id, actor_id=owner.id)
    db.session.commit()
    assert one_task(instance).bpmn_id == "inner"
    v2 = CALLER.format(extra=AFTER, flows='<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after"/>'
                                         '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>')
    deploy_files({"wf_caller.bpmn": v2.encode()}, source="file")
    db.session.commit()
    plan = _move(instance, owner)
    assert plan.added_will_run == ["After the review (after)"]
    assert _finish(instance, owner) == ["inner", "after"]
    assert reload(instance).status == InstanceStatus.COMPLETED


def test_an_instance_inside_a_multi_instance_approval_moves_and_finishes(org: Any, owner: Any) -> None:
    """Guide §8.4 (2): with freshly parsed specs the multi-instance children are not wired to their parent
    and completing the approval left the instance stuck; the migration's round-trip re-wires them. The
    task added after the tally (a future path below the STARTED multi-instance task) runs."""
    from pathlib import Path

    from crm.workflow import registry
    from crm.workflow.deploy import deploy_files

    folder = Path(__file__).resolve().parents[1] / "data" / "multi"
    registry.register_forms_dir(folder)
    v1 = (folder / "wf_mi.bpmn").read_text()
    deploy_files({"wf_mi.bpmn": v1.encode()}, source="file")
    db.session.commit()
    approvers = [org.a_sup, org.a_manager]
    instance = runtime.start("wf_mi", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             actor_id=owner.id, data={"mode": "all", "approvers": [u.id for u in approvers]})
    db.session.commit()
    from tests.workflow.conftest import tasks as open_tasks

    first = next(t for t in open_tasks(instance) if t.assignee_id == org.a_sup.id)
    runtime.complete_task(first.id, {"decision": {"approved": True}}, actor_id=org.a_sup.id)
    db.session.commit()
    v2 = v1.replace('<bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="end"/>',
                    '<bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="after"/>'
                    '<bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>')
    v2 = v2.replace('<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>',
                    AFTER + '<bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>')
    deploy_files({"wf_mi.bpmn": v2.encode()}, source="file")
    db.session.commit()
    plan = _move(instance, owner)
    assert plan.added_will_run == ["After the review (after)"]
    second = one_task(instance)
    assert second.assignee_id == org.a_manager.id
    runtime.complete_task(second.id, {"decision": {"approved": True}}, actor_id=org.a_manager.id)
    db.session.commit()
    assert one_task(instance).bpmn_id == "after"
    runtime.complete_task(one_task(instance).id, {}, actor_id=owner.id)
    assert reload(instance).status == InstanceStatus.COMPLETED


def test_moving_many_instances_from_the_process_page(client: Any, login_as: Any, org: Any, owner: Any,
                                                     deploy_chain: Any) -> None:
    from tests.conftest import csrf

    deploy_chain(KEY, "A", "B", "C")
    at = {}
    for steps, name in ((0, "A"), (1, "B"), (2, "C")):
        instance = runtime.start(KEY, store_id=org.store_a.id, actor_id=owner.id)
        for _ in range(steps):
            runtime.complete_task(one_task(instance).id, {}, actor_id=owner.id)
        at[name] = instance
    in_b = runtime.start(KEY, store_id=org.store_b.id, actor_id=owner.id)
    db.session.commit()
    deploy_chain(KEY, "A", "C")  # B removed
    store_admin = UserFactory(name="A Proc Admin", unit=org.store_a, roles=[org.roles["process_owner"]])
    db.session.commit()
    login_as(store_admin)
    page = client.get(f"/processes/definitions/{KEY}/migrate").get_data(as_text=True)
    assert f'data-instance="{in_b.id}"' not in page  # another store's instance is not listed
    assert f'value="{at["B"].id}"' not in page  # refused: it waits at B
    assert "which the new version no longer has" in page
    token = {name: page.split(f'name="token_{at[name].id}" value="')[1].split('"')[0] for name in ("A", "C")}
    form = {"csrf_token": csrf(client, "/processes/"), "confirm": "yes",
            "instance_ids": [str(at["A"].id), str(at["C"].id), str(at["B"].id), str(in_b.id)],
            f"token_{at['A'].id}": token["A"], f"token_{at['C'].id}": token["C"],
            f"token_{at['B'].id}": "forged", f"token_{in_b.id}": "forged"}
    resp = client.post(f"/processes/definitions/{KEY}/migrate", data=form)
    assert resp.status_code == 303
    assert [reload(at[n]).definition.version for n in ("A", "B", "C")] == [2, 1, 2]
    assert reload(in_b).definition.version == 1
    listing = client.get(f"/processes/definitions/{KEY}/migrate").get_data(as_text=True)
    assert "2 instances were moved to v2" in listing
    assert f"#{at['B'].id} was not moved" in listing and f"#{in_b.id} was not moved" in listing
    assert _finish(at["A"], owner) == ["A", "C"]
    assert _finish(at["C"], owner) == ["C"]
