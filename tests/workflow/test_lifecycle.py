"""Admin actions on a running instance: suspend (tasks, timers and messages wait), resume, terminate
(open tasks cancelled, subscriptions and the timer removed, nothing runs afterwards)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import repair
from crm.workflow.models import InstanceStatus
from crm.workflow.models import MessageSubscription
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import data
from tests.workflow.conftest import effects
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


@pytest.fixture
def case(org, deploy):
    deploy("lifecycle")
    instance = runtime.start("wf_case", object_type="ticket", object_id=3, store_id=org.store_a.id,
                             actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def subscribed(instance):
    return db.session.scalars(select(MessageSubscription.message_name)
                              .where(MessageSubscription.instance_id == instance.id)).all()


def test_suspend_holds_tasks_timers_and_messages_until_resume(case, org):
    admin = org.hq_admin
    task = one_task(case, "work")
    repair.suspend(case.id, actor_id=admin.id)
    db.session.commit()
    assert reload(case).status == InstanceStatus.SUSPENDED
    with pytest.raises(InvalidTransition):
        runtime.complete_task(task.id, {}, actor_id=org.a_sup.id)
    with pytest.raises(InvalidTransition):
        repair.suspend(case.id, actor_id=admin.id)
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        assert runtime.fire_due_timers() == 0
        # A message meanwhile is not delivered to the suspended instance, and not lost: it is kept on it.
        assert runtime.send_message("customer_replied", "ticket", 3, {"text": "hello"}) == []
        assert subscribed(case) == ["customer_replied"] and effects(case) == []
        repair.resume(case.id, actor_id=admin.id)  # delivers the kept message (its step sees the due timer)
        db.session.commit()
        assert reload(case).status == InstanceStatus.RUNNING
        runtime.fire_due_timers()
        db.session.commit()
    with pytest.raises(InvalidTransition):
        repair.resume(case.id, actor_id=admin.id)
    assert effects(case) == ["reminder"]  # the overdue reminder ran once, after resume
    assert subscribed(case) == []
    runtime.complete_task(task.id, {}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(case).status == InstanceStatus.COMPLETED and data(case)["reply"] == {"text": "hello"}
    assert kinds(case)[:4] == ["created", "suspended", "message_held", "resumed"]
    assert kinds(case).count("message_received") == 1


def test_resume_returns_an_instance_in_error_to_error(case, org, broken):
    broken.add("reminder")
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
        assert reload(case).status == InstanceStatus.ERROR
        repair.suspend(case.id, actor_id=org.hq_admin.id)
        repair.resume(case.id, actor_id=org.hq_admin.id)
        assert case.status == InstanceStatus.ERROR and case.last_error
        broken.discard("reminder")
        repair.retry(case.id, actor_id=org.hq_admin.id)
        db.session.commit()
    assert reload(case).status == InstanceStatus.RUNNING and effects(case) == ["reminder"]


def test_terminate_cancels_tasks_subscriptions_and_timers(case, org):
    task = one_task(case, "work")
    task.draft = {"note": "half-written"}
    db.session.commit()
    assert subscribed(case) == ["customer_replied"] and case.next_timer_at is not None
    repair.terminate(case.id, actor_id=org.hq_admin.id, reason="customer withdrew")
    db.session.commit()
    reload(case)
    assert case.status == InstanceStatus.TERMINATED and case.completed_at is not None
    assert case.next_timer_at is None
    assert tasks(case) == [] and [t.id for t in tasks(case, TaskStatus.CANCELLED)] == [task.id]
    assert tasks(case, TaskStatus.CANCELLED)[0].draft is None  # unsent form data goes with the task
    assert subscribed(case) == []
    assert runtime.history(case.id)[-1].details == {"reason": "customer withdrew"}
    # Nothing moves it any more.
    with pytest.raises(Conflict):
        runtime.complete_task(task.id, {}, actor_id=org.a_sup.id)
    assert runtime.send_message("customer_replied", "ticket", 3, {}) == []
    with time_machine.travel(utcnow() + timedelta(days=3), tick=False):
        assert runtime.fire_due_timers() == 0
    for action in (repair.terminate, repair.suspend, repair.resume, repair.retry):
        with pytest.raises(InvalidTransition):
            action(case.id, actor_id=org.hq_admin.id)
    assert kinds(case) == ["created", "terminated"] and effects(case) == []


def test_terminate_a_suspended_instance(case, org):
    repair.suspend(case.id, actor_id=org.hq_admin.id)
    repair.terminate(case.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert reload(case).status == InstanceStatus.TERMINATED and tasks(case) == []
