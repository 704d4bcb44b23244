"""Process analytics: a fixed event set (instances of tests/workflow/data/analytics driven through the real
runtime, the clock set by the time machine) whose figures are counted by hand below; the page in both
languages, the scope of a store's process owner, the API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import analytics
from crm.workflow.models import ProcessInstance
from tests.conftest import grant
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = T + timedelta(days=10)
H = 3600.0
PERIOD = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 30)}


@dataclass
class EventSet:
    i1: ProcessInstance  # reviewed in 1 h, approved, paid 10 h later
    i2: ProcessInstance  # reviewed in 3 h, rejected
    i3: ProcessInstance  # reviewed in 5 h, approved, the timer ran 73 h later
    i4: ProcessInstance  # reviewed in 2 h, approved, waits for the payment since T + 3 d 2 h
    i5: ProcessInstance  # waits at the review since T + 4 d
    i6: ProcessInstance  # store B: reviewed in 9 h, rejected


@pytest.fixture
def events(org: Any, deploy: Any) -> EventSet:
    deploy("analytics")
    made: dict[str, ProcessInstance] = {}

    def at(moment: datetime, action: Any) -> None:
        with time_machine.travel(moment, tick=False):
            action()
            db.session.commit()

    def start(name: str, user: Any, store: Any, object_id: int) -> None:
        made[name] = runtime.start("wf_analytics", object_type="analytics_test", object_id=object_id,
                                   store_id=store.id, actor_id=user.id)

    def review(name: str, user: Any, approved: bool) -> None:
        runtime.complete_task(one_task(made[name], "review").id, {"approved": approved}, actor_id=user.id)

    a, b = org.a_rep1, org.b_rep
    at(T, lambda: start("i1", a, org.store_a, 1))
    at(T + timedelta(hours=1), lambda: review("i1", a, True))
    at(T + timedelta(hours=11), lambda: runtime.send_message("analytics_paid", "analytics_test", 1))
    at(T + timedelta(days=1), lambda: (start("i2", a, org.store_a, 2), start("i6", b, org.store_b, 6)))
    at(T + timedelta(days=1, hours=3), lambda: review("i2", a, False))
    at(T + timedelta(days=1, hours=9), lambda: review("i6", b, False))
    at(T + timedelta(days=2), lambda: start("i3", a, org.store_a, 3))
    at(T + timedelta(days=2, hours=5), lambda: review("i3", a, True))
    at(T + timedelta(days=3), lambda: start("i4", a, org.store_a, 4))
    at(T + timedelta(days=3, hours=2), lambda: review("i4", a, True))
    at(T + timedelta(days=4), lambda: start("i5", a, org.store_a, 5))
    at(T + timedelta(days=5, hours=6), lambda: runtime.fire_due_timers())  # i3's 72 h timer, one hour late
    return EventSet(**made)


def figures(actor: Any, **kwargs: Any) -> analytics.Analytics:
    with time_machine.travel(NOW, tick=False):
        return analytics.compute("wf_analytics", actor, **{**PERIOD, **kwargs})


def by_id(result: analytics.Analytics) -> dict[str, analytics.ElementFigures]:
    return {e.id: e for e in result.elements}


def test_hand_counted_figures_for_hq(events: EventSet, owner: Any) -> None:
    result = figures(owner)
    assert result.instances == 6
    got = by_id(result)
    assert [e.id for e in result.elements] == ["start", "review", "review_late", "end_late", "decide", "end_rejected",
                                               "wait", "paid", "deadline", "end_paid", "end_expired"]
    # Reviews (task opened -> completed): 1, 2, 3, 5, 9 h. Median 3 h; p90 at rank 1 + 0.9 * 4 = 4.6: 5 + 0.6 * 4.
    review = got["review"]
    assert (review.passed, review.passes) == (5, 5)
    assert (review.median, review.p90, review.max) == (3 * H, 26640, 9 * H)  # 7.4 h
    assert review.kind == "userTask" and review.name == "Review <b>the order</b>"
    # The payment wait (the event-based gateway): 10 h (message), 73 h (the timer, run an hour late).
    wait = got["wait"]
    assert (wait.passed, wait.median, wait.max) == (2, 41.5 * H, 73 * H)
    assert wait.p90 == 240120  # 10 h + 0.9 * 63 h = 66.7 h
    # Elements inside one step: counted, no duration.
    assert {k: (got[k].passed, got[k].median) for k in ("start", "decide", "end_rejected", "paid", "deadline",
                                                        "end_paid", "end_expired")} == {
        "start": (6, None), "decide": (5, None), "end_rejected": (2, None), "paid": (1, None),
        "deadline": (1, None), "end_paid": (1, None), "end_expired": (1, None)}
    # Paths: three approvals, two rejections; the wait ended once by the message, once by the timer.
    assert {(f.source, f.id): f.taken for f in result.flows} == {
        ("decide", "f_yes"): 3, ("decide", "f_no"): 2, ("wait", "f_msg"): 1, ("wait", "f_timer"): 1}
    # Waiting now (at T + 10 d): i5 at the review since T + 4 d, i4 at the wait since T + 3 d 2 h.
    assert (review.waiting, review.oldest_wait, review.median_wait) == (1, 6 * 24 * H, 6 * 24 * H)
    assert (wait.waiting, wait.oldest_wait) == (1, (6 * 24 + 22) * H)
    # The review's timer waits beside each open review, but the instance waits at the review: not counted twice.
    assert all(got[k].waiting == 0 for k in got if k not in ("review", "wait"))
    assert (got["review_late"].passed, got["review_late"].kind_label) == (0, "Boundary event")
    assert result.median_range == (3 * H, 41.5 * H)


def test_a_store_process_owner_counts_their_stores_instances_only(events: EventSet, store_admin: Any) -> None:
    result = figures(store_admin)
    assert result.instances == 5
    got = by_id(result)
    # Reviews of store A: 1, 2, 3, 5 h. Median between ranks 2 and 3; p90 at rank 3.7: 3 + 0.7 * 2.
    assert (got["review"].passed, got["review"].median, got["review"].max) == (4, 2.5 * H, 5 * H)
    assert got["review"].p90 == 15840  # 4.4 h
    assert {f.id: f.taken for f in result.flows}["f_no"] == 1
    assert got["end_rejected"].passed == 1


def test_the_period_chooses_the_instances_by_start_but_waiting_now_counts_every_live_one(events: EventSet,
                                                                                          owner: Any) -> None:
    # Started on 5 or 6 November (local days of UTC here): i4 and i5 only.
    result = figures(owner, date_from=date(2026, 11, 5), date_to=date(2026, 11, 6))
    got = by_id(result)
    assert result.instances == 2
    assert (got["review"].passed, got["review"].median) == (1, 2 * H)
    assert got["wait"].passed == 0 and got["wait"].median is None and got["wait"].waiting == 1
    result = figures(owner, date_from=date(2026, 12, 1), date_to=date(2026, 12, 31))
    assert result.instances == 0 and by_id(result)["review"].waiting == 1


def test_the_default_period_is_the_last_30_days_of_the_current_version(events: EventSet, owner: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        result = analytics.compute("wf_analytics", owner)
    assert (result.date_from, result.date_to) == (date(2026, 10, 14), date(2026, 11, 12))
    assert result.definition.version == 1 and result.instances == 6


def test_refusals(events: EventSet, owner: Any) -> None:
    from crm.core.errors import NotFound
    from crm.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        figures(owner, date_from=date(2026, 11, 30), date_to=date(2026, 11, 1))
    assert "date_from" in refused.value.errors
    with pytest.raises(NotFound):
        figures(owner, version=7)
    with pytest.raises(NotFound):
        analytics.compute("no_such_process", owner)


def test_the_history_does_not_show_the_passage_rows(events: EventSet) -> None:
    assert kinds(events.i1) == ["created", "task_completed", "message_received"]


def test_durations_read_as_people_say_them(app: Any) -> None:
    with app.test_request_context():
        assert [analytics.human_duration(s) for s in (None, 40, 35 * 60, 3 * H, 3 * H + 300, 2 * 86400, 2 * 86400 + 4 * H)] == [
            "—", "40 s", "35 min", "3 h", "3 h 5 min", "2 d", "2 d 4 h"]


def _heatmap(body: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="analytics-data">(.*?)</script>', body, re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_page_in_both_languages(events: EventSet, owner: Any, client: Any, login_as: Any) -> None:
    url = "/processes/definitions/wf_analytics/analytics?date_from=2026-11-01&date_to=2026-11-30"
    with time_machine.travel(NOW, tick=False):
        login_as(owner)
        resp = client.get(url)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "Median time spent" in body and "Waiting now" in body and 'id="analytics-table"' in body
    data = _heatmap(body)
    assert data["elements"]["review"]["median"] == 3 * H and data["elements"]["review"]["median_label"] == "3 h"
    assert data["elements"]["wait"]["oldest_label"] == "6 d 22 h"
    assert data["flows"] == {"f_yes": 3, "f_no": 2, "f_msg": 1, "f_timer": 1}
    # A name from the diagram is text, escaped in the table and in the JSON the script reads.
    assert "Review <b>" not in body and "Review &lt;b&gt;the order&lt;/b&gt;" in body
    assert '<tr data-element="review">' in body
    with time_machine.travel(NOW, tick=False):
        assert client.get("/processes/definitions/wf_analytics").get_data(as_text=True).count(
            "/processes/definitions/wf_analytics/analytics") == 1
        with client.session_transaction() as sess:
            sess["lang"] = "zh"
        body = client.get(url).get_data(as_text=True)
    assert "等待中" in body and "用户任务" in body
    assert _heatmap(body)["elements"]["wait"]["oldest_label"] == "6 天 22 小时"


def test_the_page_refuses_bad_dates_and_answers_404_for_unknown_versions(events: EventSet, owner: Any, client: Any,
                                                                         login_as: Any) -> None:
    login_as(owner)
    resp = client.get("/processes/definitions/wf_analytics/analytics?date_from=2026-11-30&date_to=2026-11-01")
    assert resp.status_code == 400 and "The start date is after the end date." in resp.get_data(as_text=True)
    assert client.get("/processes/definitions/wf_analytics/analytics?date_from=yesterday").status_code == 400
    assert client.get("/processes/definitions/wf_analytics/analytics?version=9").status_code == 404
    assert client.get("/processes/definitions/nope/analytics").status_code == 404
    empty = client.get("/processes/definitions/wf_analytics/analytics?date_from=2020-01-01&date_to=2020-01-31")
    assert empty.status_code == 200
    body = empty.get_data(as_text=True)
    assert "0 instances of this version started in the period" in body and 'id="scale-none"' in body
    assert _heatmap(body)["scale"] is None


def test_only_process_owners_and_admins_see_it(events: EventSet, org: Any, client: Any, login_as: Any) -> None:
    login_as(org.a_rep1)
    assert client.get("/processes/definitions/wf_analytics/analytics").status_code == 403


def test_the_api_answers_the_same_figures(events: EventSet, owner: Any, store_admin: Any, call: Any, org: Any) -> None:
    grant(org.roles["process_owner"], "api.use")
    grant(org.roles["salesperson"], "api.use")
    db.session.commit()
    url = "/api/v1/process-definitions/wf_analytics/analytics?version=1&date_from=2026-11-01&date_to=2026-11-30"
    with time_machine.travel(NOW, tick=False):
        resp = call("GET", url, owner)
        mine = call("GET", url, store_admin)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["key"], body["version"], body["instances"]) == ("wf_analytics", 1, 6)
    review = next(e for e in body["elements"] if e["id"] == "review")
    assert {k: review[k] for k in ("passed", "median_seconds", "p90_seconds", "max_seconds", "waiting",
                                   "oldest_wait_seconds")} == {
        "passed": 5, "median_seconds": 3 * H, "p90_seconds": 26640, "max_seconds": 9 * H, "waiting": 1,
        "oldest_wait_seconds": 6 * 24 * H}
    assert {f["id"]: f["taken"] for f in body["flows"]} == {"f_yes": 3, "f_no": 2, "f_msg": 1, "f_timer": 1}
    assert mine.get_json()["instances"] == 5
    bad = call("GET", "/api/v1/process-definitions/wf_analytics/analytics?date_from=2026-11-30&date_to=2026-11-01", owner)
    assert bad.status_code == 422
    assert call("GET", "/api/v1/process-definitions/wf_analytics/analytics", org.a_rep1).status_code == 403


def test_many_instances_are_read_by_a_subquery_with_the_same_figures(events: EventSet, owner: Any,
                                                                    monkeypatch: Any) -> None:
    listed = figures(owner)
    monkeypatch.setattr(analytics, "ID_LIST_LIMIT", 2)
    queried = figures(owner)
    assert queried.instances == listed.instances == 6
    assert [(e.id, e.passed, e.median, e.p90, e.max, e.waiting, e.oldest_wait) for e in queried.elements] == [
        (e.id, e.passed, e.median, e.p90, e.max, e.waiting, e.oldest_wait) for e in listed.elements]
    assert [(f.id, f.taken) for f in queried.flows] == [(f.id, f.taken) for f in listed.flows]
