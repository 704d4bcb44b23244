"""Work report pages as the real roles: the new report shows the day's figures and the colleagues by
name, filing it, the report page with its read receipts and comments, the manager's day side by side."""

from __future__ import annotations

import re

import time_machine

from crm.extensions import db
from tests.conftest import html
from tests.conftest import post
from tests.factories import make_customer


def at(moment: str):
    return time_machine.travel(f"{moment}+08:00", tick=False)


def test_file_a_daily_report_and_the_manager_sees_it(org, login_as):
    with at("2026-11-20 10:00"):
        make_customer(org.a_rep1)
        db.session.commit()
    with at("2026-11-20 18:30"):
        client = login_as(org.a_rep1)
        page = html(client.get("/work/reports/new?kind=daily&day=2026-11-20"))
        assert 'data-figure="new_customers">1<' in page and 'data-figure="orders_amount">¥0.00<' in page
        assert ">A Rep Two</option>" in page and "A Supervisor" in page  # names, never ids
        refused = post(client, "/work/reports/new", {"kind": "daily", "day": "2026-11-20"})
        assert refused.status_code == 422 and "Write what was done" in html(refused)
        resp = post(client, "/work/reports/new", {"kind": "daily", "day": "2026-11-20", "done": "Visits",
                                                  "recipient_ids": [str(org.a_rep2.id)]})
        assert resp.status_code == 303, html(resp)
        report_url = resp.headers["Location"]
        assert "Visits" in html(client.get(report_url))

        manager = login_as(org.a_manager)
        team = html(manager.get("/work/reports/team?day=2026-11-20"))
        reported = team.split('id="reported"')[1]
        missing = team.split('id="not-reported"')[1].split('id="reported"')[0]
        assert "A Rep One" in reported and "Visits" in reported
        assert "A Rep Two" in missing and "A Rep One" not in missing
        assert manager.get(report_url).status_code == 200

        reader = login_as(org.a_rep2)
        assert "Unread" in html(reader.get("/work/reports/?view=received"))
        page = html(reader.get(report_url))
        receipts = page.split('id="read-receipts"')[1]
        assert re.search(r"A Rep Two</span>\s*<span class=\"text-success\">Read", receipts)
        resp = post(reader, report_url + "/comments", {"body": "Nice"})
        assert resp.status_code == 303 and "Nice" in html(reader.get(report_url))
        assert "Unread" not in html(reader.get("/work/reports/?view=received"))

        assert login_as(org.b_manager).get(report_url).status_code == 404
        east = html(login_as(org.east_manager).get(f"/work/reports/team?day=2026-11-20&store_id={org.store_b.id}"))
        assert "B Rep" in east and "A Rep" not in east and 'name="store_id"' in east
        assert login_as(org.a_rep1).get("/work/reports/team").status_code == 403


def test_the_managers_day_costs_the_same_statements_for_one_or_many_reports(org, login_as):
    from sqlalchemy import event

    from crm.work.reports import services

    def statements(path):
        seen: list[str] = []
        engine = db.session.get_bind().engine

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    with at("2026-11-20 18:30"):
        services.submit({"kind": "daily", "day": "2026-11-20", "done": "One"}, actor=org.a_rep1)
        db.session.commit()
        client = login_as(org.a_manager)
        one = statements("/work/reports/team?day=2026-11-20"), statements("/work/reports/?view=all")
        for rep in (org.a_rep2, org.a_rep3, org.a_sup):
            services.submit({"kind": "daily", "day": "2026-11-20", "done": "More"}, actor=rep)
        db.session.commit()
        assert (statements("/work/reports/team?day=2026-11-20"), statements("/work/reports/?view=all")) == one
