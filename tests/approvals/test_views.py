"""The approval pages: the queue lists what waits for the supervisor, approving from it moves the
process on and the requester sees the outcome; chain admin pages; bad input answers with field errors."""

from __future__ import annotations

import re

from crm.approvals.models import ApprovalChain
from crm.approvals.models import RequestStatus
from crm.extensions import db
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import step
from tests.conftest import csrf


def test_supervisor_approves_from_the_queue_and_the_requester_sees_it(org, chain, submit, client, login_as):
    chain([step("supervisor")])
    instance = submit(org.a_rep1, amount="1234.50")
    task = open_tasks(instance)[org.a_sup.id]
    login_as(org.a_sup)
    page = client.get("/approvals/").get_data(as_text=True)
    assert "Expense" in page and "1234.50" in page
    token = csrf(client, "/approvals/")
    r = client.post(f"/approvals/tasks/{task.id}/decide", data={"csrf_token": token, "decision": "approve",
                                                                "comment": "Looks right"})
    assert r.status_code == 302
    req = request_of(instance)
    assert req.status == RequestStatus.APPROVED
    decided = client.get("/approvals/?view=decided").get_data(as_text=True)
    assert "Looks right" in decided
    login_as(org.a_rep1)
    page = client.get(f"/approvals/requests/{req.id}").get_data(as_text=True)
    assert "Approved" in page and "Looks right" in page
    bell = client.get("/notifications/").get_data(as_text=True)
    assert "Your request was approved" in bell


