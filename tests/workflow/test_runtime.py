"""The runtime on a real diagram: lanes to roles, forms, service operators writing domain rows,
boundary and event-gateway timers, messages, errors recorded on the instance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import InstanceStatus
from crm.workflow.models import MessageSubscription
from crm.workflow.models import ProcessEvent
from crm.workflow.models import TaskStatus
from crm.workflow.models import UnmatchedMessage


@pytest.fixture
def claim(org, deploy):
    deploy("claim")
    instance = runtime.start(
        "wf_claim", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
        data={"customer_name": "ACME", "visit_days": 3}, actor_id=org.a_rep1.id,
    )
    db.session.commit()
    return instance


def open_tasks(instance):
    return list(db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    ))


def candidates(task):
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))


def test_start_creates_the_first_task_for_the_lane_role_in_the_store(claim, org):
    assert claim.status == InstanceStatus.RUNNING
    assert claim.business_status == "pending_approval"
    [task] = open_tasks(claim)
    assert task.title == "Approve claim of ACME"
    assert task.instructions == "Decide on the claim of ACME."
    assert task.form_schema == "wf_claim.approve.schema.json"
    assert task.priority == 1 and task.due_at is not None
    assert task.store_id == org.store_a.id and task.object_id == org.a_rep1.id
    # Lane "Supervisor" -> role supervisor, within store A only (store B's supervisor is not a candidate).
    assert candidates(task) == {org.a_sup.id}
    assert claim.next_timer_at is not None  # the 72 h boundary timer


def test_complete_runs_the_operator_in_the_same_transaction_and_waits_for_the_visit(claim, org):
    [task] = open_tasks(claim)
    runtime.complete_task(task.id, {"approved": True, "comment": "ok"}, actor_id=org.a_sup.id)
    db.session.commit()
    db.session.refresh(org.a_rep1)
    assert org.a_rep1.position == "claimed"
    db.session.refresh(task)
    assert task.status == TaskStatus.COMPLETED and task.completed_by_id == org.a_sup.id
    assert claim.business_status == "waiting_visit"
    subs = db.session.scalars(select(MessageSubscription.message_name).where(MessageSubscription.instance_id == claim.id)).all()
    assert subs == ["visit_recorded"]
    delivered = runtime.send_message("visit_recorded", "user", org.a_rep1.id, {"note": "met"})
    db.session.commit()
    assert delivered == [claim.id]
    assert claim.status == InstanceStatus.COMPLETED and claim.next_timer_at is None
    kinds = [e.kind for e in runtime.history(claim.id)]
    assert kinds == ["created", "task_completed", "message_received"]


def test_event_gateway_timer_releases_when_nobody_visits(claim, org):
    [task] = open_tasks(claim)
    runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_sup.id)
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        assert runtime.fire_due_timers() == 0
    with time_machine.travel(utcnow() + timedelta(days=3, minutes=1), tick=False):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert claim.status == InstanceStatus.COMPLETED
    db.session.refresh(org.a_rep1)
    assert org.a_rep1.position == "released"
    # The message arriving late is kept, not lost.
    assert runtime.send_message("visit_recorded", "user", org.a_rep1.id, {"note": "late"}) == []
    assert db.session.scalar(select(UnmatchedMessage).where(UnmatchedMessage.object_id == org.a_rep1.id)).payload == {"note": "late"}


def test_interrupting_boundary_timer_cancels_the_task(claim, org):
    [task] = open_tasks(claim)
    with time_machine.travel(utcnow() + timedelta(hours=73), tick=False):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    db.session.refresh(task)
    assert task.status == TaskStatus.CANCELLED
    assert claim.status == InstanceStatus.COMPLETED
    with pytest.raises(Conflict):
        runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_sup.id)


def test_only_candidates_complete_and_only_once(claim, org):
    [task] = open_tasks(claim)
    with pytest.raises(PermissionDenied):
        runtime.complete_task(task.id, {"approved": True}, actor_id=org.b_sup.id)
    runtime.complete_task(task.id, {"approved": False}, actor_id=org.a_sup.id)
    db.session.commit()
    with pytest.raises(Conflict):
        runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_sup.id)


def test_operator_error_rolls_the_step_back_and_is_recorded(claim, org, monkeypatch):
    [task] = open_tasks(claim)
    from tests.workflow import conftest as wf_conftest

    def broken(ctx, user_id, position):
        raise RuntimeError("the warehouse system is down")

    monkeypatch.setitem(runtime.engine.registry._operators, "test.set_position", broken)
    with pytest.raises(runtime.StepFailed) as err:
        runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_sup.id)
    assert "the warehouse system is down" in err.value.detail
    db.session.commit()
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN  # the completion was rolled back
    db.session.refresh(claim)
    assert claim.status == InstanceStatus.ERROR and "warehouse" in claim.last_error
    assert db.session.scalar(select(ProcessEvent.kind).where(ProcessEvent.instance_id == claim.id).order_by(ProcessEvent.id.desc()).limit(1)) == "error"
    # Once the operator works again, the user completes the task and the instance runs on.
    monkeypatch.setitem(runtime.engine.registry._operators, "test.set_position", wf_conftest.set_position)
    runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_sup.id)
    db.session.commit()
    assert claim.status == InstanceStatus.RUNNING and claim.last_error is None


def test_a_workflow_kept_for_a_completion_is_not_used_after_the_instance_moved_on(deploy, org):
    """`task_data(for_completion=True)` keeps the deserialized workflow for the transaction's completion
    (`runtime.prepared_workflow`, keyed by the instance's `lock_version`). If the stored instance moves on
    before the completion (another writer's step landing: emulated by writing its saved row back), the kept
    copy is stale and must not be stepped: the completion reloads, so the other branch's completion counts
    and the join passes. Stepping the stale copy would lose it (the instance would wait at the join)."""
    from sqlalchemy import update

    from crm.workflow.models import ProcessInstance
    from crm.workflow.tasks import services as task_services
    from tests.workflow.conftest import _open_task_ids

    deploy("concurrency")
    table = ProcessInstance.__table__
    sup, manager = org.a_sup.id, org.a_manager.id
    instance = runtime.start("wf_race", data={"deciders": [sup, manager], "parallel": True}, actor_id=org.a_rep1.id)
    db.session.commit()
    open_ids = _open_task_ids(instance.id)

    def row() -> dict[str, Any]:
        return dict(db.session.execute(select(table).where(table.c.id == instance.id)).one()._mapping)

    before = row()
    runtime.complete_task(open_ids["branch_b"], {}, actor_id=manager)  # the other writer's step
    db.session.commit()
    after = row()
    assert after["lock_version"] != before["lock_version"]
    db.session.execute(update(table).where(table.c.id == instance.id).values(before))  # not landed yet
    db.session.commit()
    db.session.expire_all()

    branch_a = db.session.get(HumanTask, open_ids["branch_a"])
    assert task_services.task_data(branch_a, for_completion=True) is not None  # keeps the workflow, before's
    db.session.execute(update(table).where(table.c.id == instance.id).values(after))  # now it has landed
    db.session.expire_all()
    runtime.complete_task(open_ids["branch_a"], {}, actor_id=sup)
    db.session.commit()
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == InstanceStatus.COMPLETED
