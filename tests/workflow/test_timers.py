"""Timers under time-machine (`tick=False`): Spiff reads `datetime.now(timezone.utc)`, which time-machine
moves along with `crm.core.clock.utcnow`. Boundary timers (non-interrupting: the reminder path runs and
the task stays open; interrupting: the task is cancelled), the event-based gateway's timer, and
`next_timer_at` kept for the scheduler's query."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crm.core.clock import utcnow
from crm.extensions import db
from crm.workflow import jobs
from crm.workflow import runtime
from crm.workflow.admin import repair
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import candidates
from tests.workflow.conftest import effects
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


@pytest.fixture
def t0():
    """A fixed start time, so every instant of a test is exact."""
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        yield start


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def complaint(org, deploy, t0):
    deploy("timers")
    instance = runtime.start("wf_reminder", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             data={"escalate_hours": 72}, actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


@pytest.fixture
def payment(org, deploy, t0):
    deploy("timers")
    instance = runtime.start("wf_wait", object_type="order", object_id=41, store_id=org.store_a.id,
                             data={"wait_hours": 48}, actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def test_boundary_timers_set_the_next_timer(complaint, org, t0):
    assert complaint.next_timer_at == t0 + timedelta(hours=24)
    task = one_task(complaint, "handle")
    assert candidates(task) == {org.a_sup.id}


def test_nothing_fires_before_it_is_due(complaint, t0):
    with at(t0 + timedelta(hours=23, minutes=59)):
        assert runtime.fire_due_timers() == 0
    assert kinds(complaint) == ["created"]


def test_non_interrupting_reminder_runs_and_the_task_stays_open(complaint, org, t0):
    task = one_task(complaint, "handle")
    with at(t0 + timedelta(hours=25)):
        assert jobs.fire_due_timers() == 1  # the scheduler's job: commits per batch
    assert effects(complaint) == ["reminder"]
    assert reload(complaint).status == InstanceStatus.RUNNING
    assert one_task(complaint, "handle").id == task.id  # the same open row, not a new one
    assert complaint.next_timer_at == t0 + timedelta(hours=72)  # the escalation is next
    assert kinds(complaint) == ["created", "test_effect", "timer_fired"]  # the step's event comes last
    # The reminder fires once: a later run takes nothing until the escalation is due.
    with at(t0 + timedelta(hours=48)):
        assert runtime.fire_due_timers() == 0
    # The supervisor finishes: the escalation timer goes with the task.
    runtime.complete_task(task.id, {}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(complaint).status == InstanceStatus.COMPLETED and complaint.next_timer_at is None
    assert effects(complaint) == ["reminder"]


def test_interrupting_timer_cancels_the_task_and_escalates(complaint, org, t0):
    task = one_task(complaint, "handle")
    with at(t0 + timedelta(hours=80)):
        # Both timers are due by now: the reminder and the escalation both run, in one step.
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    db.session.refresh(task)
    assert task.status == TaskStatus.CANCELLED and task.completed_by_id is None
    escalation = one_task(complaint, "escalation")
    assert candidates(escalation) == {org.a_manager.id}
    assert reload(complaint).status == InstanceStatus.RUNNING and complaint.next_timer_at is None
    assert effects(complaint) == ["reminder"]
    runtime.complete_task(escalation.id, {}, actor_id=org.a_manager.id)
    db.session.commit()
    assert reload(complaint).status == InstanceStatus.COMPLETED


def test_interrupting_timer_after_the_reminder(complaint, t0):
    with at(t0 + timedelta(hours=24, seconds=1)):
        assert runtime.fire_due_timers() == 1
    with at(t0 + timedelta(hours=72, seconds=1)):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert [t.bpmn_id for t in tasks(complaint)] == ["escalation"]
    assert [t.bpmn_id for t in tasks(complaint, TaskStatus.CANCELLED)] == ["handle"]
    assert kinds(complaint).count("timer_fired") == 2
    assert effects(complaint) == ["reminder"]


def test_event_gateway_timer_outcome(payment, t0):
    assert payment.next_timer_at == t0 + timedelta(hours=48)
    assert payment.business_status == "awaiting_payment"
    with at(t0 + timedelta(hours=47)):
        assert runtime.fire_due_timers() == 0
    # The engine fires a timer once its due time is strictly past; at the very instant nothing is taken
    # (a step then would fire nothing, yet the history would say "timer fired").
    with at(t0 + timedelta(hours=48)):
        assert runtime.fire_due_timers() == 0
    assert kinds(payment) == ["created"]
    with at(t0 + timedelta(hours=48, microseconds=1)):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert reload(payment).status == InstanceStatus.COMPLETED
    assert effects(payment) == ["expired"]
    assert runtime.send_message("payment_received", "order", 41, {"amount": 10}) == []  # too late: stored


def test_event_gateway_message_outcome_removes_the_timer(payment, t0):
    with at(t0 + timedelta(hours=1)):
        assert runtime.send_message("payment_received", "order", 41, {"amount": 10}) == [payment.id]
        db.session.commit()
    assert reload(payment).status == InstanceStatus.COMPLETED and payment.next_timer_at is None
    assert effects(payment) == ["paid"]
    with at(t0 + timedelta(days=5)):
        assert runtime.fire_due_timers() == 0


def test_timers_of_suspended_instances_wait_for_resume(payment, org, t0):
    repair.suspend(payment.id, actor_id=org.hq_admin.id)
    db.session.commit()
    with at(t0 + timedelta(hours=49)):
        assert runtime.fire_due_timers() == 0
        repair.resume(payment.id, actor_id=org.hq_admin.id)
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert reload(payment).status == InstanceStatus.COMPLETED
    assert kinds(payment) == ["created", "suspended", "resumed", "test_effect", "timer_fired"]