def test_reject_needs_a_comment_and_others_get_404(org, chain, submit, client, login_as):
    chain([step("supervisor")])
    instance = submit(org.a_rep1)
    task = open_tasks(instance)[org.a_sup.id]
    login_as(org.b_sup)
    token = csrf(client, "/approvals/")
    assert client.post(f"/approvals/tasks/{task.id}/decide", data={"csrf_token": token, "decision": "approve"}).status_code == 404
    assert client.get(f"/approvals/requests/{request_of(instance).id}").status_code == 404
    login_as(org.a_sup)
    token = csrf(client, "/approvals/")
    r = client.post(f"/approvals/tasks/{task.id}/decide", data={"csrf_token": token, "decision": "reject", "comment": ""},
                    headers={"Accept": "application/json"})
    assert r.status_code == 422 and "comment" in r.get_json()["errors"]
    # From the queue page: the queue again, the error at that row's comment field, the request undecided.
    r = client.post(f"/approvals/tasks/{task.id}/decide", data={"csrf_token": token, "decision": "reject", "comment": " "})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="approval-views"' in page
    assert f'id="comment-{task.id}-error"' in page and "Say why you reject it." in page
    assert f'id="comment-{task.id}"' in page and "is-invalid" in page.split(f'id="comment-{task.id}"')[0][-300:]
    # From the request's page: that page again with the error under its comment.
    r = client.post(f"/approvals/tasks/{task.id}/decide", data={"csrf_token": token, "decision": "reject",
                                                                "comment": "", "next": "request"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="decide-form"' in page and 'data-field-error="comment"' in page
    assert request_of(instance).status == RequestStatus.PENDING


def test_bulk_approve_from_the_queue(org, chain, submit, client, login_as):
    chain([step("supervisor")])
    a, b = submit(org.a_rep1), submit(org.a_rep2)
    ids = [open_tasks(a)[org.a_sup.id].id, open_tasks(b)[org.a_sup.id].id]
    login_as(org.a_sup)
    token = csrf(client, "/approvals/")
    r = client.post("/approvals/bulk", data={"csrf_token": token, "task_ids": [str(i) for i in ids]})
    assert r.status_code == 302
    assert request_of(a).status == RequestStatus.APPROVED and request_of(b).status == RequestStatus.APPROVED


def test_chain_admin_pages(org, client, login_as):
    login_as(org.hq_admin)
    token = csrf(client, "/approvals/chains")
    r = client.post("/approvals/chains", data={"csrf_token": token, "key": "Bad Key!"})
    assert r.status_code == 422 and "lower-case" in r.get_data(as_text=True)
    r = client.post("/approvals/chains", data={"csrf_token": token, "key": "discount_audit", "name": "Discounts"})
    assert r.status_code == 302
    chain = db.session.query(ApprovalChain).filter_by(key="discount_audit").one()
    r = client.post(f"/approvals/chains/{chain.id}/steps", data={"csrf_token": token, "title": "", "rule": "nth_supervisor",
                                                                 "level": "99", "mode": "any"})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "Give the step a title." in body and "Enter a level from 1 to 10." in body
    for title, rule in (("Team", "supervisor"), ("Store", "nth_supervisor")):
        r = client.post(f"/approvals/chains/{chain.id}/steps", data={
            "csrf_token": token, "title": title, "rule": rule, "level": "2", "mode": "single",
            "condition_field": "amount", "condition_op": "gt", "condition_value": "50000", "on_empty": "auto_pass"})
        assert r.status_code == 302
    db.session.refresh(chain)
    assert chain.current_version == 3
    r = client.post(f"/approvals/chains/{chain.id}/steps/1/move", data={"csrf_token": token, "direction": "up"})
    assert r.status_code == 302
    page = client.get(f"/approvals/chains/{chain.id}/preview?submitter_id={org.a_rep1.id}&values=amount%3D60000")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "A Manager" in text and "A Supervisor" in text
    assert text.index("Store:") < text.index("Team:")
    edit = client.get(f"/approvals/chains/{chain.id}?edit=0").get_data(as_text=True)
    assert 'value="Store"' in edit and "Save step" in edit
    r = client.post(f"/approvals/chains/{chain.id}/steps/0", data={
        "csrf_token": token, "title": "Store manager", "rule": "store_role", "role": "store_manager", "mode": "any",
        "condition_field": "amount", "condition_op": "between", "condition_value": "1000, 5000"})
    assert r.status_code == 302
    db.session.refresh(chain)
    from crm.approvals.services import current_steps

    assert current_steps(chain)[0]["condition"] == {"field": "amount", "op": "between", "value": ["1000", "5000"]}
    assert chain.current_version == 5
    login_as(org.a_sup)
    assert client.get("/approvals/chains").status_code == 403


def test_steps_choose_users_from_lists_not_ids(org, client, login_as):
    login_as(org.hq_admin)
    token = csrf(client, "/approvals/chains")
    client.post("/approvals/chains", data={"csrf_token": token, "key": "contract", "name": "Contracts"})
    chain = db.session.query(ApprovalChain).filter_by(key="contract").one()
    page = client.get(f"/approvals/chains/{chain.id}").get_data(as_text=True)
    assert f'<option value="{org.a_sup.id}"' in page and "A Supervisor ·" in page  # name · unit
    r = client.post(f"/approvals/chains/{chain.id}/steps", data={
        "csrf_token": token, "title": "Board", "rule": "users", "mode": "all", "on_empty": "admin",
        "user_ids": [str(org.a_sup.id), str(org.a_manager.id)], "fallback_admin_id": str(org.hq_admin.id)})
    assert r.status_code == 302
    from crm.approvals.services import current_steps

    db.session.refresh(chain)
    step = current_steps(chain)[0]
    assert step["user_ids"] == [org.a_sup.id, org.a_manager.id] and step["fallback_admin_id"] == org.hq_admin.id
    edit = client.get(f"/approvals/chains/{chain.id}?edit=0").get_data(as_text=True)
    assert f'<option value="{org.a_manager.id}" selected>' in edit
    # A refused form shows the users chosen, still chosen.
    r = client.post(f"/approvals/chains/{chain.id}/steps", data={
        "csrf_token": token, "title": "", "rule": "users", "mode": "all", "user_ids": [str(org.a_sup.id), str(org.a_rep1.id)]})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert f'<option value="{org.a_rep1.id}" selected>' in body and f'<option value="{org.a_sup.id}" selected>' in body


def test_chain_pickers_offer_the_objects_fields_and_people_by_store(org, client, login_as):
    """A step's condition picks one of the approvable objects' fields (grouped by object), and the user
    pickers group people by store, searchable by name."""
    import crm.sales.quotes.bpmn  # noqa: F401  (registers the quote's fields)

    login_as(org.hq_admin)
    token = csrf(client, "/approvals/chains")
    client.post("/approvals/chains", data={"csrf_token": token, "key": "discount_audit", "name": "Discounts"})
    chain = db.session.query(ApprovalChain).filter_by(key="discount_audit").one()
    page = client.get(f"/approvals/chains/{chain.id}").get_data(as_text=True)
    field = page.split('id="f-condition_field"')[1].split("</select>")[0]
    assert '<optgroup label="Quote">' in field and '<option value="min_rate" >Lowest line discount rate</option>' in field
    users = page.split('id="f-user_ids"')[1].split("</select>")[0]
    assert '<optgroup label="Store A">' in users and '<optgroup label="Store B">' in users
    store_a = users.split('<optgroup label="Store A">')[1].split("</optgroup>")[0]
    assert "A Rep One · A Sales" in store_a and "B Rep" not in store_a
    names = [n.split(" · ")[0] for n in re.findall(r'<option value="\d+" >([^<]+)</option>', store_a)]
    assert names == sorted(names)
    assert 'data-filter-select="f-user_ids"' in page
    assert '<optgroup label="Store A">' in page.split('id="f-fallback_admin_id"')[1].split("</select>")[0]
