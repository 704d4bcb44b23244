"""Instance admin pages: the list and its filters, the detail page (diagram states, task data only for
process admins, history), the repair actions with their audit entries and permission checks, the
migration through HTTP, and the unmatched messages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import instances as admin
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessInstance
from crm.workflow.models import UnmatchedMessage
from crm.workflow.runtime import StepFailed
from tests.conftest import csrf
from tests.factories import UserFactory
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload


def _failing(deploy_chain: Any, broken: set[str], store: Any, actor: Any) -> ProcessInstance:
    """An instance whose service task's system is down: status error after its first step."""
    deploy_chain("wf_book", "svc:post", "check")
    broken.add("post")
    with pytest.raises(StepFailed):
        runtime.start("wf_book", object_type="order", object_id=3, store_id=store.id, actor_id=actor.id,
                      data={"secret_note": "DATA-ONLY-FOR-ADMINS"})
    db.session.commit()
    return db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()


def _audit(instance: ProcessInstance) -> list[str]:
    return [e.action for e in db.session.scalars(
        select(OperationLog).where(OperationLog.object_type == "process_instance", OperationLog.object_id == instance.id)
        .order_by(OperationLog.id))]


def _post(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf(client, "/processes/"), **data})


def test_suspend_resume_retry_terminate_are_audited(client: Any, login_as: Any, org: Any, owner: Any,
                                                    deploy_chain: Any, broken: set[str]) -> None:
    instance = _failing(deploy_chain, broken, org.store_a, org.a_rep1)
    assert instance.status == InstanceStatus.ERROR
    login_as(owner)
    url = f"/processes/{instance.id}"
    page = client.get(url).get_data(as_text=True)
    assert "the ledger is offline (post)" in page and 'id="retry"' in page

    assert _post(client, f"{url}/suspend").status_code == 303
    assert reload(instance).status == InstanceStatus.SUSPENDED
    assert _post(client, f"{url}/resume").status_code == 303
    assert reload(instance).status == InstanceStatus.ERROR  # resumes into its error, waiting for the retry

    # A retry while the system is still down: the new error is shown and recorded, and so is the retry.
    resp = _post(client, f"{url}/retry")
    assert resp.status_code == 409 and "the ledger is offline" in resp.get_data(as_text=True)
    assert reload(instance).status == InstanceStatus.ERROR
    broken.discard("post")
    assert _post(client, f"{url}/retry").status_code == 303
    instance = reload(instance)
    assert instance.status == InstanceStatus.RUNNING and instance.last_error is None
    assert one_task(instance).bpmn_id == "check"

    resp = _post(client, f"{url}/terminate", reason="")
    assert resp.status_code == 422 and "Say why" in resp.get_data(as_text=True)
    assert _post(client, f"{url}/terminate", reason="Customer withdrew").status_code == 303
    assert reload(instance).status == InstanceStatus.TERMINATED
    assert _audit(instance) == ["process_suspended", "process_resumed", "process_retried", "process_retried",
                                "process_terminated"]
    assert {"suspended", "resumed", "retried", "terminated"} <= set(kinds(instance))
    page = client.get(url).get_data(as_text=True)  # the operation log is on the page (audit.view)
    assert "Process suspended" in page and "Process terminated" in page and "Customer withdrew" in page
    # A finished process cannot be suspended: a clear answer, no 500.
    resp = _post(client, f"{url}/suspend")
    assert resp.status_code == 409 and "Only a running process" in resp.get_data(as_text=True)


