"""The receivable plans' daily job under the time machine: N days before an instalment's due date the
order's salesperson and the store's finance users get a bell and an e-mail, once; the day after it, if
the instalment is still open, an overdue notice, once; nothing for a collected instalment."""

from __future__ import annotations

import time_machine
from sqlalchemy import select

from crm.core.jobs import registered_jobs
from crm.extensions import db
from crm.finance.plans import jobs
from crm.finance.plans import services
from crm.notify.models import EmailOutbox
from crm.notify.models import Notification
from tests.conftest import collect
from tests.finance.plans.conftest import save


def _bells(kind):
    return sorted((n.user_id, n.title) for n in db.session.scalars(select(Notification).where(Notification.kind == kind)))


def _at(day, hour="09:00"):
    """A moment of a Shanghai day."""
    return time_machine.travel(f"{day} {hour}:00+08:00", tick=False)


def test_the_reminder_and_the_overdue_notice_go_out_once(waiting, org, staff):
    from tests.factories import UserFactory

    UserFactory(name="B Finance", unit=org.units["store_b"], roles=[org.roles["finance"]])
    plan = save(waiting, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-10"))
    db.session.commit()
    people = sorted([org.a_rep1.id, staff["finance"].id, staff["finance2"].id])

    with _at("2027-01-06"):
        assert jobs.remind() == {"reminders": 0, "overdue": 0}
    with _at("2027-01-07"):  # 3 days (FINANCE_REMINDER_DAYS) before the 10th
        assert jobs.remind() == {"reminders": 1, "overdue": 0}
        db.session.commit()
        bells = _bells("receivable_reminder")
        assert [uid for uid, _t in bells] == people  # the salesperson and store A's finance, not store B's
        assert bells[0][1] == f"Instalment 1 of order {waiting.number} is due on 2027-01-10"
        assert jobs.remind() == {"reminders": 0, "overdue": 0}  # once
    assert db.session.scalar(select(EmailOutbox).where(EmailOutbox.subject == bells[0][1])) is not None
    with _at("2027-01-10", "23:00"):
        assert jobs.remind() == {"reminders": 0, "overdue": 0}  # due today: not overdue yet
    with _at("2027-01-11", "00:30"):
        assert jobs.remind() == {"reminders": 0, "overdue": 1}
        db.session.commit()
        overdue = _bells("receivable_overdue")
        assert [uid for uid, _t in overdue] == people
        assert overdue[0][1] == f"Instalment 1 of order {waiting.number} is overdue since 2027-01-10"
        assert jobs.remind() == {"reminders": 0, "overdue": 0}
    # The second instalment is collected before its day: nothing is said about it.
    collect(waiting, org.a_rep1, staff["finance"], "950.00")
    with _at("2027-02-07"):
        assert jobs.remind() == {"reminders": 0, "overdue": 0}
    with _at("2027-02-11"):
        assert jobs.remind() == {"reminders": 0, "overdue": 0}
    assert all(i.reminded_at is not None and i.overdue_sent_at is not None for i in plan.instalments)


def test_moving_a_due_date_reminds_again(waiting, org, staff):
    plan = save(waiting, org.a_rep1, ("950", "2027-01-10"), remind_days="1")
    with _at("2027-01-09"):
        assert jobs.remind()["reminders"] == 1
        db.session.commit()
    services.save_plan(waiting.id, {"instalments": [{"id": plan.instalments[0].id, "amount": "950",
                                                     "due_on": "2027-01-20", "remind_days": "1"}]}, actor=org.a_rep1)
    db.session.commit()
    assert plan.instalments[0].reminded_at is None
    with _at("2027-01-19"):
        assert jobs.remind()["reminders"] == 1


def test_a_plan_made_late_sends_no_reminder_for_a_past_day_but_the_overdue_notice(waiting, org, staff):
    with _at("2027-01-20"):
        save(waiting, org.a_rep1, ("950", "2027-01-10"))
        assert jobs.remind() == {"reminders": 0, "overdue": 1}


def test_the_job_is_scheduled_daily_in_shanghai(app):
    [job] = [j for j in registered_jobs() if j.id == "finance.remind_instalments"]
    assert job.trigger == "cron" and job.trigger_args["timezone"] == "Asia/Shanghai" and job.trigger_args["hour"] == 9
