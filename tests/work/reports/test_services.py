"""Work reports: the pre-fill equals the day's records (and only the author's, only that day's), filing to
the supervisor and chosen colleagues, read receipts, comments, the reminder at the configured hour (once,
under the time machine), who has and has not reported, and who may see a report."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.customers.services import follow_ups
from crm.extensions import db
from crm.notify.models import Notification
from crm.work.reports import queries
from crm.work.reports import services
from crm.work.reports.figures import figures
from crm.work.reports.figures import period
from crm.work.reports.models import ReportKind
from crm.work.reports.models import WorkReportReminder
from crm.work.tasks import services as tasks
from tests.factories import make_customer
from tests.sales.conftest import line
from tests.sales.conftest import sold

DAY = date(2026, 11, 20)  # a Friday


def at(moment: str):
    return time_machine.travel(f"{moment}+08:00", tick=False)


def told(kind: str) -> list[int]:
    return sorted(n.user_id for n in db.session.scalars(select(Notification).where(Notification.kind == kind)))


def _day_of_work(org, products, who, n: int = 1):
    """`who` records, on the current (travelled) day: n new customers, 2n follow-ups, one signed order
    (its quote too) of ¥950.00, and one completed work task."""
    made = [make_customer(who) for _ in range(n)]
    for customer in made:
        follow_ups.record_follow_up(customer, {"kind": "phone", "content": "Called"}, actor=who)
        follow_ups.record_follow_up(customer, {"kind": "wechat", "content": "Sent the price list"}, actor=who)
    db.session.commit()
    sold(who, made[0], line(products["p100"], "95.00", 10))
    [task] = tasks.create_tasks({"title": "Send samples"}, actor=who)
    tasks.complete(task.id, actor=who)
    db.session.commit()


@pytest.fixture
def busy(org, products, quote_process):
    with at("2026-11-19 15:00"):  # the day before: not counted
        _day_of_work(org, products, org.a_rep1)
    with at("2026-11-20 09:00"):
        _day_of_work(org, products, org.a_rep1, n=2)
        _day_of_work(org, products, org.a_rep2)  # someone else: not counted
    with at("2026-11-21 00:30"):  # the next day in Shanghai, though still the 20th in UTC: not counted
        _day_of_work(org, products, org.a_rep1)
    return org


def test_the_prefill_equals_the_days_records(busy):
    org = busy
    assert figures(org.a_rep1, DAY, DAY) == {"follow_ups": 4, "new_customers": 2, "quotes": 1, "orders_signed": 1,
                                             "orders_amount": "950.00", "tasks_completed": 1}
    week = period(ReportKind.WEEKLY, DAY)
    assert week == (date(2026, 11, 16), date(2026, 11, 22))
    assert figures(org.a_rep1, *week) == {"follow_ups": 8, "new_customers": 4, "quotes": 3, "orders_signed": 3,
                                          "orders_amount": "2850.00", "tasks_completed": 3}
    assert period(ReportKind.MONTHLY, DAY) == (date(2026, 11, 1), date(2026, 11, 30))
    with at("2026-11-20 19:00"):
        report = services.submit({"kind": "daily", "day": "2026-11-20", "done": "Two new customers"},
                                 actor=org.a_rep1)
    assert report.figures == figures(org.a_rep1, DAY, DAY)  # the snapshot
    assert (report.period_start, report.period_end) == (DAY, DAY)


def test_filing_to_the_supervisor_and_chosen_colleagues(org):
    with at("2026-11-20 18:30"):
        with pytest.raises(ValidationFailed) as refused:
            services.submit({"kind": "daily", "day": "2026-11-20", "recipient_ids": [org.b_rep.id]}, actor=org.a_rep1)
        assert set(refused.value.errors) == {"done", "recipient_ids"}  # every message at once
        with pytest.raises(ValidationFailed) as future:
            services.submit({"kind": "daily", "day": "2026-11-21", "plan": "x"}, actor=org.a_rep1)
        assert "day" in future.value.errors
        report = services.submit({"kind": "daily", "day": "2026-11-20", "done": "Visits", "plan": "Calls",
                                  "recipient_ids": [org.a_rep2.id]}, actor=org.a_rep1)
        assert [r.user_id for r in services.recipients(report)] == sorted([org.a_sup.id, org.a_rep2.id])
        assert told("work_report_received") == sorted([org.a_sup.id, org.a_rep2.id])
        with pytest.raises(ValidationFailed) as twice:
            services.submit({"kind": "daily", "day": "2026-11-20", "done": "Again"}, actor=org.a_rep1)
        assert "day" in twice.value.errors
        # A weekly report of the same week is another report.
        services.submit({"kind": "weekly", "day": "2026-11-18", "done": "The week"}, actor=org.a_rep1)


def test_read_receipts_and_comments(org):
    with at("2026-11-20 18:30"):
        report = services.submit({"kind": "daily", "day": "2026-11-20", "done": "Visits",
                                  "recipient_ids": [org.a_rep2.id]}, actor=org.a_rep1)
    page = queries.report_page(services.get_report(report.id, org.a_sup), org.a_sup)
    assert page.read is True and {r.user_id: r.read_at is not None for r in page.recipients} == {
        org.a_sup.id: True, org.a_rep2.id: False}
    # The store manager sees it (scope) without being a recipient: no receipt.
    assert queries.report_page(services.get_report(report.id, org.a_manager), org.a_manager).read is None
    services.add_comment(report.id, {"body": "Good work"}, actor=org.a_sup)
    assert told("work_report_comment") == sorted([org.a_rep1.id, org.a_rep2.id])
    with pytest.raises(ValidationFailed):
        services.add_comment(report.id, {"body": "  "}, actor=org.a_sup)


def test_who_may_see_a_report(org):
    with at("2026-11-20 18:30"):
        report = services.submit({"kind": "daily", "day": "2026-11-20", "done": "Visits"}, actor=org.a_rep1)
    for reader in (org.a_rep1, org.a_sup, org.a_manager, org.east_manager, org.hq_manager):
        assert services.get_report(report.id, reader) is report
    for outsider in (org.a_rep2, org.b_manager, org.b_rep):
        with pytest.raises(NotFound):
            services.get_report(report.id, outsider)
        with pytest.raises(NotFound):
            services.add_comment(report.id, {"body": "x"}, actor=outsider)
    with pytest.raises(PermissionDenied):  # HQ managers review; they do not file
        services.submit({"kind": "daily", "day": "2026-11-20", "done": "x"}, actor=org.hq_manager)


def test_the_not_reported_list_and_the_reminder_at_the_configured_hour(org, app, monkeypatch):
    monkeypatch.setitem(app.config, "WORK_REPORT_REMINDER_AT", "18:00")
    with at("2026-11-20 17:00"):
        services.submit({"kind": "daily", "day": "2026-11-20", "done": "Visits"}, actor=org.a_rep1)
    with at("2026-11-20 17:59"):
        assert services.send_reminders() == 0
        team = queries.team_day(org.a_manager, ReportKind.DAILY, DAY)
    store_a = {org.a_sup.id, org.a_rep1.id, org.a_rep2.id, org.a_rep3.id}
    assert [uid for uid, _n, _r in team.reported] == [org.a_rep1.id]
    assert {uid for uid, _n in team.missing} == store_a - {org.a_rep1.id}  # the manager aside, store B aside
    assert [uid for uid, _n in queries.team_day(org.a_sup, ReportKind.DAILY, DAY).missing] == sorted(
        [org.a_rep2.id, org.a_rep3.id], key=lambda uid: db.session.get(type(org.a_rep2), uid).name)
    with at("2026-11-20 18:00"):
        sent = services.send_reminders()
        again = services.send_reminders()
    everyone = {org.a_manager.id, org.b_manager.id, org.a_sup.id, org.b_sup.id, org.a_rep2.id, org.a_rep3.id,
                org.b_rep.id, org.c_manager.id, org.c_rep.id}
    assert sent == len(everyone) and again == 0
    assert set(told("work_report_reminder")) == everyone  # once each; a_rep1 had reported
    assert db.session.scalar(select(WorkReportReminder.day).limit(1)) == DAY
    with at("2026-11-21 18:30"):  # a Saturday: not a reporting day
        assert services.send_reminders() == 0
