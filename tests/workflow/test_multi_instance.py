"""Multi-instance user tasks over a list of user ids: one inbox row per approver (assigned to them),
completion conditions (any-of ends on the first approval and the other rows become cancelled; all-of
ends on the first rejection), and the sequential variant that opens one approver after the other."""

from __future__ import annotations

import pytest

from crm.core.errors import Conflict
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import candidates
from tests.workflow.conftest import data
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


@pytest.fixture
def start(org, deploy):
    deploy("multi")

    def _start(key, mode, approvers):
        instance = runtime.start(key, object_type="user", object_id=org.a_rep1.id, store_id=org.store_a.id,
                                 data={"approvers": [u.id for u in approvers], "mode": mode}, actor_id=org.a_rep1.id)
        db.session.commit()
        return instance

    return _start


def decide(task, user, approved):
    runtime.complete_task(task.id, {"decision": {"approved": approved, "by": user.id}}, actor_id=user.id)
    db.session.commit()


def by_user(instance):
    return {t.assignee_id: t for t in tasks(instance)}


def test_parallel_instances_are_assigned_to_each_item_user(start, org):
    approvers = [org.a_sup, org.a_manager, org.b_sup]
    instance = start("wf_mi", "any", approvers)
    rows = tasks(instance)
    assert [t.assignee_id for t in rows] == [u.id for u in approvers]
    for row, user in zip(rows, approvers, strict=True):
        assert row.status == TaskStatus.CLAIMED and row.bpmn_id == "decide"
        assert row.item == user.id  # the multi-instance item the row stands for
        # The item names the user, whatever their store: the list is the process's decision.
        assert candidates(row) == {user.id}
    assert len({t.task_guid for t in rows}) == 3


def test_any_of_ends_on_the_first_approval_and_cancels_the_other_rows(start, org):
    instance = start("wf_mi", "any", [org.a_sup, org.a_manager, org.east_manager])
    rows = by_user(instance)
    decide(rows[org.a_manager.id], org.a_manager, True)
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["approved"] is True
    assert [d["by"] for d in data(instance)["decisions"]] == [org.a_manager.id]
    statuses = {t.assignee_id: t.status for t in tasks(instance, *TaskStatus)}
    assert statuses == {org.a_sup.id: TaskStatus.CANCELLED, org.a_manager.id: TaskStatus.COMPLETED,
                        org.east_manager.id: TaskStatus.CANCELLED}
    # One UPDATE closes both kinds (crm.workflow.inbox_sync._close): the completer only on the completed row.
    assert {t.assignee_id: (t.completed_by_id, t.completed_at is not None) for t in tasks(instance, *TaskStatus)} == {
        org.a_sup.id: (None, True), org.a_manager.id: (org.a_manager.id, True), org.east_manager.id: (None, True)}
    with pytest.raises(Conflict):
        decide(rows[org.a_sup.id], org.a_sup, True)


def test_any_of_goes_on_after_a_rejection(start, org):
    instance = start("wf_mi", "any", [org.a_sup, org.a_manager])
    rows = by_user(instance)
    decide(rows[org.a_sup.id], org.a_sup, False)
    assert reload(instance).status == InstanceStatus.RUNNING
    assert list(by_user(instance)) == [org.a_manager.id]
    decide(rows[org.a_manager.id], org.a_manager, False)
    assert reload(instance).status == InstanceStatus.COMPLETED and data(instance)["approved"] is False


def test_all_of_ends_on_the_first_rejection(start, org):
    instance = start("wf_mi", "all", [org.a_sup, org.a_manager, org.east_manager])
    rows = by_user(instance)
    decide(rows[org.east_manager.id], org.east_manager, True)
    assert reload(instance).status == InstanceStatus.RUNNING and len(tasks(instance)) == 2
    decide(rows[org.a_sup.id], org.a_sup, False)
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["approved"] is False
    assert tasks(instance, TaskStatus.CANCELLED)[0].assignee_id == org.a_manager.id


def test_all_of_waits_for_everyone(start, org):
    approvers = [org.a_sup, org.a_manager, org.east_manager]
    instance = start("wf_mi", "all", approvers)
    rows = by_user(instance)
    for user in reversed(approvers):
        assert reload(instance).status == InstanceStatus.RUNNING
        decide(rows[user.id], user, True)
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["approved"] is True
    # decisions come in completion order (guide §4.3), so each keeps who made it
    assert [d["by"] for d in data(instance)["decisions"]] == [u.id for u in reversed(approvers)]
    assert len(tasks(instance, TaskStatus.COMPLETED)) == 3


def test_sequential_opens_one_approver_at_a_time(start, org):
    approvers = [org.a_sup, org.a_manager, org.east_manager]
    instance = start("wf_mi_seq", "all", approvers)
    first = tasks(instance)
    assert [t.assignee_id for t in first] == [org.a_sup.id]
    decide(first[0], org.a_sup, True)
    second = tasks(instance)
    assert [t.assignee_id for t in second] == [org.a_manager.id]
    assert candidates(second[0]) == {org.a_manager.id}
    decide(second[0], org.a_manager, True)
    decide(tasks(instance)[0], org.east_manager, True)
    assert reload(instance).status == InstanceStatus.COMPLETED and data(instance)["approved"] is True


def test_sequential_all_of_stops_at_the_first_rejection(start, org):
    instance = start("wf_mi_seq", "all", [org.a_sup, org.a_manager, org.east_manager])
    decide(tasks(instance)[0], org.a_sup, True)
    decide(tasks(instance)[0], org.a_manager, False)
    assert reload(instance).status == InstanceStatus.COMPLETED
    assert data(instance)["approved"] is False
    # The third approver was never asked.
    assert org.east_manager.id not in {t.assignee_id for t in tasks(instance, *TaskStatus)}
    assert len(tasks(instance, *TaskStatus)) == 2


def test_sequential_any_of_stops_at_the_first_approval(start, org):
    instance = start("wf_mi_seq", "any", [org.a_sup, org.a_manager])
    decide(tasks(instance)[0], org.a_sup, True)
    assert reload(instance).status == InstanceStatus.COMPLETED and data(instance)["approved"] is True
    assert len(tasks(instance, *TaskStatus)) == 1
