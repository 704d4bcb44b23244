"""Multi-instance on a call activity and on an embedded sub-process (what the editor's side panel can set on
every activity): one called process per reviewer, each reviewer's task in their own inbox, the callee's
results collected (in completion order); then a sequential sub-process that opens one signer's task after the other."""

from __future__ import annotations

from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import candidates
from tests.workflow.conftest import data
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


def test_a_multi_instance_call_activity_then_a_sequential_sub_process(org, deploy):
    deploy("micall")
    reviewers = [org.a_sup, org.a_manager]
    signers = [org.a_rep1, org.a_rep2]
    instance = runtime.start("wf_mi_parent", object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                             data={"reviewers": [u.id for u in reviewers], "signers": [u.id for u in signers]},
                             actor_id=org.a_rep1.id)
    db.session.commit()

    rows = tasks(instance)
    assert [(t.bpmn_id, t.process_key, t.assignee_id) for t in rows] == [
        ("review_one", "wf_mi_child", org.a_sup.id), ("review_one", "wf_mi_child", org.a_manager.id)]
    assert [candidates(t) for t in rows] == [{org.a_sup.id}, {org.a_manager.id}]

    # The second reviewer answers first: SpiffWorkflow collects results in completion order (guide §4.3),
    # which is why the callee puts `by` into each one.
    runtime.complete_task(rows[1].id, {"ok": False}, actor_id=org.a_manager.id)
    db.session.commit()
    assert [t.assignee_id for t in tasks(instance)] == [org.a_sup.id]
    runtime.complete_task(rows[0].id, {"ok": True}, actor_id=org.a_sup.id)
    db.session.commit()

    first = tasks(instance)
    assert [(t.bpmn_id, t.assignee_id) for t in first] == [("sign", org.a_rep1.id)]  # one signer at a time
    runtime.complete_task(first[0].id, {}, actor_id=org.a_rep1.id)
    db.session.commit()
    second = tasks(instance)
    assert [(t.bpmn_id, t.assignee_id) for t in second] == [("sign", org.a_rep2.id)]
    runtime.complete_task(second[0].id, {}, actor_id=org.a_rep2.id)
    db.session.commit()

    assert reload(instance).status == InstanceStatus.COMPLETED
    result = data(instance)
    assert result["verdicts"] == [{"by": org.a_manager.id, "ok": False}, {"by": org.a_sup.id, "ok": True}]
    assert result["signatures"] == [org.a_rep1.id, org.a_rep2.id]
    assert len(tasks(instance, TaskStatus.COMPLETED)) == 4
