"""The one inbox with process and work tasks together: buckets on fixed dates, keyset pages that stay
stable when the kinds mix, the badge equal to the list's count, one-click completion, the API's `kind`."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime

import pytest
import time_machine

from crm.extensions import db
from crm.work.tasks import services as work
from crm.workflow.tasks import services as tasks
from tests.conftest import grant
from tests.conftest import html
from tests.conftest import post

NOW = "2026-12-07 10:00+08:00"


def listed(resp):
    assert resp.status_code == 200, resp.status_code
    return re.findall(r'class="fw-semibold task-link">([^<]+)</a>', html(resp))


@pytest.fixture
def mixed(review, inbox):
    """On 7 Dec 2026 10:00 (Shanghai), a_rep1 has: process P-over (overdue), P-today (17:00), P-none; work
    W-over (6 Dec), W-today (whole day), W-week (10 Dec 09:00), W-later (30 Dec), W-none."""
    with time_machine.travel(NOW, tick=False):
        def process(name, due):
            t = review(order_no=name, candidates=[inbox.a_rep1])
            tasks.claim(t.id, actor=inbox.a_rep1)
            tasks.set_dates(t.id, actor=inbox.a_sup, due_at=due)
            return t

        process("P-over", datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
        process("P-today", datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
        process("P-none", None)
        for title, day, time in (("W-over", "2026-12-06", ""), ("W-today", "2026-12-07", ""),
                                 ("W-week", "2026-12-10", "09:00"), ("W-later", "2026-12-30", ""),
                                 ("W-none", "", "")):
            work.create_tasks({"title": title, "due_on": day, "due_time": time}, actor=inbox.a_rep1)
        db.session.commit()
    return inbox


def test_buckets_hold_both_kinds_on_fixed_dates(mixed, login_as):
    with time_machine.travel(NOW, tick=False):
        client = login_as(mixed.a_rep1)
        assert set(listed(client.get("/tasks/overdue"))) == {"Review order P-over", "W-over"}
        assert listed(client.get("/tasks/today")) == ["Review order P-today", "W-today"]
        assert set(listed(client.get("/tasks/?due=week"))) == {"Review order P-today", "W-today", "W-week"}
        assert listed(client.get("/tasks/?due=later")) == ["W-later"]
        assert set(listed(client.get("/tasks/?due=none"))) == {"Review order P-none", "W-none"}
        assert listed(client.get("/tasks/?kind=work&due=none")) == ["W-none"]
        assert listed(client.get("/tasks/?process=wf_inbox&due=none")) == ["Review order P-none"]
        page = html(client.get("/tasks/"))
        assert page.count("kind-badge") == 8 and "complete-button" in page


def test_keyset_pages_are_stable_when_the_kinds_mix(mixed, login_as, app, monkeypatch):
    with time_machine.travel(NOW, tick=False):
        client = login_as(mixed.a_rep1)
        for query in ("", "?sort=due", "?sort=oldest", "?sort=priority"):
            monkeypatch.setitem(app.config, "PAGE_SIZE", 50)
            whole = listed(client.get(f"/tasks/{query}"))
            assert len(whole) == 8
            monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
            seen, url = [], f"/tasks/{query}"
            while url:
                resp = client.get(url)
                seen += listed(resp)
                found = re.search(r'href="([^"]+)" id="next-page"', html(resp))
                url = found.group(1).replace("&amp;", "&") if found else None
            assert seen == whole, query
        monkeypatch.setitem(app.config, "PAGE_SIZE", 50)
        due = listed(client.get("/tasks/?sort=due"))
        assert due[-2:] == ["Review order P-none", "W-none"], due  # no due date last, process before work


def test_the_badge_equals_the_lists_count(mixed, login_as):
    with time_machine.travel(NOW, tick=False):
        client = login_as(mixed.a_rep1)
        mine = listed(client.get("/tasks/"))
        group = listed(client.get("/tasks/group"))
        page = html(client.get("/"))
        badge = re.search(r'Tasks\s*<span class="badge text-bg-primary">(\d+)</span>', page)
        assert badge and int(badge.group(1)) == len(mine) + len(group) == 8


def test_a_work_task_is_completed_in_one_click_from_the_inbox(mixed, login_as):
    with time_machine.travel(NOW, tick=False):
        client = login_as(mixed.a_rep1)
        page = html(client.get("/tasks/?kind=work&due=later"))
        action = re.search(r'formaction="(/work/tasks/\d+/complete)"', page).group(1)
        resp = post(client, action, {"next": "/tasks/"})
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/tasks/")
        assert "W-later" not in listed(client.get("/tasks/"))
        assert "W-later" in listed(client.get("/tasks/completed"))


def test_the_api_lists_both_kinds(mixed, call):
    grant(mixed.roles["salesperson"], "api.use")
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        items = call("GET", "/api/v1/tasks?limit=100", mixed.a_rep1).get_json()["items"]
        assert sorted({i["kind"] for i in items}) == ["process", "work"] and len(items) == 8
        work_only = call("GET", "/api/v1/tasks?kind=work", mixed.a_rep1).get_json()["items"]
        assert {i["kind"] for i in work_only} == {"work"} and len(work_only) == 5
        first = call("GET", "/api/v1/tasks?sort=due&limit=4", mixed.a_rep1).get_json()
        rest = call("GET", f"/api/v1/tasks?sort=due&limit=4&cursor={first['next_cursor']}", mixed.a_rep1).get_json()
        assert len({i["kind"] + str(i["id"]) for i in first["items"] + rest["items"]}) == 8
