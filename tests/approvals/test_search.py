"""Free-text search of the approval queue (page and API): the object's title, the requester's name, the
decision task's title; any case, wildcards taken literally, scope and the other filters still apply."""

from __future__ import annotations

import re

from crm.approvals import queries
from crm.extensions import db
from tests.approvals.conftest import decide
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import step
from tests.conftest import ApiCaller
from tests.conftest import assert_problem
from tests.conftest import grant


def _titles(page) -> list[str]:
    return sorted(row[1].summary["title"] if isinstance(row, tuple) or hasattr(row, "_fields") else row.summary["title"]
                  for row in page.items)


def _setup(org, chain, submit):
    chain([step("users", "any", user_ids=[org.a_sup.id, org.a_manager.id])])
    travel = submit(org.a_rep1, category="travel")
    hotel = submit(org.a_rep2, category="hotel_100%")
    meeting = submit(org.a_rep1, category="会议")
    return travel, hotel, meeting


def test_pending_decided_and_all_views_search(org, chain, submit):
    travel, hotel, meeting = _setup(org, chain, submit)
    t = {i: request_of(i).summary["title"] for i in (travel, hotel, meeting)}

    def pending(q):
        return _titles(queries.pending(org.a_sup, queries.QueueFilters(q=q)))

    assert pending("HOTEL") == [t[hotel]]  # object title, any case
    assert pending("会议") == [t[meeting]]
    assert pending("rep two") == [t[hotel]]  # the requester's name (A Rep Two)
    assert pending("A Rep One") == sorted([t[travel], t[meeting]])
    assert pending("100%") == [t[hotel]] and pending("0%_") == []  # % and _ are literal
    assert pending("expense") == sorted(t.values())  # the kind (type label) and titles
    task_title = open_tasks(travel)[org.a_sup.id].title
    assert set(pending(task_title)) >= {t[travel]}  # the decision task's title (the subject)
    assert pending("nothing like this") == []

    decide(travel, org.a_sup)
    assert _titles(queries.decided_by(org.a_sup, queries.QueueFilters(q="travel"))) == [t[travel]]
    assert _titles(queries.decided_by(org.a_sup, queries.QueueFilters(q="hotel"))) == []
    everything = queries.requests_in_scope(org.a_manager, queries.QueueFilters(q="rep two"))
    assert [r.summary["title"] for r in everything.items] == [t[hotel]]
    assert queries.requests_in_scope(org.b_manager, queries.QueueFilters(q="rep two")).items == []  # scope
    filtered = queries.pending(org.a_sup, queries.QueueFilters(q="hotel", object_type="quote"))
    assert filtered.items == []  # combined with the other filters


def test_queue_page_search(org, chain, submit, client, login_as):
    travel, hotel, _meeting = _setup(org, chain, submit)
    login_as(org.a_sup)
    page = client.get("/approvals/", query_string={"q": "hotel"}).get_data(as_text=True)
    assert request_of(hotel).summary["title"] in page and request_of(travel).summary["title"] not in page
    assert re.search(r'<input[^>]*name="q"[^>]*value="hotel"', page)  # the box keeps the text
    assert 'for="q"' in page  # labelled
    client.get("/approvals/", headers={"Accept-Language": "zh"})  # the page renders in Chinese too
    zh = client.get("/approvals/", query_string={"q": "会议"}, headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "会议" in zh and request_of(hotel).summary["title"] not in zh
    long = client.get("/approvals/", query_string={"q": "x" * 500})
    assert long.status_code == 200  # cut to 100 characters, no error


def test_api_filter(org, chain, submit, client):
    grant(org.roles["supervisor"], "api.use")
    db.session.commit()
    _travel, hotel, _meeting = _setup(org, chain, submit)
    tokens: dict[int, str] = {}

    def token(user):
        from crm.auth.services import create_token

        if user.id not in tokens:
            tokens[user.id] = create_token(user, "t")[1]
            db.session.commit()
        return tokens[user.id]

    call = ApiCaller(client, token)
    items = call("GET", "/api/v1/approvals/pending?q=Rep%20Two", org.a_sup).get_json()["items"]
    assert [i["request"]["id"] for i in items] == [request_of(hotel).id]
    assert len(call("GET", "/api/v1/approvals/pending", org.a_sup).get_json()["items"]) == 3
    assert call("GET", "/api/v1/approvals/decided?q=hotel", org.a_sup).get_json()["items"] == []
    assert_problem(call("GET", "/api/v1/approvals/pending?q=" + "x" * 101, org.a_sup), 422, "q")
