"""Rollback: any earlier version made current again in one action — a NEW version with that content,
deployed through the same validation, with who and why (a required comment) kept on the version and in
the operation log. New instances use the rolled-back content; running ones stay on their version. "Edit
in the browser" on an older version's page opens that version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import current_definitions
from crm.workflow.models import ProcessDefinition
from tests.conftest import assert_problem
from tests.conftest import csrf
from tests.conftest import grant
from tests.factories import UserFactory
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload


def _versions(key: str) -> list[ProcessDefinition]:
    return list(db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version)))


def test_rolling_back_from_the_page_makes_a_new_version_and_running_instances_stay(
        client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_rb", "A")
    deploy_chain("wf_rb", "A", "B")
    running = runtime.start("wf_rb", actor_id=org.a_rep1.id)
    db.session.commit()
    v1, v2 = _versions("wf_rb")
    assert running.definition_id == v2.id

    login_as(owner)
    page = client.get("/processes/definitions/wf_rb/1").get_data(as_text=True)
    assert 'id="rollback-form"' in page
    assert "/processes/definitions/wf_rb/edit?version=1" in page  # Edit opens THAT version
    assert 'id="rollback-form"' not in client.get("/processes/definitions/wf_rb/2").get_data(as_text=True)

    token = csrf(client, "/processes/definitions/wf_rb/1")
    refused = client.post("/processes/definitions/wf_rb/1/rollback", data={"csrf_token": token, "comment": "  "})
    assert refused.status_code == 422 and "Say why this version becomes current again." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert len(_versions("wf_rb")) == 2

    done = client.post("/processes/definitions/wf_rb/1/rollback",
                       data={"csrf_token": token, "comment": "step B confused the warehouse"})
    assert done.status_code == 303
    db.session.expire_all()
    v3 = current_definitions()["wf_rb"]
    assert (v3.version, v3.sha256, v3.source, v3.deployed_by_id, v3.comment) == (
        3, v1.sha256, "rollback:v1", owner.id, "step B confused the warehouse")
    [log] = db.session.scalars(select(OperationLog).where(OperationLog.action == "process_rolled_back"))
    assert (log.object_type, log.object_id, log.actor_id, log.note) == (
        "process_definition", v3.id, owner.id, "step B confused the warehouse")
    assert log.changes["content_of"]["new"] == "1" and log.changes["version"] == {"type": "str", "old": "2", "new": "3"}
    versions_page = client.get("/processes/definitions/wf_rb").get_data(as_text=True)
    assert "Made current again from v1" in versions_page and "step B confused the warehouse" in versions_page

    # New instances use the rolled-back content (A, then the end); the running one stays on v2 (A, then B).
    fresh = runtime.start("wf_rb", actor_id=org.a_rep1.id)
    db.session.commit()
    assert fresh.definition_id == v3.id
    runtime.complete_task(one_task(fresh, "A").id, {}, actor_id=org.a_rep1.id)
    runtime.complete_task(one_task(running, "A").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    assert reload(fresh).status.value == "completed"
    assert reload(running).definition_id == v2.id and one_task(running, "B")

    # The current content again: nothing to do.
    again = client.post("/processes/definitions/wf_rb/1/rollback", data={"csrf_token": token, "comment": "again"})
    assert again.status_code == 409 and "already what new instances use" in again.get_data(as_text=True)


def test_the_editor_opens_the_version_asked_for(client: Any, login_as: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_rb_edit", "A")
    deploy_chain("wf_rb_edit", "A", "B")
    login_as(owner)
    old = client.get("/processes/definitions/wf_rb_edit/edit?version=1").get_data(as_text=True)
    assert "/processes/definitions/wf_rb_edit/1/xml" in old and "based on v1" in old
    current = client.get("/processes/definitions/wf_rb_edit/edit").get_data(as_text=True)
    assert "/processes/definitions/wf_rb_edit/2/xml" in current
    assert client.get("/processes/definitions/wf_rb_edit/edit?version=9").status_code == 404


def test_rollback_through_the_api(call: Any, org: Any, deploy_chain: Any) -> None:
    grant(org.roles["process_owner"], "api.use")
    grant(org.roles["store_manager"], "api.use")
    owner = UserFactory(name="Api Owner", unit=org.hq, roles=[org.roles["process_owner"]])
    db.session.commit()
    deploy_chain("wf_rb_api", "A")
    deploy_chain("wf_rb_api", "A", "B")
    url = "/api/v1/process-definitions/wf_rb_api/versions/1/rollback"
    body = assert_problem(call("POST", url, owner, json={}), 422)
    assert "comment" in body["errors"]
    assert call("POST", url, org.a_manager, json={"comment": "x"}).status_code == 403
    assert call("POST", "/api/v1/process-definitions/wf_rb_api/versions/7/rollback", owner,
                json={"comment": "x"}).status_code == 404
    resp = call("POST", url, owner, json={"comment": "back to one step"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert {k: resp.get_json()[k] for k in ("key", "version", "source", "comment", "deployed_by_id")} == {
        "key": "wf_rb_api", "version": 3, "source": "rollback:v1", "comment": "back to one step",
        "deployed_by_id": owner.id}
    assert_problem(call("POST", url, owner, json={"comment": "again"}), 409)
