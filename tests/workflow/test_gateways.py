"""Exclusive gateway with a default flow, parallel split and join, forms, and the ways a user task names
its candidates: a `role` property, an `assignee` expression, `assignees` from a pre-script, a lane read
as a role — always within the object's store."""

from __future__ import annotations

import pytest

from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.extensions import db
from crm.workflow import runtime
from crm.workflow.models import InstanceStatus
from crm.workflow.models import TaskStatus
from tests.workflow.conftest import candidates
from tests.workflow.conftest import data
from tests.workflow.conftest import effects
from tests.workflow.conftest import one_task
from tests.workflow.conftest import reload
from tests.workflow.conftest import tasks


@pytest.fixture
def order(org, deploy):
    deploy("gateways")
    instance = runtime.start("wf_gateways", object_type="user", object_id=org.a_rep1.id,
                             store_id=org.store_a.id, actor_id=org.a_rep1.id)
    db.session.commit()
    return instance


def enter(order, org, **form):
    task = one_task(order, "enter")
    runtime.complete_task(task.id, form, actor_id=org.a_rep2.id)
    db.session.commit()
    return reload(order)


def test_the_first_task_carries_its_form_and_goes_to_the_role_in_the_store(order, org):
    task = one_task(order, "enter")
    assert task.status == TaskStatus.OPEN and task.assignee_id is None
    assert task.form_schema == "wf_gateways.enter.schema.json"
    assert task.form_uischema == "wf_gateways.enter.uischema.json"
    assert task.process_key == "wf_gateways" and task.lane is None
    # role=salesperson: the store's salespeople (a_rep3 sits in a sub-department of store A), not B's or C's.
    assert candidates(task) == {org.a_rep1.id, org.a_rep2.id, org.a_rep3.id}
    with pytest.raises(PermissionDenied):
        runtime.complete_task(task.id, {"amount": 5}, actor_id=org.b_rep.id)


def test_default_flow_when_no_condition_holds(order, org):
    enter(order, org, amount=10)
    assert order.status == InstanceStatus.COMPLETED
    assert data(order)["route"] == "small"
    assert tasks(order) == [] and effects(order) == []


def test_condition_leads_to_the_lane_task_for_the_store_manager_of_this_store(order, org):
    enter(order, org, amount=25000)
    task = one_task(order, "big_approval")
    assert task.title == "Approve a big order of 25000"
    assert task.lane == "Store Manager"
    assert candidates(task) == {org.a_manager.id}  # not b_manager nor c_manager
    runtime.complete_task(task.id, {"approved": True}, actor_id=org.a_manager.id)
    db.session.commit()
    assert reload(order).status == InstanceStatus.COMPLETED
    assert "route" not in data(order)


def test_parallel_split_opens_both_branches_and_the_join_waits_for_both(order, org):
    enter(order, org, amount=5000, reviewer_ids=[org.a_sup.id, org.a_manager.id])
    stock, credit = one_task(order, "check_stock"), one_task(order, "check_credit")
    # assignee expression `initiator_id`: assigned to the initiator, who is its only candidate.
    assert stock.assignee_id == org.a_rep1.id and stock.status == TaskStatus.CLAIMED
    assert candidates(stock) == {org.a_rep1.id}
    # The pre-script's `assignees` list: candidates, nobody assigned.
    assert credit.assignee_id is None and credit.status == TaskStatus.OPEN
    assert candidates(credit) == {org.a_sup.id, org.a_manager.id}

    runtime.complete_task(credit.id, {"approved": True, "comment": "fine"}, actor_id=org.a_sup.id)
    db.session.commit()
    assert reload(order).status == InstanceStatus.RUNNING
    assert [t.bpmn_id for t in tasks(order)] == ["check_stock"]
    assert effects(order) == []  # the join has not passed

    runtime.complete_task(stock.id, {"approved": True}, actor_id=org.a_rep1.id)
    db.session.commit()
    assert reload(order).status == InstanceStatus.COMPLETED
    assert effects(order) == ["medium"]  # the service task after the join ran once
    done = {t.bpmn_id: t for t in tasks(order, TaskStatus.COMPLETED)}
    assert done["check_credit"].completed_by_id == org.a_sup.id
    assert done["check_stock"].completed_by_id == org.a_rep1.id


def test_an_assigned_task_is_not_open_to_other_candidates(order, org):
    enter(order, org, amount=5000, reviewer_ids=[org.a_sup.id])
    stock = one_task(order, "check_stock")
    with pytest.raises(Conflict, match="claimed by someone else"):
        runtime.complete_task(stock.id, {"approved": True}, actor_id=org.a_sup.id)
