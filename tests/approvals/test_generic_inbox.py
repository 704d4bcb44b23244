"""Approval tasks completed through the generic task API (the inbox form) instead of the approval pages
still count and are logged, in every kind of decision task (parallel, sequential, escalated). Opened from
the generic Tasks inbox, an approval shows the approvals' decision form (summary, Approve / Reject, a
comment to reject, nothing chosen by default); the API wants an explicit `approved`."""

from __future__ import annotations

from crm.approvals.models import RequestStatus
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.tasks import forms
from crm.workflow.tasks import services as task_services
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import step
from tests.conftest import csrf


def complete_through_the_form(task, user, approved, comment):
    task = task_services.get_task(task.id, user)
    data = task_services.task_data(task)
    form = forms.load_form(task.form_schema, task.form_uischema, data)
    key = next(iter(form.schema["properties"]))
    values, errors = forms.parse_json(form, {key: {"approved": approved, "comment": comment}}, data, set())
    assert not errors, errors
    runtime.complete_task(task.id, values, actor_id=user.id)
    db.session.commit()


def test_sequential_steps_decided_through_the_task_form(org, chain, submit):
    chain([step("supervisors_up_to", "sequential", level=2)])
    instance = submit(org.a_rep1)
    complete_through_the_form(open_tasks(instance)[org.a_sup.id], org.a_sup, True, "fine")
    complete_through_the_form(open_tasks(instance)[org.a_manager.id], org.a_manager, False, "too much")
    req = request_of(instance)
    assert req.status == RequestStatus.REJECTED
    assert [(d.outcome.value, d.decided_by_id, d.comment) for d in req.decisions][-1] == (
        "rejected", org.a_manager.id, "too much")


def test_parallel_step_decided_through_the_task_form(org, chain, submit):
    chain([step("supervisor")])
    instance = submit(org.a_rep1)
    complete_through_the_form(open_tasks(instance)[org.a_sup.id], org.a_sup, True, "ok")
    req = request_of(instance)
    assert req.status == RequestStatus.APPROVED
    assert [(d.outcome.value, d.decided_by_id) for d in req.decisions] == [("approved", org.a_sup.id)]


# The generic task page and API: an approval looks like an approval -----------------------------------------
def test_the_task_page_shows_the_decision_form_and_nothing_is_decided_by_default(client, login_as, org, chain, submit):
    chain([step("supervisor")])
    instance = submit(org.a_rep1, amount="8800", category="trade fair")
    task = open_tasks(instance)[org.a_sup.id]
    login_as(org.a_sup)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="decide-form"' in page and 'id="approve-button"' in page and 'id="reject-button"' in page
    assert 'id="task-data-form"' not in page and 'type="checkbox"' not in page.split('id="decide-form"')[1].split("</form>")[0]
    assert f"Expense {instance.object_id}: trade fair" in page and "8800" in page and org.a_rep1.name in page
    assert "ap_step" not in page.split('id="task-facts"')[1].split("</dl>")[0]  # the process is named, not the sub-process

    token = csrf(client, f"/tasks/{task.id}")
    # No decision: refused, nothing changes.
    for data in ({"_approval": "1", "comment": "hm"}, {"_approval": "1", "decision": "maybe"}):
        refused = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, **data})
        assert refused.status_code == 422 and "Choose approve or reject." in refused.get_data(as_text=True)
    # The generic form without the decision form's marker: the schema wants an explicit choice.
    generic = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, "_action": "complete"})
    assert generic.status_code == 422
    # Rejecting needs a comment.
    no_reason = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, "_approval": "1", "decision": "reject"})
    assert no_reason.status_code == 422 and "Say why you reject it." in no_reason.get_data(as_text=True)
    db.session.expire_all()
    assert request_of(instance).status == RequestStatus.PENDING and open_tasks(instance)[org.a_sup.id].is_open

    done = client.post(f"/tasks/{task.id}/form", data={"csrf_token": token, "_approval": "1", "decision": "reject",
                                                       "comment": "not this fair"})
    assert done.status_code == 303
    req = request_of(instance)
    assert req.status == RequestStatus.REJECTED
    assert [(d.outcome.value, d.decided_by_id, d.comment, d.task_id) for d in req.decisions] == [
        ("rejected", org.a_sup.id, "not this fair", task.id)]


def test_the_api_refuses_a_decision_without_an_explicit_approved(call, org, chain, submit):
    from tests.conftest import grant

    grant(org.roles["supervisor"], "api.use")
    db.session.commit()
    chain([step("supervisor")])
    instance = submit(org.a_rep1)
    task = open_tasks(instance)[org.a_sup.id]
    url = f"/api/v1/tasks/{task.id}/complete"
    for body, field in (({}, "decision.approved"), ({"decision": {"comment": "fine"}}, "decision.approved"),
                        ({"decision": {"approved": "yes"}}, "decision.approved"),
                        ({"decision": {"approved": False}}, "decision.comment")):
        resp = call("POST", url, org.a_sup, json={"data": body})
        assert resp.status_code == 422, (body, resp.get_data(as_text=True))
        assert field in resp.get_json()["errors"], (body, resp.get_json())
    assert request_of(instance).status == RequestStatus.PENDING
    ok = call("POST", url, org.a_sup, json={"data": {"decision": {"approved": True, "comment": "fine"}}})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert request_of(instance).status == RequestStatus.APPROVED
