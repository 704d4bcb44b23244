"""Definition pages: every process with its versions, counts per version, the diagram page, the download
and the readable diff of two versions; and who may see them."""

from __future__ import annotations

from typing import Any

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin.definitions import diff_versions
from crm.workflow.admin.definitions import get_version
from tests.conftest import chain


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
