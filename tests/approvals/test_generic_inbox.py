"""Approval tasks completed through the generic task API (the inbox form) instead of the approval pages
still count and are logged, in every kind of decision task (parallel, sequential, escalated)."""

from __future__ import annotations

from crm.approvals.models import RequestStatus
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.tasks import forms
from crm.workflow.tasks import services as task_services
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import step


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
