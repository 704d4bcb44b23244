"""Other timer kinds on one task: a cycle (`R3/PT1H`: three reminders, the task stays open), a date from
the data (`timeDate` with an offset), and an interrupting message boundary that cancels the task."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import time_machine

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import effects
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks

T0 = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
DEADLINE = "2031-03-01T20:00:00+08:00"  # 12:00 UTC, four hours after T0


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def case(org, deploy):
    deploy("timekinds")
    with at(T0):
        instance = runtime.start("wf_timekinds", object_type="ticket", object_id=77, store_id=org.store_a.id,
                                 data={"deadline_at": DEADLINE}, actor_id=org.a_rep1.id)
        db.session.commit()
    return instance


def test_a_cycle_fires_its_repetitions_and_the_task_stays_open(case):
    assert case.next_timer_at == T0 + timedelta(hours=1)
    task = one_task(case, "handle")
    for hour in (1, 2, 3):
        with at(T0 + timedelta(hours=hour, seconds=1)):
            assert runtime.fire_due_timers() == 1
            db.session.commit()
        assert effects(case) == ["hourly"] * hour
        assert one_task(case, "handle").id == task.id
    # After the third, the next timer is the date deadline.
    assert reload(case).next_timer_at == T0 + timedelta(hours=4)


def test_a_date_timer_with_an_offset_interrupts(case):
    with at(T0 + timedelta(hours=4, seconds=1)):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert reload(case).status == InstanceStatus.COMPLETED
    assert "deadline" in effects(case)
    assert [t.bpmn_id for t in tasks(case, TaskStatus.CANCELLED)] == ["handle"]


def test_a_message_boundary_cancels_the_task(case):
    with at(T0 + timedelta(minutes=5)):
        assert runtime.send_message("customer_cancelled", "ticket", 77) == [case.id]
        db.session.commit()
    assert reload(case).status == InstanceStatus.COMPLETED and case.next_timer_at is None
    assert effects(case) == ["cancelled"]
    assert tasks(case) == [] and [t.bpmn_id for t in tasks(case, TaskStatus.CANCELLED)] == ["handle"]
