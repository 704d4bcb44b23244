"""The inbox lists: my tasks, group tasks, overdue, due today, all in my scope, completed by me; their
filters, keyset pages, saved filters, the navigation badge (one query) and the empty states."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from crm.core.clock import utcnow
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.tasks import filters as task_filters
from crm.workflow.tasks import services as tasks
from tests.conftest import html
from tests.conftest import post


def listed(resp):
    assert resp.status_code == 200, resp.status_code
    return re.findall(r'class="fw-semibold task-link">([^<]+)</a>', html(resp))


@pytest.fixture
def board(review, inbox):
    """Store A: SO-1 claimed by a_rep1 and overdue, SO-2 offered to a_rep1 and a_rep2 and due today,
    SO-3 for the supervisors only, without a due date; store B: SO-9 for b_rep."""
    now = utcnow()
    t1 = review(order_no="SO-1", candidates=[inbox.a_rep1])
    tasks.claim(t1.id, actor=inbox.a_rep1)
    tasks.set_dates(t1.id, actor=inbox.a_sup, due_at=now - timedelta(hours=1))
    t2 = review(order_no="SO-2", candidates=[inbox.a_rep1, inbox.a_rep2])
    # Later today in the users' time zone (Asia/Shanghai): the last minute of their day.
    local_end = now.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).replace(hour=23, minute=59)
    tasks.set_dates(t2.id, actor=inbox.a_sup, due_at=max(local_end, now + timedelta(seconds=1)))
    t3 = review(order_no="SO-3")
    tasks.set_dates(t3.id, actor=inbox.a_sup, due_at=None, priority=2)
    t9 = review(inbox.store_b, order_no="SO-9", candidates=[inbox.b_rep])
    db.session.commit()
    return {"t1": t1, "t2": t2, "t3": t3, "t9": t9}


def test_my_tasks_and_group_tasks(board, inbox, login_as):
    client = login_as(inbox.a_rep1)
    # "My tasks" lists what the badge counts: mine and the group tasks I may claim (issue 25).
    assert listed(client.get("/tasks/")) == ["Review order SO-2", "Review order SO-1"]
    assert listed(client.get("/tasks/group")) == ["Review order SO-2"]
    page = html(client.get("/tasks/group"))
    assert "3 candidates" in page and "claim-button" in page
    assert listed(login_as(inbox.a_rep2).get("/tasks/")) == ["Review order SO-2"]
    assert listed(login_as(inbox.a_sup).get("/tasks/group")) == ["Review order SO-3", "Review order SO-2"]
    assert listed(login_as(inbox.b_rep).get("/tasks/group")) == ["Review order SO-9"]


def test_overdue_today_and_scope(board, inbox, login_as):
    client = login_as(inbox.a_manager)  # store scope: every task of store A, no candidate of any
    assert listed(client.get("/tasks/")) == [] and listed(client.get("/tasks/group")) == []
    assert listed(client.get("/tasks/overdue")) == ["Review order SO-1"]
    assert listed(client.get("/tasks/today")) == ["Review order SO-2"]
    assert listed(client.get("/tasks/scope")) == ["Review order SO-3", "Review order SO-2", "Review order SO-1"]
    assert listed(client.get("/tasks/scope?sort=priority"))[0] == "Review order SO-3"
    assert listed(client.get("/tasks/scope?sort=oldest")) == ["Review order SO-1", "Review order SO-2", "Review order SO-3"]
    # A salesperson's scope is their own work: assigned to them or offered to them.
    assert listed(login_as(inbox.a_rep2).get("/tasks/scope")) == ["Review order SO-2"]
    assert listed(login_as(inbox.hq_manager).get("/tasks/scope")) == [
        "Review order SO-9", "Review order SO-3", "Review order SO-2", "Review order SO-1"]


def test_completed_by_me(board, inbox, login_as):
    runtime.complete_task(board["t1"].id, {"decision": "reject"}, actor_id=inbox.a_rep1.id)
    db.session.commit()
    client = login_as(inbox.a_rep1)
    assert listed(client.get("/tasks/completed")) == ["Review order SO-1"]
    assert listed(client.get("/tasks/")) == ["Review order SO-2"]  # still offered to the group
    assert listed(login_as(inbox.a_sup).get("/tasks/completed")) == []


def test_filters(board, inbox, login_as):
    client = login_as(inbox.hq_manager)
    assert listed(client.get(f"/tasks/scope?store_id={inbox.store_b.id}")) == ["Review order SO-9"]
    assert listed(client.get("/tasks/scope?due=overdue")) == ["Review order SO-1"]
    assert listed(client.get("/tasks/scope?due=today")) == ["Review order SO-2"]
    assert "Review order SO-2" in listed(client.get("/tasks/scope?due=week"))
    assert listed(client.get("/tasks/scope?due=none")) == ["Review order SO-3"]
    assert len(listed(client.get("/tasks/scope?process=wf_inbox"))) == 4
    assert listed(client.get("/tasks/scope?process=other")) == []
    assert len(listed(client.get("/tasks/scope?object_type=order&object_id=7"))) == 4
    assert listed(client.get("/tasks/scope?object_type=customer")) == []
    assert listed(client.get("/tasks/scope?q=so-3")) == ["Review order SO-3"]
    assert listed(client.get("/tasks/scope?q=50%25_")) == []
    page = html(client.get("/tasks/scope?q=nothing"))
    assert "No tasks match these filters" in page
    # Store A sees nothing of store B, whatever it asks for.
    assert listed(login_as(inbox.a_manager).get(f"/tasks/scope?store_id={inbox.store_b.id}")) == []


def test_keyset_pages(board, inbox, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = login_as(inbox.hq_manager)
    first = client.get("/tasks/scope")
    assert listed(first) == ["Review order SO-9", "Review order SO-3"]
    next_url = re.search(r'href="([^"]+)" id="next-page"', html(first)).group(1).replace("&amp;", "&")
    assert listed(client.get(next_url)) == ["Review order SO-2", "Review order SO-1"]
    assert client.get("/tasks/scope?cursor=garbage").status_code == 422


def test_the_navigation_badge_counts_mine_and_claimable_in_one_query(board, inbox, login_as):
    client = login_as(inbox.a_rep1)
    page = html(client.get("/"))
    assert re.search(r'Tasks\s*<span class="badge text-bg-primary">2</span>', page)  # SO-1 mine + SO-2 claimable
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "human_task" in statement:
            statements.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/account")  # a page of no tasks of its own (the home page's "My sales today" counts them too)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_a_list_page_costs_the_same_queries_for_few_or_many_tasks(board, review, inbox, login_as):
    client = login_as(inbox.hq_manager)

    def queries(path):
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

    few = queries("/tasks/scope")
    for i in range(5):
        t = review(order_no=f"SO-{10 + i}", candidates=[inbox.a_rep1])
        tasks.claim(t.id, actor=inbox.a_rep1)
    db.session.commit()
    assert queries("/tasks/scope") == few


def test_saved_filters_are_personal(board, inbox, login_as):
    client = login_as(inbox.a_manager)
    resp = post(client, "/tasks/filters", {"name": "Overdue in A", "view": "all",
                                           "query": "due=overdue&q=SO&store_id=x&evil=1"})
    assert resp.status_code == 303
    [saved] = task_filters.saved_filters(inbox.a_manager)
    assert saved.query == "view=all&due=overdue&q=SO"
    resp = client.get(f"/tasks/filters/{saved.id}")
    assert resp.status_code == 302 and resp.headers["Location"] == "/tasks/scope?due=overdue&q=SO"
    page = html(client.get("/tasks/"))
    assert "Overdue in A" in page
    # Saving under the same name replaces the filter.
    post(client, "/tasks/filters", {"name": "Overdue in A", "view": "today", "query": ""})
    assert [s.query for s in task_filters.saved_filters(inbox.a_manager)] == ["view=today"]
    assert post(client, "/tasks/filters", {"name": "", "view": "all"}).status_code == 303  # refused, flashed
    assert len(task_filters.saved_filters(inbox.a_manager)) == 1
    # Somebody else's filter is not there for them.
    other = login_as(inbox.a_sup)
    assert other.get(f"/tasks/filters/{saved.id}").status_code == 404
    assert post(other, f"/tasks/filters/{saved.id}/delete").status_code == 404
    assert post(login_as(inbox.a_manager), f"/tasks/filters/{saved.id}/delete").status_code == 303
    assert task_filters.saved_filters(inbox.a_manager) == []


def test_empty_states(inbox, login_as):
    client = login_as(inbox.a_rep1)
    assert "Nothing assigned to you" in html(client.get("/tasks/"))
    assert "No group tasks to claim" in html(client.get("/tasks/group"))
    assert "You have not completed any tasks yet" in html(client.get("/tasks/completed"))
    assert "No tasks here" in html(client.get("/tasks/overdue"))


def test_lists_need_a_sign_in(client, inbox):
    resp = client.get("/tasks/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_completing_a_group_task_claims_it(board, inbox, login_as):
    """A candidate completes an unclaimed task from "My tasks" without claiming it first: the task is then
    theirs (assignee and completer), listed under "Completed by me" and gone from everyone's lists."""
    task = board["t2"]
    assert task.assignee_id is None
    runtime.complete_task(task.id, {"decision": "reject"}, actor_id=inbox.a_rep2.id)
    db.session.commit()
    db.session.refresh(task)
    assert (task.assignee_id, task.completed_by_id) == (inbox.a_rep2.id, inbox.a_rep2.id)
    assert listed(login_as(inbox.a_rep2).get("/tasks/completed")) == ["Review order SO-2"]
    assert listed(login_as(inbox.a_rep1).get("/tasks/")) == ["Review order SO-1"]
