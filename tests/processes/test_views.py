"""The process admin pages. Instances: the list and its filters, the detail page (diagram states, task data
only for process admins, history), the repair actions with their audit entries and permission checks,
the migration through HTTP, and the unmatched messages. Definitions: every process with its versions,
counts per version, the diagram page, the download and the readable diff of two versions; and who may
see them. The editor's save route: every diagram gets a deployment or a specific readable error, never a
500, and a rejected diagram leaves the current version as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import instances as admin
from crm.workflow.admin.definitions import diff_versions
from crm.workflow.admin.definitions import get_version
from crm.workflow.deploy import current_definitions
from crm.workflow.models import InstanceStatus
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessInstance
from crm.workflow.models import UnmatchedMessage
from crm.workflow.runtime import StepFailed
from tests.conftest import chain
from tests.conftest import csrf
from tests.factories import UserFactory
from tests.workflow.conftest import kinds
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload


# Instances ===================================================================================================
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
    assert "Moved from version 1 to version 2" in history and "from_version" not in history


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


# Definitions =================================================================================================
def test_overview_and_versions(client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_ver", "A", actor=owner, comment="First cut")
    runtime.start("wf_ver", store_id=org.store_a.id, actor_id=owner.id)
    deploy_chain("wf_ver", "A", "B", actor=owner, comment="Adds B")
    runtime.start("wf_ver", store_id=org.store_a.id, actor_id=owner.id)
    runtime.start("wf_ver", store_id=org.store_a.id, actor_id=owner.id)
    db.session.commit()
    login_as(owner)
    page = client.get("/processes/definitions").get_data(as_text=True)
    assert 'data-key="wf_ver"' in page and "v2" in page
    page = client.get("/processes/definitions/wf_ver").get_data(as_text=True)
    v1 = page.split('data-version="1"')[1].split("</tr>")[0]
    v2 = page.split('data-version="2"')[1].split("</tr>")[0]
    assert "First cut" in v1 and "Olivia Owner" in v1 and "wf_ver.bpmn" in v1 and ">1</td>" in v1
    assert "Adds B" in v2 and ">2</td>" in v2 and "Current" in v2
    # The live instance on v1 is offered for migration.
    assert 'id="old-instances"' in page
    version = client.get("/processes/definitions/wf_ver/1")
    assert version.status_code == 200 and 'data-xml-url="/processes/definitions/wf_ver/1/xml"' in version.get_data(as_text=True)
    download = client.get("/processes/definitions/wf_ver/1/download")
    assert download.headers["Content-Disposition"] == 'attachment; filename="wf_ver.v1.bpmn"'
    assert download.get_data(as_text=True) == chain("wf_ver", "A")
    assert client.get("/processes/definitions/wf_ver/9").status_code == 404
    assert client.get("/processes/definitions/nope").status_code == 404


def test_diff_names_added_removed_and_changed_elements(client: Any, login_as: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_diff", "A", "B", "svc:post")
    v2 = chain("wf_diff", "A", "C", "svc:post").replace('name="Step A"', 'name="Step A, renamed"')
    v2 = v2.replace("value=\"'post'\"", "value=\"'posted'\"")
    from crm.workflow.deploy import deploy_files

    deploy_files({"wf_diff.bpmn": v2.encode()}, source="file")
    db.session.commit()
    result = diff_versions(get_version("wf_diff", 1), get_version("wf_diff", 2))
    assert {c.element_id for c in result.added} == {"C", "f_A_C", "f_C_post"}
    assert {c.element_id for c in result.removed} == {"B", "f_A_B", "f_B_post"}
    changed = {c.element_id: c.changes for c in result.changed}
    assert changed["A"] == ["name"]
    assert changed["post"] == ["service operator or parameters"]
    login_as(owner)
    page = client.get("/processes/definitions/wf_diff/diff", query_string={"a": 1, "b": 2}).get_data(as_text=True)
    assert 'id="diff-added"' in page and 'data-id="C"' in page and "Step A, renamed" in page
    same = client.get("/processes/definitions/wf_diff/diff", query_string={"a": 2, "b": 2}).get_data(as_text=True)
    assert 'id="no-changes"' in same
    assert client.get("/processes/definitions/wf_diff/diff", query_string={"a": 1, "b": 99}).status_code == 404
    assert client.get("/processes/definitions/wf_diff/diff", query_string={"a": "x"}).status_code == 200  # defaults


def test_definitions_need_a_process_permission(client: Any, login_as: Any, org: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_ver", "A")
    login_as(org.a_manager)
    for url in ("/processes/definitions", "/processes/definitions/wf_ver", "/processes/definitions/wf_ver/1",
                "/processes/definitions/wf_ver/1/download", "/processes/definitions/wf_ver/edit"):
        assert client.get(url).status_code == 403, url
    assert client.get("/processes/").status_code == 200  # the instance list is for everyone (scoped)


# The editor's save route (HTTP) ==============================================================================
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus" / "miwg"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/bpmn-corpus/miwg")
DATA = Path(__file__).parent / "data"
SAVE = "/processes/editor/save"


def _save(client: Any, xml: str, comment: str = "from the editor", key: str | None = None) -> Any:
    token = csrf(client, "/processes/editor")
    return client.post(SAVE, json={"xml": xml, "comment": comment, "key": key},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _state() -> tuple[dict[str, tuple[int, int]], int]:
    current = {k: (d.id, d.version) for k, d in current_definitions().items()}
    return current, db.session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_corpus_file_deploys_or_gets_a_readable_error(path: Path, client: Any, login_as: Any, owner: Any,
                                                            deploy_chain: Any) -> None:
    deploy_chain("wf_keep", "A")
    login_as(owner)
    before = _state()
    resp = _save(client, path.read_text(encoding="utf-8", errors="replace"))
    assert resp.status_code in (200, 422), (resp.status_code, resp.get_data(as_text=True)[:500])
    body = resp.get_json()
    if resp.status_code == 422:
        assert body["ok"] is False
        assert body["problems"], body
        for problem in body["problems"]:
            assert problem["message"].strip(), problem
            assert "Traceback" not in problem["message"]
        db.session.expire_all()
        assert _state() == before  # nothing changed
    else:
        assert body["ok"] is True
        assert body.get("version") or body.get("unchanged")
        if body.get("version"):
            created = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == body["key"],
                                                                        ProcessDefinition.version == body["version"]))
            assert created.source == "editor" and created.deployed_by_id == owner.id


def test_a_diagram_of_another_process_is_refused_in_this_editor(client: Any, login_as: Any, owner: Any,
                                                                 deploy_chain: Any) -> None:
    deploy_chain("wf_keep", "A")
    login_as(owner)
    before = _state()
    resp = _save(client, chain("wf_other", "A"), key="wf_keep")
    assert resp.status_code == 422
    assert "wf_keep" in resp.get_json()["problems"][0]["message"]
    db.session.expire_all()
    assert _state() == before


def test_every_problem_is_listed_at_once_with_its_element(client: Any, login_as: Any, owner: Any,
                                                          deploy_chain: Any) -> None:
    deploy_chain("wf_broken", "A")  # a current version that must survive
    login_as(owner)
    before = _state()
    resp = _save(client, (DATA / "wf_broken.bpmn").read_text(), key="wf_broken")
    assert resp.status_code == 422
    problems = resp.get_json()["problems"]
    by_element = {}
    for p in problems:
        by_element.setdefault(p["element_id"], []).append(p["message"])
    assert any("with quotes" in m for m in by_element["wait_unquoted"]), problems
    assert any("not a valid ISO 8601" in m for m in by_element["wait_invalid"]), problems
    assert any("condition is not valid Python" in m for m in by_element.get("f_big", []) + by_element.get("big_enough", [])), problems
    assert any("Unknown service operator 'sales.no_such_operator'" in m for m in by_element["book"]), problems
    assert any("no_such_form.schema.json" in m for m in by_element["fill_in"]), problems
    assert all(p["line"] for p in problems if p["element_id"] != "big_enough")
    db.session.expire_all()
    assert _state() == before


def test_a_good_save_becomes_the_next_version_with_its_comment(client: Any, login_as: Any, owner: Any,
                                                               deploy_chain: Any) -> None:
    deploy_chain("wf_edit", "A")
    login_as(owner)
    resp = _save(client, chain("wf_edit", "A", "B"), comment="Adds a check", key="wf_edit")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["version"] == 2 and body["url"].endswith("/processes/definitions/wf_edit/2")
    current = current_definitions()["wf_edit"]
    assert (current.version, current.comment, current.source, current.deployed_by_id) == (2, "Adds a check", "editor", owner.id)
    # The same diagram again changes nothing.
    again = _save(client, chain("wf_edit", "A", "B"), comment="Again", key="wf_edit")
    assert again.get_json()["unchanged"] is True
    page = client.get("/processes/definitions/wf_edit").get_data(as_text=True)
    assert "Adds a check" in page and "Browser editor" in page and "Olivia Owner" in page


@pytest.mark.parametrize("payload, field", [
    ({"xml": "", "comment": "x"}, "xml"),
    ({"xml": "<a/>", "comment": "  "}, "comment"),
    ({"xml": 5, "comment": ["x"]}, "xml"),
])
def test_bad_input_names_the_field(client: Any, login_as: Any, owner: Any, payload: dict[str, Any], field: str) -> None:
    login_as(owner)
    token = csrf(client, "/processes/editor")
    resp = client.post(SAVE, json=payload, headers={"X-CSRFToken": token})
    assert resp.status_code == 400
    assert field in resp.get_json()["errors"]


def test_garbage_is_a_readable_error(client: Any, login_as: Any, owner: Any) -> None:
    login_as(owner)
    for xml in ("not xml at all", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
                "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'/>"):
        resp = _save(client, xml)
        assert resp.status_code == 422, xml
        assert resp.get_json()["problems"][0]["message"]


def test_saving_needs_process_deploy(client: Any, login_as: Any, org: Any) -> None:
    login_as(org.a_manager)
    token = csrf(client, "/")
    resp = client.post(SAVE, json={"xml": chain("wf_x", "A"), "comment": "x"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 403
    assert "wf_x" not in current_definitions()
    assert client.get("/processes/editor").status_code == 403


def test_an_editor_version_survives_a_restart_with_the_old_file(client: Any, login_as: Any, owner: Any,
                                                               tmp_path: Path) -> None:
    from crm.workflow.deploy import deploy_directory

    (tmp_path / "wf_restart.bpmn").write_text(chain("wf_restart", "A"))
    deploy_directory(tmp_path)
    db.session.commit()
    login_as(owner)
    assert _save(client, chain("wf_restart", "A", "B"), comment="edited", key="wf_restart").status_code == 200
    assert deploy_directory(tmp_path).unchanged == ["wf_restart"]  # start-up with the unchanged file
    assert current_definitions()["wf_restart"].version == 2
    (tmp_path / "wf_restart.bpmn").write_text(chain("wf_restart", "A", "C"))  # the file really changed
    created = deploy_directory(tmp_path).created
    assert [(d.key, d.version, d.source) for d in created] == [("wf_restart", 3, "file:processes/wf_restart.bpmn")]


def test_problems_come_in_the_users_language(client: Any, login_as: Any, owner: Any) -> None:
    login_as(owner)
    with client.session_transaction() as sess:
        sess["lang"] = "zh"
    resp = _save(client, (DATA / "wf_broken.bpmn").read_text())
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["title"] and not body["title"].startswith("The diagram was not deployed")
    messages = " ".join(p["message"] for p in body["problems"])
    assert "请加引号" in messages and "未知的服务操作 'sales.no_such_operator'" in messages
    assert "表单文件 'no_such_form.schema.json' 在 forms/ 中不存在" in messages
