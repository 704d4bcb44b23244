"""Due dates on user tasks (issue 24 item 6): the `due` property counted in working time (business hours,
weekends, Chinese public holidays and make-up workdays), the reminder before it and the escalations after
it (the assignee's supervisor, then the `escalate_to` role) under time-machine, each sent once; the inbox,
the task page and the API show it; a `due` that cannot be read is refused at deployment, naming the task."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.core import workcalendar
from crm.core.clock import LOCAL_ZONE
from crm.core.workcalendar import CalendarError
from crm.extensions import db
from crm.notify.models import Notification
from crm.workflow import runtime
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import deploy_files
from crm.workflow.models import ProcessEvent
from crm.workflow.tasks import reminders
from crm.workflow.tasks import services as tasks
from tests.conftest import html
from tests.workflow.conftest import candidates
from tests.workflow.conftest import one_task


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_ZONE)


CN = workcalendar.build(["09:00-12:00", "13:00-18:00"], [1, 2, 3, 4, 5], workcalendar.CN_HOLIDAYS,
                        workcalendar.CN_MAKEUP_DAYS)


# The working calendar ----------------------------------------------------------------------------------------
def test_a_working_day_after_friday_morning_is_monday_morning():
    friday = local(2026, 12, 4, 10, 0)
    assert CN.add(friday, workcalendar.parse_duration("P1D")) == local(2026, 12, 7, 10, 0)
    # Opened after hours on Friday: the whole of Monday.
    assert CN.add(local(2026, 12, 4, 20, 30), workcalendar.parse_duration("P1D")) == local(2026, 12, 7, 18, 0)
    # Hours skip the lunch break and the weekend.
    assert CN.add(friday, workcalendar.parse_duration("PT8H")) == local(2026, 12, 7, 10, 0)
    assert CN.add(local(2026, 12, 4, 11, 0), workcalendar.parse_duration("PT2H")) == local(2026, 12, 4, 14, 0)
    assert CN.add(friday, workcalendar.parse_duration("PT90M")) == local(2026, 12, 4, 11, 30)


def test_public_holidays_are_skipped_and_make_up_days_are_worked():
    # National Day 2026: 1-7 October off; Saturday 10 October is worked.
    assert CN.add(local(2026, 9, 30, 10, 0), workcalendar.parse_duration("P1D")) == local(2026, 10, 8, 10, 0)
    assert CN.add(local(2026, 10, 9, 10, 0), workcalendar.parse_duration("P1D")) == local(2026, 10, 10, 10, 0)
    assert CN.is_working_day(local(2026, 10, 10, 0, 0).date())
    assert not CN.is_working_day(local(2026, 10, 5, 0, 0).date())
    # Spring Festival 2026: 15-23 February off; Saturday 14 February worked.
    assert CN.add(local(2026, 2, 13, 17, 0), workcalendar.parse_duration("PT2H")) == local(2026, 2, 14, 10, 0)
    assert CN.add(local(2026, 2, 14, 17, 0), workcalendar.parse_duration("PT2H")) == local(2026, 2, 24, 10, 0)
    # Backwards (the reminder's lead) across the holiday.
    assert CN.subtract(local(2026, 10, 8, 10, 0), workcalendar.parse_duration("PT2H")) == local(2026, 9, 30, 17, 0)


def test_durations_and_settings_that_cannot_be_read_are_refused():
    assert workcalendar.parse_duration("P1DT4H") == workcalendar.Duration(days=1, minutes=240)
    assert workcalendar.parse_duration("P1W") == workcalendar.Duration(days=5)
    for bad in ("P", "PT", "P2X", "P1M", "P1Y", "PT4", "4H"):
        with pytest.raises(CalendarError):
            workcalendar.parse_duration(bad)
    with pytest.raises(CalendarError, match="WORK_HOURS"):
        workcalendar.build(["18:00-09:00"], [1], [], [])
    with pytest.raises(CalendarError, match="WORK_HOLIDAYS"):
        workcalendar.build(["09:00-18:00"], [1], ["2026-13-01"], [])
    with pytest.raises(CalendarError, match="no working time"):
        workcalendar.build(["09:00-18:00"], [1], ["2026-01-01/2026-12-31"], []).add(
            local(2026, 1, 1, 9, 0), workcalendar.Duration(days=400))


# A task's due date, reminder and escalations -----------------------------------------------------------------
FRIDAY_10 = local(2026, 12, 4, 10, 0).astimezone(UTC)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def due_task(org, deploy):
    """wf_due started on Friday 4 December 2026 at 10:00 (Shanghai) for a_rep1, whose supervisor is a_sup."""
    with at(FRIDAY_10):
        deploy("deadlines")
        instance = runtime.start("wf_due", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                                 data={"owner_id": org.a_rep1.id, "urgent": False}, actor_id=org.a_rep1.id)
        db.session.commit()
    return instance


def _told(kind: str) -> list[int]:
    return sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def _run(moment: datetime) -> dict[str, int]:
    with at(moment):
        done = reminders.run()
        db.session.commit()
    return done


def test_the_due_date_is_a_working_day_later_with_a_reminder_before(due_task, org):
    task = one_task(due_task, "handle")
    assert task.due_at == local(2026, 12, 7, 10, 0)  # Monday: the weekend does not count
    assert task.remind_at == local(2026, 12, 4, 17, 0)  # two working hours before: Monday 9-10, Friday 17-18
    assert task.escalate_at == task.due_at and task.escalation_level == 0
    assert task.due_policy == {"remind_minutes": 120, "escalate_to": ["store_manager"], "escalate_minutes": 480}


def test_reminder_then_escalation_to_the_supervisor_then_to_the_role_each_once(due_task, org):
    task = one_task(due_task, "handle")
    assert _run(local(2026, 12, 4, 16, 59)) == {"reminded": 0, "escalated": 0}
    assert _run(local(2026, 12, 4, 17, 0)) == {"reminded": 1, "escalated": 0}
    assert _told("task_due_soon") == [org.a_rep1.id]
    assert _run(local(2026, 12, 4, 17, 30)) == {"reminded": 0, "escalated": 0}  # once
    assert _told("task_due_soon") == [org.a_rep1.id]

    assert _run(local(2026, 12, 7, 9, 59)) == {"reminded": 0, "escalated": 0}
    assert _run(local(2026, 12, 7, 10, 1)) == {"reminded": 0, "escalated": 1}
    assert _told("task_overdue") == [org.a_rep1.id]
    assert _told("task_escalated") == [org.a_sup.id]
    task = one_task(due_task, "handle")
    assert task.escalation_level == 1 and org.a_sup.id in candidates(task)
    assert task.escalate_at == local(2026, 12, 8, 10, 0)  # a working day after the due date
    assert _run(local(2026, 12, 7, 17, 0)) == {"reminded": 0, "escalated": 0}  # once

    assert _run(local(2026, 12, 8, 10, 1)) == {"reminded": 0, "escalated": 1}
    assert _told("task_escalated") == sorted([org.a_sup.id, org.a_manager.id])  # store A's manager, not B's
    task = one_task(due_task, "handle")
    assert task.escalation_level == 2 and task.escalate_at is None
    assert org.a_manager.id in candidates(task)
    assert _run(local(2026, 12, 20, 10, 0)) == {"reminded": 0, "escalated": 0}
    history = [(e.kind, e.details.get("to")) for e in db.session.scalars(
        select(ProcessEvent).where(ProcessEvent.instance_id == due_task.id, ProcessEvent.kind.like("task_%"))
        .order_by(ProcessEvent.id))]
    assert history == [("task_due_soon", [org.a_rep1.id]), ("task_overdue", [org.a_rep1.id]),
                       ("task_escalated", [org.a_sup.id]), ("task_escalated", [org.a_manager.id])]


def test_an_unassigned_task_goes_straight_to_the_role_but_never_to_whom_it_excludes(org, deploy):
    with at(FRIDAY_10):
        deploy("deadlines")
        instance = runtime.start("wf_due_four_eyes", object_type="user", object_id=org.a_rep2.id,
                                 store_id=org.store_a.id, data={"recorded_by_id": org.a_rep2.id}, actor_id=org.a_rep2.id)
        db.session.commit()
    task = one_task(instance, "check")
    assert task.due_at == local(2026, 12, 4, 11, 0) and task.remind_at == local(2026, 12, 4, 10, 30)
    assert task.due_policy["exclude"] == [org.a_rep2.id]
    assert _run(local(2026, 12, 4, 10, 45)) == {"reminded": 1, "escalated": 0}
    assert _told("task_due_soon") == [org.a_sup.id]  # the candidates of an unclaimed task
    assert _run(local(2026, 12, 4, 11, 1)) == {"reminded": 0, "escalated": 1}
    assert _told("task_overdue") == [org.a_sup.id]
    assert _told("task_escalated") == sorted([org.a_rep1.id, org.a_rep3.id])  # not a_rep2, the recorder
    assert org.a_rep2.id not in candidates(one_task(instance, "check"))


def test_a_task_done_in_time_is_neither_reminded_nor_escalated(due_task, org):
    task = one_task(due_task, "handle")
    with at(local(2026, 12, 4, 11, 0)):
        runtime.complete_task(task.id, {}, actor_id=org.a_rep1.id)
        db.session.commit()
    # The next task's due date is an expression over the data ('P2D' unless urgent), without a reminder.
    follow = one_task(due_task, "follow")
    assert follow.due_at == local(2026, 12, 8, 11, 0) and follow.remind_at is None
    assert _run(local(2026, 12, 7, 10, 1)) == {"reminded": 0, "escalated": 0}
    assert _told("task_due_soon") == [] and _told("task_escalated") == []


def test_a_due_date_changed_by_hand_arms_the_reminder_again(due_task, org):
    _run(local(2026, 12, 4, 17, 0))
    task = one_task(due_task, "handle")
    with at(local(2026, 12, 4, 17, 10)):
        tasks.set_dates(task.id, actor=org.a_sup, due_at=local(2026, 12, 9, 15, 0).astimezone(UTC))
        db.session.commit()
    task = one_task(due_task, "handle")
    assert task.reminded_at is None and task.remind_at == local(2026, 12, 9, 13, 0)
    assert task.escalate_at == local(2026, 12, 9, 15, 0) and task.escalation_level == 0


def test_the_inbox_task_page_and_api_show_the_due_date(due_task, org, login_as, call, api_org):
    task = one_task(due_task, "handle")
    with at(local(2026, 12, 7, 11, 0)):
        client = login_as(org.a_rep1)
        page = html(client.get("/tasks/overdue"))
        assert "Handle the order" in page and 'class="table-danger" data-overdue="1"' in page
        detail = html(client.get(f"/tasks/{task.id}"))
        assert 'id="task-due"' in detail and "Overdue" in detail
        body = call("GET", f"/api/v1/tasks/{task.id}", org.a_rep1).get_json()
        assert datetime.fromisoformat(body["due_at"]) == local(2026, 12, 7, 10, 0)
        assert body["escalation_level"] == 0
        listed = call("GET", "/api/v1/tasks?view=overdue", org.a_rep1).get_json()
        assert [t["id"] for t in listed["items"]] == [task.id]
    with at(local(2026, 12, 4, 11, 0)):
        assert "Handle the order" not in html(login_as(org.a_rep1).get("/tasks/overdue"))


def test_the_inbox_in_chinese(due_task, org, login_as):
    task = one_task(due_task, "handle")
    _run(local(2026, 12, 7, 10, 1))
    with at(local(2026, 12, 7, 11, 0)):
        client = login_as(org.a_sup)
        page = html(client.get(f"/tasks/{task.id}", headers={"Accept-Language": "zh"}))
        assert "已逾期" in page and "已升级" in page


# Deployment ------------------------------------------------------------------------------------------------------
def _problems(xml: str) -> dict[str, list[str]]:
    with pytest.raises(DeploymentRejected) as err:
        deploy_files({"order_pipeline.bpmn": xml.encode()}, source="editor", comment="test")
    found: dict[str, list[str]] = {}
    for p in err.value.problems:
        found.setdefault(p.element_id or "", []).append(p.message)
    return found


@pytest.mark.parametrize(("value", "expected"), [
    ("P1X", "The task's due property 'P1X' is not a duration of working time"),
    ("P1M", "The task's due property 'P1M' is not a duration of working time"),
    ("two_dayz", "The due expression reads two_dayz"),
    ("'P2D' if", "The due expression is not valid Python"),
])
def test_an_unreadable_due_is_refused_naming_the_task(org, value, expected):
    xml = (PROCESS_DIR / "order_pipeline.bpmn").read_text(encoding="utf-8")
    marker = '<spiffworkflow:property name="role" value="warehouse"/>\n          <spiffworkflow:property name="due" value="P1D"/>'
    assert marker in xml
    found = _problems(xml.replace(marker, marker.replace('value="P1D"', f'value="{value}"')))
    assert any(expected in m for m in found.get("op_outbound", [])), found


def test_a_bad_reminder_lead_is_refused_too(org):
    xml = (PROCESS_DIR / "order_pipeline.bpmn").read_text(encoding="utf-8")
    marker = '<spiffworkflow:property name="escalate_to" value="store_manager"/>'
    xml = xml.replace(marker, marker + '<spiffworkflow:property name="remind" value="2 hours"/>', 1)
    found = _problems(xml)
    assert any("The task's remind property '2 hours'" in m for m in found.get("op_sign", [])), found


def test_the_order_pipeline_tasks_have_due_dates(org):
    xml = (PROCESS_DIR / "order_pipeline.bpmn").read_text(encoding="utf-8")
    for task_id, due in (("op_sign", "P2D"), ("op_outbound", "P1D"), ("op_delivery", "P2D"), ("op_refund", "P1D")):
        element = xml[xml.index(f'<bpmn:userTask id="{task_id}"'):]
        element = element[:element.index("</bpmn:userTask>")]
        assert f'<spiffworkflow:property name="due" value="{due}"/>' in element, task_id
        assert '<spiffworkflow:property name="escalate_to" value="store_manager"/>' in element, task_id


def test_the_escalation_delay_follows_the_setting(app, monkeypatch, org, deploy):
    monkeypatch.setitem(app.config, "TASK_REMIND_BEFORE", "none")
    with at(FRIDAY_10):
        deploy("deadlines")
        instance = runtime.start("wf_due", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                                 data={"owner_id": org.a_rep1.id, "urgent": True}, actor_id=org.a_rep1.id)
        db.session.commit()
    task = one_task(instance, "handle")
    assert task.remind_at is None and task.due_policy["remind_minutes"] == 0
    assert task.due_at - FRIDAY_10 == timedelta(days=3)


def test_a_calendar_setting_that_cannot_be_read_stops_start_up(app):
    """What the workflow's wiring checks before the app starts (on a copy of the settings: a half-built
    app would leave the shared API extension bound to it)."""
    from flask import Flask

    from crm.workflow.wiring import _check_calendar

    for setting, value in (("WORK_HOURS", ["09:00-25:00"]), ("WORK_WEEK", [0]), ("WORK_HOLIDAYS", ["2026-02-30"]),
                           ("TASK_REMIND_BEFORE", "2 hours"), ("TASK_ESCALATE_AFTER", "P1M")):
        other = Flask("check")
        other.config.update(app.config)
        other.config[setting] = value
        with pytest.raises(RuntimeError, match=f"CRM_{setting}"):
            _check_calendar(other)
    _check_calendar(app)  # the defaults are fine
