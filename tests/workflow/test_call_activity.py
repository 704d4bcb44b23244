"""A call activity into a process deployed as its own file: the callee's user task lands in the inbox
under the callee's key, data comes back to the caller, and a new version of the callee changes new
instances only — a running instance keeps the callee it started with (its specs are stored with it).
Messages and timers awaited inside a callee belong to the calling instance."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.deploy import DeploymentRejected
from crm.workflow.deploy import current_definitions
from crm.workflow.deploy import deploy_files
from crm.workflow.models import InstanceStatus
from tests.workflow.conftest import DATA
from tests.workflow.conftest import candidates
from tests.workflow.conftest import data
from tests.workflow.conftest import effects
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload

PARENT = (DATA / "callact" / "wf_parent.bpmn").read_bytes()
CHILD_V1 = (DATA / "callact" / "wf_child.bpmn").read_bytes()
CHILD_V2 = CHILD_V1.replace(b"REVIEW_V1", b"REVIEW_V2")


def versions():
    return {k: (d.version, d.sha256) for k, d in current_definitions().items()}


@pytest.fixture
def deployed(org):
    # The callee first, on its own; then the caller, which resolves it among the deployed files.
    deploy_files({"wf_child.bpmn": CHILD_V1}, source="editor", actor_id=org.hq_admin.id)
    deploy_files({"wf_parent.bpmn": PARENT}, source="editor", actor_id=org.hq_admin.id)
    db.session.commit()


def start(org):
    instance = runtime.start("wf_parent", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def run_to_the_review(instance, org):
    runtime.complete_task(one_task(instance, "prepare").id, {"note": "go"}, actor_id=org.a_rep1.id)
    db.session.commit()
    return one_task(instance, "review")


def finish(instance, org):
    runtime.complete_task(one_task(instance, "review").id, {"ok": True}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(instance).status == InstanceStatus.COMPLETED
    return data(instance)["outcome"]


def test_the_callees_task_is_in_the_inbox_and_its_data_comes_back(deployed, org):
    instance = start(org)
    review = run_to_the_review(instance, org)
    assert review.process_key == "wf_child" and review.title == "Review (REVIEW_V1)"
    assert review.lane == "Supervisor" and candidates(review) == {org.a_sup.id}  # lane -> role in the store
    assert review.instance_id == instance.id and review.store_id == org.store_a.id
    assert finish(instance, org) == "reviewed by REVIEW_V1"


def test_the_caller_alone_is_refused_without_its_callee(org):
    with pytest.raises(DeploymentRejected) as err:
        deploy_files({"wf_parent.bpmn": PARENT}, source="editor")
    assert any("wf_child" in p.message and p.file == "wf_parent.bpmn" for p in err.value.problems)
    assert versions() == {}


def test_a_new_callee_version_does_not_change_running_instances(deployed, org):
    waiting_at_prepare = start(org)  # has not entered the call activity yet
    in_review = start(org)
    run_to_the_review(in_review, org)

    result = deploy_files({"wf_child.bpmn": CHILD_V2}, source="editor", actor_id=org.hq_admin.id)
    db.session.commit()
    assert [(d.key, d.version) for d in result.created] == [("wf_child", 2)]
    assert versions()["wf_parent"][0] == 1  # the caller's file did not change

    # Both running instances finish on the callee they started with.
    assert finish(in_review, org) == "reviewed by REVIEW_V1"
    assert run_to_the_review(waiting_at_prepare, org).title == "Review (REVIEW_V1)"
    assert finish(waiting_at_prepare, org) == "reviewed by REVIEW_V1"
    # A new instance runs the new callee.
    fresh = start(org)
    assert run_to_the_review(fresh, org).title == "Review (REVIEW_V2)"
    assert finish(fresh, org) == "reviewed by REVIEW_V2"


def test_a_broken_callee_version_is_refused_and_changes_nothing(deployed, org):
    before = versions()
    broken = CHILD_V1.replace(b"reviewed_with = 'REVIEW_V1'", b"reviewed_with = = 1")
    with pytest.raises(DeploymentRejected) as err:
        deploy_files({"wf_child.bpmn": broken}, source="editor")
    assert [(p.file, p.element_id) for p in err.value.problems] == [("wf_child.bpmn", "stamp")]
    assert versions() == before
    assert finish_new(org) == "reviewed by REVIEW_V1"


def finish_new(org):
    instance = start(org)
    run_to_the_review(instance, org)
    return finish(instance, org)


@pytest.fixture
def outer(org, deploy):
    deploy("callwait")
    instance = runtime.start("wf_outer", object_type="ticket", object_id=5, actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def test_a_message_awaited_inside_the_callee_is_delivered(outer):
    assert outer.business_status == "waiting_inside"
    assert runtime.send_message("inner_ping", "ticket", 5, {"n": 1}) == [outer.id]
    db.session.commit()
    assert reload(outer).status == InstanceStatus.COMPLETED
    assert effects(outer) == ["pinged"]


def test_a_timer_inside_the_callee_is_the_instances_next_timer(outer):
    assert outer.next_timer_at is not None
    with time_machine.travel(outer.next_timer_at + timedelta(seconds=1), tick=False):
        assert runtime.fire_due_timers() == 1
        db.session.commit()
    assert reload(outer).status == InstanceStatus.COMPLETED
    assert effects(outer) == ["late"]
