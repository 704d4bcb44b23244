"""The home page's "My work today" (issue 23 item 5): my work tasks overdue and due today with links to the
inbox filtered so, whether my daily report of today is filed (for those who file), how many of my people
have not reported (for those who review), in a fixed number of statements whatever the data."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date
from typing import Any

import time_machine
from sqlalchemy import event

from crm.dashboard.views import my_work_today
from crm.extensions import db
from crm.work.reports import queries as report_queries
from crm.work.reports import services as reports
from crm.work.reports.models import ReportKind
from crm.work.tasks import services as work_tasks


def at(moment: str) -> Any:
    return time_machine.travel(f"{moment}+08:00", tick=False)


def html(resp: Any) -> str:
    assert resp.status_code == 200, resp.status_code
    return str(resp.get_data(as_text=True))


def count_of(page: str, element_id: str) -> int:
    return int(re.search(rf'id="{element_id}" data-count="(\d+)"', page).group(1))


@contextmanager
def statements() -> Any:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _tasks(org: Any) -> None:
    """Made the day before: one due yesterday (overdue today), one due today at 17:00, one tomorrow, one
    without a date; and an arranged one of someone else."""
    with at("2026-12-06 10:00"):
        for title, due_on, due_time in (("Late", "2026-12-06", "18:00"), ("Today", "2026-12-07", "17:00"),
                                        ("Tomorrow", "2026-12-08", None), ("Someday", None, None)):
            work_tasks.create_tasks({"title": title, "due_on": due_on, "due_time": due_time}, actor=org.a_rep1)
        work_tasks.create_tasks({"title": "Theirs", "due_on": "2026-12-07", "assignee_ids": [org.a_rep2.id]},
                                actor=org.a_manager)
        db.session.commit()


def test_my_work_today_on_the_home_page(org: Any, login_as: Any) -> None:
    _tasks(org)
    with at("2026-12-07 10:00"):
        page = html(login_as(org.a_rep1).get("/"))
        panel = page.split('id="my-work-today"')[1].split('class="col-')[0]
        assert count_of(panel, "work-overdue") == 1 and count_of(panel, "work-due-today") == 1
        assert "/tasks/?kind=work&amp;due=overdue" in panel and "/tasks/?kind=work&amp;due=today" in panel
        assert 'data-filed="no"' in panel and "/work/reports/new?kind=daily&amp;day=2026-12-07" in panel
        assert 'id="team-not-reported"' not in panel  # a salesperson reviews nobody
        # The link lists the same tasks.
        listed = html(login_as(org.a_rep1).get("/tasks/?kind=work&due=overdue"))
        assert "Late" in listed and "Today" not in listed

        manager = login_as(org.a_manager)
        missing = len(report_queries.team_day(org.a_manager, ReportKind.DAILY, date(2026, 12, 7)).missing)
        assert missing >= 2
        page = html(manager.get("/"))
        assert count_of(page, "team-not-reported") == missing
        assert "/work/reports/team?kind=daily&amp;day=2026-12-07" in page

        report = reports.submit({"kind": "daily", "day": "2026-12-07", "done": "Visits"}, actor=org.a_rep1)
        db.session.commit()
        assert count_of(html(manager.get("/")), "team-not-reported") == missing - 1
        panel = html(login_as(org.a_rep1).get("/")).split('id="my-work-today"')[1]
        assert 'data-filed="yes"' in panel and f"/work/reports/{report.id}" in panel

    with at("2026-12-07 18:00"):  # past the 17:00 task: both overdue now
        page = html(login_as(org.a_rep1).get("/"))
        assert count_of(page, "work-overdue") == 2 and count_of(page, "work-due-today") == 0


def test_the_panel_is_in_chinese(org: Any, login_as: Any) -> None:
    org.a_manager.locale = "zh"
    db.session.commit()
    page = html(login_as(org.a_manager).get("/"))
    assert "今日工作" in page and "项工作任务已逾期" in page


def test_the_statement_count_does_not_grow_with_the_tasks_and_reports(org: Any, app: Any) -> None:
    def count() -> int:
        with app.test_request_context("/"), statements() as seen:
            my_work_today(org.a_manager)
        return len(seen)

    with at("2026-12-07 10:00"):
        count()  # the actor, their scope and the test's savepoint after a commit are read once
        before = count()
    _tasks(org)
    with at("2026-12-07 11:00"):
        for rep in (org.a_rep1, org.a_rep2, org.a_sup):
            reports.submit({"kind": "daily", "day": "2026-12-07", "done": "More"}, actor=rep)
        db.session.commit()
        count()
        assert count() == before <= 4, before  # the tasks, my report, the roles, the people not reported
