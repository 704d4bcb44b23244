"""The status block object pages include: the requester sees status, the waiting step and comments;
someone outside the store sees nothing."""

from __future__ import annotations

from flask import render_template_string
from flask_login import login_user

from tests.approvals.conftest import decide
from tests.approvals.conftest import step

BLOCK = '{% set object_type = "test_expense" %}{% set object_id = oid %}{% include "approvals/_status.html" %}'


def render_for(app, user, oid):
    with app.test_request_context("/"):
        login_user(user)
        return render_template_string(BLOCK, oid=oid)


def test_requester_sees_status_step_and_comments(app, org, chain, submit):
    chain([step("supervisor", title="Team check"), step("nth_supervisor", level=2, title="Store check")])
    instance = submit(org.a_rep1)
    html = render_for(app, org.a_rep1, instance.object_id)
    assert "Pending" in html and "Team check" in html
    decide(instance, org.a_sup, True, "Within budget")
    html = render_for(app, org.a_rep1, instance.object_id)
    assert "Store check" in html and "Within budget" in html
    assert render_for(app, org.b_rep, instance.object_id).strip() == ""
