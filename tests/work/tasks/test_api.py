"""/api/v1/work/tasks through the HTTP client as the real roles: list, create (personal and arranged),
read, PATCH, complete, subtasks, comments with mentions, attachments; refusals name the field; other
people's tasks answer 404."""

from __future__ import annotations

import io

import pytest

from crm.extensions import db
from tests.conftest import assert_problem


@pytest.fixture(autouse=True)
def _uploads(uploads):
    return uploads


def test_a_manager_arranges_and_the_salesperson_works_the_task(call, api_org):
    org = api_org
    resp = call("POST", "/api/v1/work/tasks", org.a_manager, json={
        "title": "Call the Wangs", "priority": "high", "due_on": "2026-12-10", "due_time": "17:30",
        "remind_minutes": 30, "assignee_ids": [org.a_rep1.id]})
    assert resp.status_code == 201, resp.get_json()
    [made] = resp.get_json()
    assert made["kind"] == "work" and made["owner_id"] == org.a_rep1.id and made["arranged"]
    assert made["priority"] == "high" and made["due_time"] == "17:30" and made["status"] == "open"
    task_id = made["id"]

    listing = call("GET", "/api/v1/work/tasks", org.a_rep1).get_json()
    assert [t["id"] for t in listing["items"]] == [task_id] and listing["next_cursor"] is None
    assert call("GET", "/api/v1/work/tasks?view=all", org.a_manager).get_json()["items"][0]["id"] == task_id
    assert call("GET", "/api/v1/work/tasks", org.a_rep2).get_json()["items"] == []

    sub = call("POST", f"/api/v1/work/tasks/{task_id}/subtasks", org.a_rep1, json={"title": "Find the number"})
    assert sub.status_code == 201 and sub.get_json()["done"] is False
    ticked = call("POST", f"/api/v1/work/tasks/{task_id}/subtasks/{sub.get_json()['id']}", org.a_rep1,
                  json={"done": True})
    assert ticked.status_code == 200 and ticked.get_json()["done"] is True

    # B Rep is of another store: an id the caller may not name is refused on its field.
    assert_problem(call("POST", f"/api/v1/work/tasks/{task_id}/comments", org.a_rep1,
                        json={"body": "Done soon, @A Manager", "mention_ids": [org.b_rep.id]}), 422, "mention_ids")
    comment = call("POST", f"/api/v1/work/tasks/{task_id}/comments", org.a_rep1, json={"body": "Done soon, @A Manager"})
    assert comment.status_code == 201
    assert comment.get_json()["mentioned"] == [org.a_manager.id]

    up = call("POST", f"/api/v1/work/tasks/{task_id}/attachments", org.a_rep1,
              data={"file": (io.BytesIO(b"minutes of the call"), "notes.txt")}, content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    file_id = up.get_json()["id"]
    down = call("GET", f"/api/v1/work/tasks/{task_id}/attachments/{file_id}", org.a_manager)
    assert down.status_code == 200 and down.get_data() == b"minutes of the call"

    detail = call("GET", f"/api/v1/work/tasks/{task_id}", org.a_manager).get_json()
    assert [s["title"] for s in detail["subtasks"]] == ["Find the number"] and detail["subtasks"][0]["done"]
    assert [c["body"] for c in detail["comments"]] == ["Done soon, @A Manager"]
    assert [a["name"] for a in detail["attachments"]] == ["notes.txt"]

    patched = call("PATCH", f"/api/v1/work/tasks/{task_id}", org.a_manager, json={
        "title": "Call the Wangs today", "priority": "medium", "due_on": "2026-12-09",
        "participant_ids": [org.a_rep2.id]})
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["title"] == "Call the Wangs today" and body["participant_ids"] == [org.a_rep2.id]
    assert body["due_time"] == "17:30" and body["remind_minutes"] == 30  # not sent: unchanged (PATCH semantics)
    blanked = call("PATCH", f"/api/v1/work/tasks/{task_id}", org.a_manager, json={"due_time": None})
    assert blanked.status_code == 200, blanked.get_json()
    blanked = blanked.get_json()
    assert blanked["due_time"] is None and blanked["title"] == "Call the Wangs today"
    assert blanked["participant_ids"] == [org.a_rep2.id] and blanked["due_on"] == "2026-12-09"
    assert call("GET", "/api/v1/work/tasks", org.a_rep2).get_json()["items"][0]["id"] == task_id

    done = call("POST", f"/api/v1/work/tasks/{task_id}/complete", org.a_rep1)
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    assert done.get_json()["completed_by_id"] == org.a_rep1.id
    assert_problem(call("POST", f"/api/v1/work/tasks/{task_id}/complete", org.a_rep1), 409)
    completed = call("GET", "/api/v1/work/tasks?view=completed", org.a_rep1).get_json()["items"]
    assert [t["id"] for t in completed] == [task_id]


def test_personal_tasks_and_refusals_naming_the_field(call, api_org):
    org = api_org
    resp = call("POST", "/api/v1/work/tasks", org.a_rep1, json={"title": "Mine", "due_on": "2026-12-08"})
    assert resp.status_code == 201 and resp.get_json()[0]["arranged"] is False
    assert_problem(call("POST", "/api/v1/work/tasks", org.a_rep1, json={"title": "", "priority": "urgent",
                                                                     "due_time": "25:00"}),
                   422, "title", "priority", "due_time")
    assert_problem(call("POST", "/api/v1/work/tasks", org.a_rep1, json={"title": "Peer",
                                                                     "assignee_ids": [org.a_rep2.id]}),
                   422, "assignee_ids")
    assert_problem(call("POST", "/api/v1/work/tasks", org.a_manager, json={"title": "Elsewhere",
                                                                        "assignee_ids": [org.b_rep.id]}),
                   422, "assignee_ids")
    assert_problem(call("GET", "/api/v1/work/tasks?view=group", org.a_rep1), 422)


def test_other_peoples_tasks_answer_404_and_watchers_may_not_work_them(call, api_org):
    org = api_org
    task_id = call("POST", "/api/v1/work/tasks", org.a_rep1, json={"title": "Private"}).get_json()[0]["id"]
    db.session.commit()
    for method, path, body in (("GET", "", None), ("PATCH", "", {"title": "x"}), ("POST", "/complete", None),
                               ("POST", "/subtasks", {"title": "x"}), ("POST", "/comments", {"body": "x"}),
                               ("GET", "/attachments/1", None)):
        for outsider in (org.a_rep2, org.b_manager):
            assert call(method, f"/api/v1/work/tasks/{task_id}{path}", outsider,
                        json=body).status_code == 404, (path, outsider.name)
    # The store manager sees the task (scope) but neither owns, takes part in nor created it.
    assert call("GET", f"/api/v1/work/tasks/{task_id}", org.a_manager).status_code == 200
    assert_problem(call("POST", f"/api/v1/work/tasks/{task_id}/complete", org.a_manager), 403)
    assert call("POST", f"/api/v1/work/tasks/{task_id}/complete").status_code == 401
