"""The editor's save route (HTTP): every diagram gets a deployment or a specific readable error, never a
500, and a rejected diagram leaves the current version as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.workflow.deploy import current_definitions
from crm.workflow.models import ProcessDefinition
from tests.conftest import chain
from tests.conftest import csrf

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