def test_reassign_from_the_instance_page(client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_two", "A")
    instance = runtime.start("wf_two", store_id=org.store_a.id, actor_id=org.a_rep1.id)
    db.session.commit()
    task = one_task(instance)
    login_as(owner)
    resp = _post(client, f"/processes/{instance.id}/reassign", task_id=task.id, user_id=org.a_rep2.id)
    assert resp.status_code == 303
    assert one_task(instance).assignee_id == org.a_rep2.id
    assert _audit(instance) == ["process_task_reassigned"]
    # Someone of another store is refused with a field message.
    resp = _post(client, f"/processes/{instance.id}/reassign", task_id=task.id, user_id=org.b_rep.id)
    assert resp.status_code == 422
    assert one_task(instance).assignee_id == org.a_rep2.id


def test_repair_needs_process_admin_and_the_scope(client: Any, login_as: Any, org: Any, owner: Any,
                                                  deploy_chain: Any, broken: set[str]) -> None:
    instance = _failing(deploy_chain, broken, org.store_a, org.a_rep1)
    # The store manager sees the instance of their store, but may not repair it; no data, only history.
    login_as(org.a_manager)
    page = client.get(f"/processes/{instance.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "DATA-ONLY-FOR-ADMINS" not in text and 'id="retry"' not in text and 'id="history"' in text
    assert 'id="waiting-at"' in text
    for action in ("suspend", "resume", "retry", "terminate", "migrate"):
        assert _post(client, f"/processes/{instance.id}/{action}", reason="x").status_code == 403, action
    assert reload(instance).status == InstanceStatus.ERROR
    # A process admin bounded to store B does not see store A's instance at all.
    b_admin = UserFactory(name="B Process Admin", unit=org.store_b, roles=[org.roles["process_owner"]])
    db.session.commit()
    login_as(b_admin)
    assert client.get(f"/processes/{instance.id}").status_code == 404
    assert _post(client, f"/processes/{instance.id}/retry").status_code == 404
    assert f'data-instance="{instance.id}"' not in client.get("/processes/").get_data(as_text=True)
    # The salesperson who started it sees it (history), a colleague does not.
    login_as(org.a_rep1)
    assert client.get(f"/processes/{instance.id}").status_code == 200
    login_as(org.a_rep2)
    assert client.get(f"/processes/{instance.id}").status_code == 404
    # The process admin sees the data.
    login_as(owner)
    assert "DATA-ONLY-FOR-ADMINS" in client.get(f"/processes/{instance.id}").get_data(as_text=True)
    assert _audit(instance) == []


def test_list_filters(client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any, broken: set[str]) -> None:
    failing = _failing(deploy_chain, broken, org.store_a, org.a_rep1)
    deploy_chain("wf_two", "A")
    in_b = runtime.start("wf_two", store_id=org.store_b.id, actor_id=org.b_rep.id)
    in_a = runtime.start("wf_two", store_id=org.store_a.id, actor_id=org.a_rep2.id)
    db.session.commit()
    login_as(owner)

    def ids(**query: Any) -> set[int]:
        from crm.workflow.admin.instances import InstanceFilters

        page = admin.list_instances(owner, InstanceFilters.from_args(query), None, 50)
        resp = client.get("/processes/", query_string=query)
        assert resp.status_code == 200
        return {i.id for i in page.items}

    assert ids() >= {failing.id, in_a.id, in_b.id}
    assert ids(process="wf_two") == {in_a.id, in_b.id}
    assert ids(status="error") == {failing.id}
    assert ids(has_error="1") == {failing.id}
    assert ids(store_id=org.store_b.id) == {in_b.id}
    assert ids(started_by_id=org.a_rep2.id) == {in_a.id}
    today = in_a.started_at.date().isoformat()
    assert ids(started_from=today, started_to=today) >= {failing.id, in_a.id, in_b.id}
    assert ids(started_to="2000-01-01") == set()
    # Garbage filters count as absent.
    assert client.get("/processes/", query_string={"status": "bogus", "started_from": "x", "store_id": "-1"}).status_code == 200
    # A salesperson sees only their own.
    assert {i.id for i in admin.list_instances(org.a_rep2, admin.InstanceFilters(), None, 50).items} == {in_a.id}


def test_the_diagram_shows_active_and_failed_elements(org: Any, owner: Any, deploy_chain: Any, broken: set[str]) -> None:
    failing = _failing(deploy_chain, broken, org.store_a, org.a_rep1)
    states = admin.element_states(failing)
    assert states.failed == ["post"]  # the step was rolled back: the diagram marks where it failed
    deploy_chain("wf_two", "A")
    running = runtime.start("wf_two", store_id=org.store_a.id, actor_id=org.a_rep1.id)
    states = admin.element_states(running)
    assert states.active == ["A"] and states.completed == ["start"]


def test_migration_through_the_pages(client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_mig2", "A", "B")
    instance = runtime.start("wf_mig2", store_id=org.store_a.id, actor_id=owner.id)
    db.session.commit()
    deploy_chain("wf_mig2", "A", "N", "B")
    login_as(owner)
    page = client.get(f"/processes/{instance.id}/migrate").get_data(as_text=True)
    assert 'data-will-run="Step N (N)"' in page
    token = page.split('name="token" value="')[1].split('"')[0]
    resp = _post(client, f"/processes/{instance.id}/migrate", token=token)  # no confirmation box
    assert resp.status_code == 400 and reload(instance).definition.version == 1
    resp = _post(client, f"/processes/{instance.id}/migrate", token=token, confirm="yes")
    assert resp.status_code == 303
    assert reload(instance).definition.version == 2
    assert _audit(instance) == ["process_migrated"]
    history = client.get(f"/processes/{instance.id}").get_data(as_text=True)
    assert "v1 → v2" in history


def test_unmatched_messages_page(client: Any, login_as: Any, org: Any, owner: Any) -> None:
    runtime.send_message("order_paid", "order", 99, {"amount": "12.00"}, store_id=org.store_b.id)
    db.session.commit()
    assert db.session.scalar(select(UnmatchedMessage.message_name)) == "order_paid"
    login_as(owner)
    assert "order_paid" in client.get("/processes/unmatched-messages").get_data(as_text=True)
    store_admin = UserFactory(name="A Process Admin", unit=org.store_a, roles=[org.roles["process_owner"]])
    db.session.commit()
    login_as(store_admin)
    assert "order_paid" not in client.get("/processes/unmatched-messages").get_data(as_text=True)
    login_as(org.a_manager)
    assert client.get("/processes/unmatched-messages").status_code == 403


def test_counts_on_the_diagram_and_retry_them_all(client: Any, login_as: Any, org: Any, owner: Any,
                                                  deploy_chain: Any, broken: set[str]) -> None:
    first = _failing(deploy_chain, broken, org.store_a, org.a_rep1)
    with pytest.raises(StepFailed):
        runtime.start("wf_book", store_id=org.store_b.id, actor_id=org.b_rep.id)
    db.session.commit()
    version = first.definition
    assert admin.element_counts(version.id, owner) == {"post": {"failed": 2}}
    store_admin = UserFactory(name="A Proc Admin", unit=org.store_a, roles=[org.roles["process_owner"]])
    db.session.commit()
    assert admin.element_counts(version.id, store_admin) == {"post": {"failed": 1}}  # only their store
    login_as(owner)
    page = client.get("/processes/definitions/wf_book").get_data(as_text=True)
    assert 'id="retry-all"' in page and "2 instances of this process stopped with an error" in page
    assert "data-counts=" in client.get(f"/processes/definitions/wf_book/{version.version}").get_data(as_text=True)
    # Still broken: both fail again, the errors are kept and reported.
    resp = _post(client, "/processes/definitions/wf_book/retry-failed")
    assert resp.status_code == 303
    assert "failed again" in client.get("/processes/definitions/wf_book").get_data(as_text=True)
    assert reload(first).status == InstanceStatus.ERROR
    broken.discard("post")
    login_as(store_admin)  # retries only what they see
    _post(client, "/processes/definitions/wf_book/retry-failed")
    assert reload(first).status == InstanceStatus.RUNNING
    assert admin.element_counts(version.id, owner) == {"check": {"active": 1}, "post": {"failed": 1}}
    login_as(owner)
    _post(client, "/processes/definitions/wf_book/retry-failed")
    assert admin.element_counts(version.id, owner) == {"check": {"active": 2}}
    assert _audit(first).count("process_retried") == 2
