"""/api/v1/tasks: the inbox lists with filters and keyset pages, one task with its form and values,
claim (a second claim answers 409), unclaim, complete (validated like the form: 422 per field)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import services as tasks
from tests.conftest import assert_problem
from tests.conftest import grant

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
VALID = {"amount": "1234.5", "quantity": 3, "decision": "reject", "lines": [{"product": "Pallet", "qty": 2}]}


@pytest.fixture
def api_inbox(inbox):
    for role in ("salesperson", "supervisor", "store_manager"):
        grant(inbox.roles[role], "api.use")
    db.session.commit()
    return inbox


@pytest.fixture
def task(review, api_inbox):
    return review(candidates=[api_inbox.a_rep1, api_inbox.a_rep2])


def titles(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [t["title"] for t in resp.get_json()["items"]]


def test_lists_with_filters_and_pages(task, review, api_inbox, call):
    other = review(order_no="SO-2", candidates=[api_inbox.a_rep1])
    review(api_inbox.store_b, order_no="SO-9", candidates=[api_inbox.b_rep])
    rep = api_inbox.a_rep1
    assert titles(call("GET", "/api/v1/tasks?view=mine", rep)) == []
    assert titles(call("GET", "/api/v1/tasks?view=group", rep)) == ["Review order SO-2", "Review order SO-1"]
    assert titles(call("GET", "/api/v1/tasks?view=group&q=SO-2", rep)) == ["Review order SO-2"]
    first = call("GET", "/api/v1/tasks?view=group&limit=1", rep).get_json()
    assert [t["id"] for t in first["items"]] == [other.id] and first["next_cursor"]
    second = call("GET", f"/api/v1/tasks?view=group&limit=1&cursor={first['next_cursor']}", rep).get_json()
    assert [t["id"] for t in second["items"]] == [task.id] and second["next_cursor"] is None
    assert titles(call("GET", f"/api/v1/tasks?view=all&store_id={api_inbox.store_b.id}", api_inbox.a_manager)) == []
    assert_problem(call("GET", "/api/v1/tasks?view=nonsense", rep), 422, "view")
    item = call("GET", "/api/v1/tasks?view=group", rep).get_json()["items"][0]
    assert item["status"] == "open" and item["store_id"] == api_inbox.store_a.id and item["priority"] == 1


def test_one_task_with_its_form_and_values(task, api_inbox, call):
    task.draft = {"note": "draft note"}
    db.session.commit()
    body = call("GET", f"/api/v1/tasks/{task.id}", api_inbox.a_rep1).get_json()
    assert body["title"] == "Review order SO-1" and body["instructions"].startswith("Check order SO-1")
    assert set(body["candidate_ids"]) == {api_inbox.a_sup.id, api_inbox.a_rep1.id, api_inbox.a_rep2.id}
    assert body["form"]["schema"]["properties"]["amount"]["format"] == "money"
    assert body["form"]["uischema"]["decision"] == {"ui:widget": "radio"}
    assert body["data"] == {"customer": "ACME Pallets", "note": "draft note", "contact": {}}
    assert_problem(call("GET", f"/api/v1/tasks/{task.id}", api_inbox.b_manager), 404)
    assert_problem(call("GET", "/api/v1/tasks/999999", api_inbox.a_rep1), 404)


def test_claim_twice_then_unclaim(task, api_inbox, call):
    resp = call("POST", f"/api/v1/tasks/{task.id}/claim", api_inbox.a_rep1)
    assert resp.status_code == 200 and resp.get_json()["assignee_id"] == api_inbox.a_rep1.id
    body = assert_problem(call("POST", f"/api/v1/tasks/{task.id}/claim", api_inbox.a_rep2), 409)
    assert body["detail"] == "A Rep One has already claimed this task."
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/claim", api_inbox.b_rep), 404)
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/unclaim", api_inbox.a_rep2), 403)
    resp = call("POST", f"/api/v1/tasks/{task.id}/unclaim", api_inbox.a_rep1)
    assert resp.status_code == 200 and resp.get_json()["assignee_id"] is None


def test_complete_validates_like_the_form(task, api_inbox, call):
    rep = api_inbox.a_rep1
    call("POST", f"/api/v1/tasks/{task.id}/claim", rep)
    body = assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", rep,
                               json={"data": {**VALID, "amount": 12.345, "lines": [{"product": "P", "qty": 0}]}}),
                          422, "amount", "lines.0.qty")
    assert body["errors"]["amount"] == ["Amount has at most 2 decimal places."]
    body = assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": {}},
                               headers={"Accept-Language": "zh-CN"}), 422, "amount", "decision")
    assert body["errors"]["decision"] == ["决定为必填项。"]  # the field's title in Chinese too
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": "x"}), 422, "data")
    assert db.session.get(HumanTask, task.id, populate_existing=True).status == TaskStatus.CLAIMED
    resp = call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": VALID})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "completed" and resp.get_json()["completed_by_id"] == rep.id
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": VALID}), 409)


def test_complete_answers_who_may_not_complete_it(task, api_inbox, call):
    """The completion reads the task once, under its lock, then decides: another store's user gets 404
    (the task does not exist for them), a manager who sees it but is no candidate 403, a candidate of a
    task someone else claimed 409 — and none of them changes it."""
    url = f"/api/v1/tasks/{task.id}/complete"
    assert_problem(call("POST", url, api_inbox.b_manager, json={"data": VALID}), 404)
    assert_problem(call("POST", "/api/v1/tasks/999999/complete", api_inbox.a_rep1, json={"data": VALID}), 404)
    assert_problem(call("POST", url, api_inbox.a_manager, json={"data": VALID}), 403)
    call("POST", f"/api/v1/tasks/{task.id}/claim", api_inbox.a_rep2)
    body = assert_problem(call("POST", url, api_inbox.a_rep1, json={"data": VALID}), 409)
    assert body["detail"] == "This task is claimed by someone else."
    assert db.session.get(HumanTask, task.id, populate_existing=True).status == TaskStatus.CLAIMED
    resp = call("POST", url, api_inbox.a_rep2, json={"data": VALID})
    assert resp.status_code == 200 and resp.get_json()["completed_by_id"] == api_inbox.a_rep2.id


def test_complete_with_a_file_names_an_attachment_of_the_task(task, review, api_inbox, call):
    rep = api_inbox.a_rep1
    tasks.claim(task.id, actor=rep)
    attachment = task_files.add_attachment(task.id, "voucher.png", io.BytesIO(PNG), actor=rep)
    elsewhere = review(candidates=[rep])
    tasks.claim(elsewhere.id, actor=rep)
    foreign = task_files.add_attachment(elsewhere.id, "other.png", io.BytesIO(PNG), actor=rep)
    db.session.commit()
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", rep,
                        json={"data": {**VALID, "voucher": foreign.id}}), 422, "voucher")
    resp = call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": {**VALID, "voucher": attachment.id}})
    assert resp.status_code == 200
    completed = db.session.scalars(select(HumanTask).where(HumanTask.id == task.id)).one()
    assert completed.status == TaskStatus.COMPLETED


def test_files_are_uploaded_downloaded_and_removed_through_the_api(task, review, api_inbox, call):
    rep, other = api_inbox.a_rep1, api_inbox.a_rep2
    url = f"/api/v1/tasks/{task.id}/attachments"

    def upload(user, name, content, **form):
        return call("POST", url, user, data={"file": (io.BytesIO(content), name), **form},
                    content_type="multipart/form-data")

    tasks.claim(task.id, actor=rep)
    db.session.commit()
    assert_problem(upload(other, "voucher.png", PNG), 403)  # a candidate, but the task is claimed by rep
    assert_problem(upload(rep, "notes.exe", b"MZ\x90\x00"), 422, "file")
    assert_problem(upload(rep, "voucher.png", PNG, field="no_such_field"), 422, "field")
    assert_problem(upload(rep, "voucher.txt", b"plain text", field="voucher"), 422, "file")  # .pdf, .png only
    assert_problem(call("POST", url, rep, data={}, content_type="multipart/form-data"), 422, "file")
    resp = upload(rep, "voucher.png", PNG, field="voucher")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    attachment = resp.get_json()
    assert attachment["name"] == "voucher.png" and attachment["field"] == "voucher" and attachment["size"] == len(PNG)

    download = call("GET", f"{url}/{attachment['id']}", rep)
    assert download.status_code == 200 and download.data == PNG and download.mimetype == "image/png"
    assert call("GET", f"{url}/{attachment['id']}", api_inbox.b_rep).status_code == 404  # another store
    elsewhere = review(candidates=[rep])
    assert call("GET", f"/api/v1/tasks/{elsewhere.id}/attachments/{attachment['id']}", rep).status_code == 404

    resp = call("POST", f"/api/v1/tasks/{task.id}/complete", rep, json={"data": {**VALID, "voucher": attachment["id"]}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert_problem(call("DELETE", f"{url}/{attachment['id']}", rep), 409)  # the task is done: its files stay

    spare = review(candidates=[rep])
    tasks.claim(spare.id, actor=rep)
    db.session.commit()
    spare_url = f"/api/v1/tasks/{spare.id}/attachments"
    added = call("POST", spare_url, rep, data={"file": (io.BytesIO(PNG), "a.png")},
                 content_type="multipart/form-data").get_json()
    assert call("DELETE", f"{spare_url}/{added['id']}", rep).status_code == 204
    assert call("GET", f"{spare_url}/{added['id']}", rep).status_code == 404


def test_the_api_needs_a_token(task, client):
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.post(f"/api/v1/tasks/{task.id}/claim").status_code == 401
