"""The process admin API: definitions and versions, deploying through the validation pipeline, instances
in scope with their history, repair actions for process admins only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import current_definitions
from crm.workflow.models import InstanceStatus
from crm.workflow.runtime import StepFailed
from tests.conftest import assert_problem
from tests.conftest import chain
from tests.conftest import grant
from tests.factories import UserFactory
from tests.workflow.conftest import reload

DATA = Path(__file__).parent / "data"


@pytest.fixture
def api_owner(org: Any) -> Any:
    grant(org.roles["process_owner"], "api.use")
    grant(org.roles["store_manager"], "api.use")
    user = UserFactory(name="Api Owner", unit=org.hq, roles=[org.roles["process_owner"]])
    db.session.commit()
    return user


def test_definitions_and_deploy(call: Any, api_owner: Any, org: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_api", "A")
    resp = call("GET", "/api/v1/process-definitions", api_owner)
    assert resp.status_code == 200
    assert {"key": "wf_api", "name": "Chain", "current_version": 1, "versions": 1, "live_instances": 0} in resp.get_json()["items"]
    resp = call("POST", "/api/v1/process-definitions", api_owner,
                json={"xml": chain("wf_api", "A", "B"), "comment": "via API", "key": "wf_api"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["definition"]["version"] == 2
    resp = call("POST", "/api/v1/process-definitions", api_owner,
                json={"xml": (DATA / "wf_broken.bpmn").read_text(), "comment": "broken"})
    body = assert_problem(resp, 422)
    messages = " ".join(m for ms in body["errors"].values() for m in ms)
    assert "element wait_unquoted" in messages and "element book" in messages
    assert current_definitions()["wf_api"].version == 2
    versions = call("GET", "/api/v1/process-definitions/wf_api/versions", api_owner).get_json()["items"]
    assert [(v["version"], v["is_current"], v["source"]) for v in versions] == [(2, True, "editor"), (1, False, "file:processes/wf_api.bpmn")]
    assert call("GET", "/api/v1/process-definitions/nope/versions", api_owner).status_code == 404
    # A store manager with api.use but no process permission.
    assert call("GET", "/api/v1/process-definitions", org.a_manager).status_code == 403
    assert call("POST", "/api/v1/process-definitions", org.a_manager,
                json={"xml": chain("wf_api", "A"), "comment": "x"}).status_code == 403


def test_instances_and_repair(call: Any, api_owner: Any, org: Any, deploy_chain: Any, broken: set[str]) -> None:
    deploy_chain("wf_api_book", "svc:post", "check")
    broken.add("post")
    with pytest.raises(StepFailed):
        runtime.start("wf_api_book", store_id=org.store_a.id, actor_id=org.a_rep1.id, data={"note": "SECRET-DATA"})
    db.session.commit()
    from sqlalchemy import select

    from crm.workflow.models import ProcessInstance

    instance = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    page = call("GET", "/api/v1/process-instances?status=error", api_owner).get_json()
    assert [i["id"] for i in page["items"]] == [instance.id]
    detail = call("GET", f"/api/v1/process-instances/{instance.id}", api_owner).get_json()
    assert detail["failed_elements"] == ["post"] and detail["data"]["note"] == "SECRET-DATA"
    # The store manager sees the instance and its history, not its data, and may not repair it.
    manager_view = call("GET", f"/api/v1/process-instances/{instance.id}", org.a_manager).get_json()
    assert manager_view["data"] is None and "SECRET-DATA" not in str(manager_view)
    assert call("POST", f"/api/v1/process-instances/{instance.id}/retry", org.a_manager).status_code == 403
    # Retry while still broken: 409 and the error kept; then fixed.
    assert_problem(call("POST", f"/api/v1/process-instances/{instance.id}/retry", api_owner), 409)
    assert reload(instance).status == InstanceStatus.ERROR
    broken.discard("post")
    resp = call("POST", f"/api/v1/process-instances/{instance.id}/retry", api_owner)
    assert resp.status_code == 200 and resp.get_json()["active_elements"] == ["check"]
    assert call("POST", f"/api/v1/process-instances/{instance.id}/suspend", api_owner).get_json()["status"] == "suspended"
    assert call("POST", f"/api/v1/process-instances/{instance.id}/resume", api_owner).get_json()["status"] == "running"
    assert_problem(call("POST", f"/api/v1/process-instances/{instance.id}/terminate", api_owner, json={}), 422, "reason")
    resp = call("POST", f"/api/v1/process-instances/{instance.id}/terminate", api_owner, json={"reason": "done"})
    assert resp.get_json()["status"] == "terminated"
    # Outside the scope: 404.
    b_user = UserFactory(name="B Api", unit=org.store_b, roles=[org.roles["store_manager"]])
    db.session.commit()
    assert call("GET", f"/api/v1/process-instances/{instance.id}", b_user).status_code == 404


def test_migration_over_the_api(call: Any, api_owner: Any, org: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_api_mig", "A", "B")
    instance = runtime.start("wf_api_mig", store_id=org.store_a.id, actor_id=api_owner.id)
    db.session.commit()
    deploy_chain("wf_api_mig", "A", "N", "B")
    url = f"/api/v1/process-instances/{instance.id}/migration"
    plan = call("GET", url, api_owner).get_json()
    assert plan["safe"] and plan["added_will_run"] == ["Step N (N)"] and (plan["from_version"], plan["to_version"]) == (1, 2)
    assert_problem(call("POST", url, api_owner, json={"token": "stale"}), 409)
    assert call("GET", url, org.a_manager).status_code == 403
    resp = call("POST", url, api_owner, json={"token": plan["token"]})
    assert resp.status_code == 200 and resp.get_json()["version"] == 2


def test_a_failed_step_kept_on_its_instance_is_the_keys_answer(call: Any, api_org: Any, deploy_chain: Any,
                                                               broken: set[str]) -> None:
    """Stripe's rule for `Idempotency-Key`: a refusal that kept what it did (the completed task, the failed
    step recorded on the instance for an admin to retry) is the key's answer, replayed; the task is not
    completed twice and the step not run again."""
    from sqlalchemy import func
    from sqlalchemy import select

    from crm.workflow.models import HumanTask
    from crm.workflow.models import ProcessInstance

    deploy_chain("wf_api_key", "A", "svc:post")
    broken.add("post")
    instance = runtime.start("wf_api_key", store_id=api_org.store_a.id, actor_id=api_org.a_rep1.id)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    first = call("POST", f"/api/v1/tasks/{task.id}/complete", api_org.a_rep1, json={"data": {}},
                 headers={"Idempotency-Key": "step-1"})
    assert first.status_code >= 400 and "Idempotency-Replayed" not in first.headers
    assert reload(instance).status == InstanceStatus.ERROR
    again = call("POST", f"/api/v1/tasks/{task.id}/complete", api_org.a_rep1, json={"data": {}},
                 headers={"Idempotency-Key": "step-1"})
    assert again.headers["Idempotency-Replayed"] == "true"
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
