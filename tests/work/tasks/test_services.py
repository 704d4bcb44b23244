"""Work task services: arranging within one's scope only, recurring tasks (exactly one next occurrence,
under the time machine), reminders once, mentions that tell only who may see the task and its record."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.notify.models import Notification
from crm.work.tasks import discussion
from crm.work.tasks import jobs
from crm.work.tasks import services
from crm.work.tasks.models import WorkStatus
from crm.work.tasks.models import WorkTask
from crm.work.tasks.models import WorkTaskParticipant
from tests.factories import make_customer


def at(moment: str):
    return time_machine.travel(f"{moment}+08:00", tick=False)


def told(kind: str) -> list[int]:
    return sorted(n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == kind)))


def test_a_manager_arranges_work_for_people_of_their_scope_only(org):
    made = services.create_tasks({"title": "Call back", "assignee_ids": [org.a_rep1.id, org.a_rep2.id]},
                                 actor=org.a_manager)
    assert [t.owner_id for t in made] == [org.a_rep1.id, org.a_rep2.id] and all(t.arranged for t in made)
    assert told("work_task_arranged") == [org.a_rep1.id, org.a_rep2.id]
    with pytest.raises(ValidationFailed) as refused:
        services.create_tasks({"title": "Elsewhere", "assignee_ids": [org.a_rep1.id, org.b_rep.id]}, actor=org.a_manager)
    assert "assignee_ids" in refused.value.errors
    # A supervisor arranges for their team, not for their own manager; a salesperson arranges for nobody.
    services.create_tasks({"title": "Team", "assignee_ids": [org.a_rep3.id]}, actor=org.a_sup)
    with pytest.raises(ValidationFailed):
        services.create_tasks({"title": "Up", "assignee_ids": [org.a_manager.id]}, actor=org.a_sup)
    with pytest.raises(ValidationFailed):
        services.create_tasks({"title": "Peer", "assignee_ids": [org.a_rep2.id]}, actor=org.a_rep1)
    # Anyone makes personal tasks.
    [own] = services.create_tasks({"title": "Mine"}, actor=org.a_rep1)
    assert own.owner_id == org.a_rep1.id and not own.arranged and own.store_id == org.store_a.id


def test_one_shared_task_with_participants(org):
    [task] = services.create_tasks({"title": "Stock take", "assignee_ids": [org.a_rep1.id, org.a_rep2.id],
                                    "shared": True}, actor=org.a_manager)
    assert task.owner_id == org.a_rep1.id and services.participant_ids(task) == [org.a_rep2.id]
    services.complete(task.id, actor=org.a_rep2)
    assert task.status == WorkStatus.DONE and task.completed_by_id == org.a_rep2.id
    with pytest.raises(Exception):  # noqa: B017  (already done)
        services.complete(task.id, actor=org.a_rep1)


def test_visibility_owner_participant_creator_and_managers(org):
    [task] = services.create_tasks({"title": "Private", "participant_ids": [org.a_rep2.id]}, actor=org.a_rep1)
    assert services.get_task(task.id, org.a_rep2) is task
    assert services.get_task(task.id, org.a_manager) is task  # the store's manager
    for outsider in (org.a_rep3, org.b_manager):
        with pytest.raises(Exception):  # noqa: B017  (NotFound)
            services.get_task(task.id, outsider)
    with pytest.raises(PermissionDenied):
        services.complete(task.id, actor=org.a_manager)  # sees it, but is neither owner, participant nor creator


def test_related_record_must_be_visible_and_of_the_store(org):
    customer = make_customer(org.a_rep1)
    [task] = services.create_tasks({"title": "Visit", "object_type": "customer", "object_id": customer.id},
                                   actor=org.a_rep1)
    assert (task.object_type, task.object_id) == ("customer", customer.id)
    with pytest.raises(ValidationFailed) as refused:
        services.create_tasks({"title": "Visit", "object_type": "customer", "object_id": customer.id},
                              actor=org.a_rep2)  # not theirs to see
    assert "object_id" in refused.value.errors


def test_completing_a_recurring_task_makes_exactly_one_next_occurrence(org):
    with at("2026-12-07 10:00"):
        [task] = services.create_tasks({"title": "Daily report", "due_on": "2026-12-07", "due_time": "18:00",
                                        "recurrence": "daily", "remind_minutes": 30}, actor=org.a_rep1)
        services.add_subtask(task.id, {"title": "Figures"}, actor=org.a_rep1)
        services.complete(task.id, actor=org.a_rep1)
        # The due time passing later, and the job running twice, make nothing more.
    with at("2026-12-07 19:00"):
        assert jobs.make_due_occurrences() == 0
        assert jobs.make_due_occurrences() == 0
        assert services.make_next(task, task.completed_at) is None  # a second attempt skips on the unique key
    rows = list(db.session.scalars(select(WorkTask).where(WorkTask.series_id == task.series_id).order_by(WorkTask.id)))
    assert [r.occurrence_on for r in rows] == [date(2026, 12, 7), date(2026, 12, 8)]
    nxt = rows[1]
    assert nxt.status == WorkStatus.OPEN and nxt.due_time == task.due_time and nxt.remind_minutes == 30
    assert [s.title for s in services.subtasks(nxt)] == ["Figures"] and not services.subtasks(nxt)[0].done


def test_a_passing_due_time_makes_one_next_occurrence(org):
    with at("2026-12-07 10:00"):
        [task] = services.create_tasks({"title": "Weekly check", "due_on": "2026-12-07", "recurrence": "weekly",
                                        "participant_ids": [org.a_rep2.id]}, actor=org.a_rep1)
        assert jobs.make_due_occurrences() == 0  # not yet due
    with at("2026-12-08 00:30"):
        assert jobs.make_due_occurrences() == 1
        assert jobs.make_due_occurrences() == 0
    with at("2026-12-08 09:00"):
        services.complete(task.id, actor=org.a_rep1)  # done late: its next one exists already
    rows = list(db.session.scalars(select(WorkTask).where(WorkTask.series_id == task.series_id).order_by(WorkTask.id)))
    assert [r.occurrence_on for r in rows] == [date(2026, 12, 7), date(2026, 12, 14)]
    assert db.session.scalar(select(func.count()).select_from(WorkTaskParticipant)
                             .where(WorkTaskParticipant.task_id == rows[1].id)) == 1


def test_monthly_keeps_the_day_and_skips_missed_months(org):
    with at("2027-01-31 09:00"):
        [task] = services.create_tasks({"title": "Month end", "due_on": "2027-01-31", "recurrence": "monthly"},
                                       actor=org.a_rep1)
    with at("2027-04-02 09:00"):
        jobs.make_due_occurrences()
    nxt = db.session.scalar(select(WorkTask).where(WorkTask.series_id == task.series_id, WorkTask.id != task.id))
    assert nxt.occurrence_on == date(2027, 4, 30)


def test_the_reminder_goes_out_once(org):
    with at("2026-12-07 09:00"):
        [task] = services.create_tasks({"title": "Quote ACME", "due_on": "2026-12-07", "due_time": "15:00",
                                        "remind_minutes": 60, "participant_ids": [org.a_rep2.id]}, actor=org.a_rep1)
    with at("2026-12-07 13:30"):
        assert jobs.send_reminders() == 0
    with at("2026-12-07 14:10"):
        assert jobs.send_reminders() == 1
        assert jobs.send_reminders() == 0
    with at("2026-12-07 14:20"):
        assert jobs.send_reminders() == 0
    assert told("work_task_reminder") == [org.a_rep1.id, org.a_rep2.id]
    assert task.reminded_at is not None


def test_a_mention_tells_only_who_may_see_the_task_and_its_record(org):
    customer = make_customer(org.a_rep1)
    [task] = services.create_tasks({"title": "Follow up ACME", "object_type": "customer", "object_id": customer.id,
                                    "participant_ids": [org.a_rep2.id]}, actor=org.a_rep1)
    db.session.commit()
    # a_rep2 takes part in the task but may not see the customer; a_manager sees both; b_rep sees neither.
    # b_rep is of another store: naming them is refused (issue 27: ids of what the caller cannot see are a
    # field error), and nothing is written.
    with pytest.raises(ValidationFailed) as refused:
        discussion.add_comment(task.id, {"body": "@A Manager", "mention_ids": [org.b_rep.id]}, actor=org.a_rep1)
    assert "mention_ids" in refused.value.errors
    _comment, who = discussion.add_comment(task.id, {"body": "@A Rep Two @A Manager please look"}, actor=org.a_rep1)
    assert who == [org.a_manager.id]
    assert told("work_task_mentioned") == [org.a_manager.id]
