"""Errors at run time: a script error and a failing service operator roll the step back, put the
instance in error with a readable `last_error` (the operator's own message, not the library's
"NameError: script"), and leave the human task open; `repair.retry` runs a failed start, a failed
timer step and a failed message delivery again once the cause is fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.extensions import db
from crm.org.models import User
from crm.workflow import runtime
from crm.workflow.admin import repair
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.conftest import statements
from tests.workflow.conftest import data
from tests.workflow.conftest import effects
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


@pytest.fixture
def bill(org, deploy):
    deploy("errors")
    instance = runtime.start("wf_errors", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def complete(task, form, user):
    try:
        return runtime.complete_task(task.id, form, actor_id=user.id)
    finally:
        db.session.commit()  # what the web edge does with StepFailed (keep_changes): keep the error record


def last_event(instance):
    return runtime.history(instance.id)[-1]


def test_script_error_rolls_the_step_back_and_is_readable(bill, org):
    task = one_task(bill, "enter")
    with pytest.raises(runtime.StepFailed) as err:
        complete(task, {"total": 100, "parts": 0}, org.a_rep1)
    assert err.value.instance_id == bill.id
    assert "division by zero" in err.value.detail and "compute" in err.value.detail
    reload(bill)
    assert bill.status == InstanceStatus.ERROR
    assert bill.last_error == err.value.detail
    assert bill.error_task_id is not None
    # The human task is still open for the user to try again; nothing after it ran.
    assert one_task(bill, "enter").id == task.id and tasks(bill, TaskStatus.COMPLETED) == []
    assert effects(bill) == []
    event = last_event(bill)
    assert event.kind == "error" and event.details["message"] == bill.last_error
    assert event.details["during"] == "task_completed"

    # The user corrects the form: the same task completes, the instance is healthy again.
    complete(task, {"total": 100, "parts": 4}, org.a_rep1)
    assert reload(bill).status == InstanceStatus.RUNNING and bill.last_error is None and bill.error_task_id is None
    assert data(bill)["share"] == 25
    assert effects(bill) == ["book"]
    assert kinds(bill) == ["created", "error", "test_effect", "task_completed"]


def test_operator_error_shows_the_operators_own_message(bill, org, broken):
    broken.add("book")
    task = one_task(bill, "enter")
    with pytest.raises(runtime.StepFailed) as err:
        complete(task, {"total": 9, "parts": 3}, org.a_rep1)
    assert err.value.detail == "test.record: the ledger is offline (book)"
    assert "NameError" not in err.value.detail and "script" not in err.value.detail
    reload(bill)
    assert bill.status == InstanceStatus.ERROR and bill.last_error == "test.record: the ledger is offline (book)"
    assert one_task(bill, "enter").status == TaskStatus.CLAIMED
    assert effects(bill) == []  # the operator's writes went with the step

    broken.discard("book")
    complete(task, {"total": 9, "parts": 3}, org.a_rep1)
    assert reload(bill).status == InstanceStatus.RUNNING
    assert one_task(bill, "confirm")
    assert effects(bill) == ["book"]


def test_a_completion_that_is_its_transactions_first_write_takes_no_savepoint(bill, org):
    # The transaction is the step: a failure rolls it back whole, then records the error (above).
    task = one_task(bill, "enter")
    with statements() as seen:
        complete(task, {"total": 100, "parts": 4}, org.a_rep1)
    # (The test harness's savepoint, standing for the request's BEGIN, opened with the task's read above.)
    assert [s for s in seen if s.startswith("SAVEPOINT")] == []
    assert reload(bill).status == InstanceStatus.RUNNING and effects(bill) == ["book"]


def test_a_failed_completion_after_other_writes_keeps_them(bill, org, broken):
    # Something else was written first in the transaction: the step runs in a savepoint of its own, and
    # its failure leaves the caller's writes as they were.
    broken.add("book")
    task = one_task(bill, "enter")
    org.a_rep2.name = "Renamed before the step"
    db.session.flush()
    with pytest.raises(runtime.StepFailed):
        runtime.complete_task(task.id, {"total": 9, "parts": 3}, actor_id=org.a_rep1.id)
    assert db.session.scalar(select(User.name).where(User.id == org.a_rep2.id)) == "Renamed before the step"
    db.session.commit()
    assert reload(bill).status == InstanceStatus.ERROR and effects(bill) == []


def test_retry_is_only_for_instances_in_error(bill, org):
    with pytest.raises(InvalidTransition):
        repair.retry(bill.id, actor_id=org.hq_admin.id)


def test_a_failed_start_keeps_the_instance_and_retry_runs_it(org, deploy, broken):
    deploy("errors")
    broken.add("open")
    with pytest.raises(runtime.StepFailed) as err:
        runtime.start("wf_errors_start", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                      actor_id=org.a_rep1.id)
    db.session.commit()
    instance = db.session.get(runtime.ProcessInstance, err.value.instance_id)
    assert instance.status == InstanceStatus.ERROR
    assert instance.last_error == "test.record: the ledger is offline (open)"
    assert tasks(instance) == []
    # Retrying while the cause is still there fails again and says so.
    with pytest.raises(runtime.StepFailed):
        repair.retry(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    broken.discard("open")
    repair.retry(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.RUNNING and instance.last_error is None
    assert one_task(instance, "work").assignee_id == org.a_rep1.id
    assert effects(instance) == ["open"]
    assert kinds(instance) == ["created", "error", "error", "test_effect", "retried"]


@pytest.fixture
def payment(org, deploy):
    deploy("timers")

    def _start(order_id):
        instance = runtime.start("wf_wait", object_type="order", object_id=order_id, store_id=org.store_a.id,
                                 data={"wait_hours": 48}, actor_id=org.a_rep1.id)
        db.session.commit()
        return instance

    return _start


def test_retry_a_failed_timer_step(payment, org, broken):
    broken.add("expired")
    t0 = utcnow()
    instance = payment(51)
    due = instance.next_timer_at
    with time_machine.travel(t0 + timedelta(hours=49), tick=False):
        assert runtime.fire_due_timers() == 1  # taken, failed, recorded; the job goes on
        db.session.commit()
        reload(instance)
        assert instance.status == InstanceStatus.ERROR
        assert instance.last_error == "test.record: the ledger is offline (expired)"
        assert instance.next_timer_at == due  # the step was rolled back
        assert runtime.fire_due_timers() == 0  # an instance in error is not taken again and again
        broken.discard("expired")
        repair.retry(instance.id, actor_id=org.hq_admin.id)
        db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED and instance.last_error is None
    assert effects(instance) == ["expired"]
    assert kinds(instance) == ["created", "error", "test_effect", "retried"]


def test_retry_a_failed_message_delivery(payment, org, broken):
    broken.add("paid")
    instance = payment(52)
    with pytest.raises(runtime.StepFailed):
        runtime.send_message("payment_received", "order", 52, {"amount": 30}, actor_id=org.a_rep1.id)
    db.session.commit()
    reload(instance)
    assert instance.status == InstanceStatus.ERROR and "ledger is offline (paid)" in instance.last_error
    assert runtime.history(instance.id)[-1].details["pending"] == {"message": "payment_received", "payload": {"amount": 30}}
    broken.discard("paid")
    repair.retry(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["payment"] == {"amount": 30}  # the message that failed was delivered again
    assert effects(instance) == ["paid"]


def test_a_failing_delivery_does_not_keep_the_message_from_other_waiting_instances(payment, org, broken):
    broken.add("paid")
    first, second = payment(53), payment(53)
    with pytest.raises(runtime.StepFailed):
        runtime.send_message("payment_received", "order", 53, {"amount": 1})
    db.session.commit()
    # Both received it, both failed: each keeps the message for its retry (none is lost).
    for instance in (first, second):
        assert reload(instance).status == InstanceStatus.ERROR
        assert runtime.history(instance.id)[-1].details["pending"]["message"] == "payment_received"
    broken.discard("paid")
    for instance in (first, second):
        repair.retry(instance.id, actor_id=org.hq_admin.id)
        db.session.commit()
        assert reload(instance).status == InstanceStatus.COMPLETED and effects(instance) == ["paid"]


def test_a_retry_that_fails_again_keeps_the_message_for_the_next_one(payment, org, broken):
    broken.add("paid")
    instance = payment(54)
    with pytest.raises(runtime.StepFailed):
        runtime.send_message("payment_received", "order", 54, {"amount": 7})
    db.session.commit()
    with pytest.raises(runtime.StepFailed):  # retried too early: the ledger is still offline
        repair.retry(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    broken.discard("paid")
    repair.retry(instance.id, actor_id=org.hq_admin.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["payment"] == {"amount": 7}
    assert effects(instance) == ["paid"]


def test_a_message_sent_while_in_error_is_kept_and_stored_as_unmatched_if_no_longer_awaited(payment, org, broken):
    from sqlalchemy import select

    from crm.workflow.models import UnmatchedMessage

    broken.add("expired")
    t0 = utcnow()
    instance = payment(55)
    with time_machine.travel(t0 + timedelta(hours=49), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
        assert reload(instance).status == InstanceStatus.ERROR
        # Still waiting for the payment in its saved state: the message is kept, not lost, not unmatched.
        assert runtime.send_message("payment_received", "order", 55, {"amount": 9}) == []
        db.session.commit()
        assert kinds(instance)[-1] == "message_held"
        broken.discard("expired")
        repair.retry(instance.id, actor_id=org.hq_admin.id)  # the timer wins: the order expired
        db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED and effects(instance) == ["expired"]
    assert kinds(instance)[-1] == "held_message_released"
    [stored] = db.session.scalars(select(UnmatchedMessage).where(UnmatchedMessage.object_id == 55)).all()
    assert (stored.message_name, stored.payload) == ("payment_received", {"amount": 9})
