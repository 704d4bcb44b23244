"""Reviewing before deploying, and drafts: the editor's preview runs the real deployment in a savepoint
and rolls it back (its verdict, the diff, the live instances per version and which of them could move),
and a diagram can be kept as the process's draft — validated, not current — until it is deployed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.admin import impact
from crm.workflow.deploy import current_definitions
from crm.workflow.models import ProcessDefinition
from crm.workflow.models import ProcessDraft
from crm.workflow.models import ProcessSpec
from tests.conftest import chain
from tests.conftest import csrf
from tests.workflow.conftest import one_task


def _rows() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                 for t in (ProcessDefinition, ProcessSpec, ProcessDraft))


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    token = csrf(client, "/processes/definitions")
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def test_the_review_says_what_changes_and_which_instances_could_move_and_writes_nothing(
        client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_imp", "A", "B")
    at_a = runtime.start("wf_imp", actor_id=org.a_rep1.id)
    at_b = runtime.start("wf_imp", actor_id=org.a_rep1.id)
    runtime.complete_task(one_task(at_b, "A").id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    before = _rows()

    login_as(owner)
    resp = _post(client, "/processes/editor/preview", {"xml": chain("wf_imp", "A", "C"), "key": "wf_imp"})
    assert resp.status_code == 200
    data = resp.get_json()
    assert (data["ok"], data["deployable"], data["current_version"], data["next_version"]) == (True, True, 1, 2)
    assert "C" in [c["element_id"] for c in data["diff"]["added"]]
    assert "B" in [c["element_id"] for c in data["diff"]["removed"]]
    assert data["live"] == [{"version": 1, "instances": 2}]
    # The instance waiting at A can move; the one waiting at B (removed in the new version) cannot.
    assert (data["checked"], data["movable"], data["more"]) == (2, 1, False)
    [blocked] = data["blocked"]
    assert blocked["instance_id"] == at_b.id and blocked["version"] == 1 and blocked["reasons"]
    db.session.expire_all()
    assert _rows() == before and current_definitions()["wf_imp"].version == 1
    assert at_a.id not in [b["instance_id"] for b in data["blocked"]]

    same = _post(client, "/processes/editor/preview", {"xml": chain("wf_imp", "A", "B"), "key": "wf_imp"}).get_json()
    assert same["unchanged"] is True and same["deployable"] is False
    broken = chain("wf_imp", "A").replace('name="Step A"', 'name="Step A"><bpmn:conditionExpression>x</bpmn:conditionExpression')
    bad = _post(client, "/processes/editor/preview", {"xml": broken, "key": "wf_imp"}).get_json()
    assert bad["deployable"] is False and bad["problems"]
    empty = _post(client, "/processes/editor/preview", {"xml": "", "key": "wf_imp"})
    assert empty.status_code == 400 and "xml" in empty.get_json()["errors"]
    db.session.expire_all()
    assert _rows() == before


def test_a_draft_is_kept_not_current_then_deployed_from_the_editor(
        client: Any, login_as: Any, org: Any, owner: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_dr", "A")
    login_as(owner)
    saved = _post(client, "/processes/editor/draft", {"xml": chain("wf_dr", "A", "B"), "key": "wf_dr",
                                                       "comment": "add B"})
    assert saved.status_code == 200 and saved.get_json()["problems"] == []
    lock = saved.get_json()["lock_version"]
    db.session.expire_all()
    assert current_definitions()["wf_dr"].version == 1  # not current
    draft = impact.get_draft("wf_dr")
    assert (draft.comment, draft.based_on_version, draft.saved_by_id) == ("add B", 1, owner.id)

    page = client.get("/processes/definitions/wf_dr").get_data(as_text=True)
    assert 'id="process-draft"' in page and "/processes/definitions/wf_dr/edit?draft=1" in page
    editor = client.get("/processes/definitions/wf_dr/edit?draft=1").get_data(as_text=True)
    assert "/processes/definitions/wf_dr/draft.xml" in editor and 'value="add B"' in editor
    assert 'id="B"' in client.get("/processes/definitions/wf_dr/draft.xml").get_data(as_text=True)

    # Someone else saved it meanwhile: saving over their version is refused, not silently lost.
    again = _post(client, "/processes/editor/draft", {"xml": chain("wf_dr", "A", "C"), "key": "wf_dr",
                                                       "lock_version": lock})
    assert again.status_code == 200
    stale = _post(client, "/processes/editor/draft", {"xml": chain("wf_dr", "A", "D"), "key": "wf_dr",
                                                       "lock_version": lock})
    assert stale.status_code == 409
    db.session.expire_all()
    assert 'id="C"' in impact.get_draft("wf_dr").bpmn_xml

    # Deployed from the editor opened on the draft: a new version, and the draft is done with.
    done = _post(client, "/processes/editor/save", {"xml": chain("wf_dr", "A", "C"), "key": "wf_dr",
                                                     "comment": "add C", "draft": True})
    assert done.status_code == 200 and done.get_json()["version"] == 2
    db.session.expire_all()
    assert impact.get_draft("wf_dr") is None


def test_a_draft_may_have_problems_and_is_discarded(client: Any, login_as: Any, org: Any, owner: Any,
                                                    deploy_chain: Any) -> None:
    deploy_chain("wf_dp", "A")
    login_as(owner)
    broken = chain("wf_dp", "A", "B").replace('calledElement', 'x')
    broken = broken.replace('<bpmn:userTask id="B"', '<bpmn:userTask id="B" name="Step B"><bpmn:incoming>nowhere</bpmn:incoming></bpmn:userTask><bpmn:userTask id="B2"', 1)
    saved = _post(client, "/processes/editor/draft", {"xml": broken, "key": "wf_dp"}).get_json()
    assert saved["ok"] and saved["problems"] and "problems to fix" in saved["message"]
    page = client.get("/processes/definitions/wf_dp").get_data(as_text=True)
    assert "to fix before it can be deployed" in page
    token = csrf(client, "/processes/definitions/wf_dp")
    assert client.post("/processes/definitions/wf_dp/draft/discard", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert impact.get_draft("wf_dp") is None
    assert client.post("/processes/definitions/wf_dp/draft/discard", data={"csrf_token": token}).status_code == 404


def test_only_process_owners_review_and_keep_drafts(client: Any, login_as: Any, org: Any, deploy_chain: Any) -> None:
    deploy_chain("wf_no", "A")
    login_as(org.a_rep1)
    assert _post(client, "/processes/editor/preview", {"xml": chain("wf_no", "A", "B"), "key": "wf_no"}).status_code == 403
    assert _post(client, "/processes/editor/draft", {"xml": chain("wf_no", "A", "B"), "key": "wf_no"}).status_code == 403
    db.session.expire_all()
    assert impact.get_draft("wf_no") is None
