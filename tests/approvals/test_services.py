"""The approval call activity end to end through the runtime: every approver rule and sign mode,
conditions (incl. between / in) that skip steps, nobody-resolves both ways, the submitter excluded, the
snapshot kept when the chain is edited, reminder and escalation timers under time-machine, and two
approvers deciding the same any-of step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.approvals import services
from crm.approvals.models import DecisionOutcome
from crm.approvals.models import RequestStatus
from crm.approvals.schemas import StepInput
from crm.approvals.schemas import StepsInput
from crm.core.clock import utcnow
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.extensions import db
from crm.notify.models import EmailOutbox
from crm.notify.models import Notification
from crm.workflow import runtime
from tests.approvals.conftest import decide
from tests.approvals.conftest import open_tasks
from tests.approvals.conftest import request_of
from tests.approvals.conftest import status
from tests.approvals.conftest import step


def outcomes(instance):
    return [(d.outcome.value, d.decided_by_id) for d in request_of(instance).decisions]


def kinds_for(user):
    return [n.kind for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                               .order_by(Notification.id))]


# Rules ----------------------------------------------------------------------------------------------------
def test_direct_supervisor(org, chain, submit):
    chain([step("supervisor")])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_sup.id]
    assert kinds_for(org.a_sup) == ["approval_requested"]  # not also a generic "task assigned"
    decide(instance, org.a_sup, True, "fine")
    assert status(instance) == "completed"
    req = request_of(instance)
    assert req.status == RequestStatus.APPROVED
    assert [(d.outcome, d.decided_by_id, d.comment) for d in req.decisions] == [
        (DecisionOutcome.APPROVED, org.a_sup.id, "fine")]
    assert "approval_decided" in kinds_for(org.a_rep1)


def test_nth_level_supervisor(org, chain, submit):
    chain([step("nth_supervisor", level=2)])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_manager.id]


def test_every_supervisor_up_to_level_n_in_sequence(org, chain, submit):
    chain([step("supervisors_up_to", "sequential", level=3)])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_sup.id]
    assert "approval_requested" not in kinds_for(org.a_manager)  # not their turn yet
    decide(instance, org.a_sup)
    assert list(open_tasks(instance)) == [org.a_manager.id]
    assert kinds_for(org.a_manager) == ["approval_requested"]
    decide(instance, org.a_manager)
    assert list(open_tasks(instance)) == [org.east_manager.id]
    decide(instance, org.east_manager)
    assert request_of(instance).status == RequestStatus.APPROVED


def test_sequential_stops_at_the_first_rejection(org, chain, submit):
    chain([step("supervisors_up_to", "sequential", level=3)])
    instance = submit(org.a_rep1)
    decide(instance, org.a_sup)
    decide(instance, org.a_manager, False, "too expensive")
    assert status(instance) == "completed"
    assert request_of(instance).status == RequestStatus.REJECTED
    assert outcomes(instance) == [("approved", org.a_sup.id), ("rejected", org.a_manager.id)]
    # The submitter's bell (and its e-mail) carries who rejected it and why.
    bell = db.session.scalars(select(Notification).where(Notification.user_id == org.a_rep1.id,
                                                         Notification.kind == "approval_decided")).one()
    assert bell.title.startswith("Your request was rejected") and bell.body == "A Manager: too expensive"
    mail = db.session.scalars(select(EmailOutbox).where(EmailOutbox.user_id == org.a_rep1.id)
                              .order_by(EmailOutbox.id.desc())).first()
    assert mail is None or "A Manager: too expensive" in mail.body


def test_department_head(org, chain, submit):
    org.a_sales.head_id = org.a_sup.id
    db.session.commit()
    chain([step("department_head")])
    instance = submit(org.a_rep3)  # a_sales_sub has no head: its parent's head
    assert list(open_tasks(instance)) == [org.a_sup.id]


def test_role_within_the_objects_store(org, chain, submit):
    chain([step("store_role", "any", role="supervisor")])
    instance = submit(org.b_rep)
    assert list(open_tasks(instance)) == [org.b_sup.id]  # never store A's supervisor


def test_named_users_all_of(org, chain, submit):
    chain([step("users", "all", user_ids=[org.a_sup.id, org.a_manager.id])])
    instance = submit(org.a_rep1)
    assert set(open_tasks(instance)) == {org.a_sup.id, org.a_manager.id}
    decide(instance, org.a_sup)
    assert list(open_tasks(instance)) == [org.a_manager.id]
    decide(instance, org.a_manager)
    assert request_of(instance).status == RequestStatus.APPROVED


def test_all_of_ends_on_the_first_rejection(org, chain, submit):
    chain([step("users", "all", user_ids=[org.a_sup.id, org.a_manager.id]), step("supervisor")])
    instance = submit(org.a_rep1)
    decide(instance, org.a_manager, False, "no budget")
    assert open_tasks(instance) == {}
    assert status(instance) == "completed"
    assert request_of(instance).status == RequestStatus.REJECTED


def test_any_of_ends_on_the_first_approval(org, chain, submit):
    chain([step("users", "any", user_ids=[org.a_sup.id, org.a_manager.id, org.east_manager.id])])
    instance = submit(org.a_rep1)
    decide(instance, org.a_sup, False, "not me")
    assert set(open_tasks(instance)) == {org.a_manager.id, org.east_manager.id}
    decide(instance, org.east_manager)
    assert open_tasks(instance) == {}
    assert request_of(instance).status == RequestStatus.APPROVED


def test_single_mode_takes_the_first_resolved_approver(org, chain, submit):
    chain([step("users", "single", user_ids=[org.a_manager.id, org.a_sup.id])])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_manager.id]


def test_submitter_picks_from_the_offered_list(org, chain, submit):
    chain([step("submitter_picks", "any", user_ids=[org.a_sup.id, org.a_manager.id])])
    instance = submit(org.a_rep1, picks={"1": [org.a_manager.id, org.b_sup.id]})  # b_sup not offered
    assert list(open_tasks(instance)) == [org.a_manager.id]


def test_two_steps_run_in_order(org, chain, submit):
    chain([step("supervisor", title="Team"), step("nth_supervisor", level=2, title="Store")])
    instance = submit(org.a_rep1)
    decide(instance, org.a_sup)
    assert list(open_tasks(instance)) == [org.a_manager.id]
    assert request_of(instance).current_step == 1
    decide(instance, org.a_manager)
    assert request_of(instance).status == RequestStatus.APPROVED


# Conditions -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("condition", "amount", "category", "applies"), [
    ({"field": "amount", "op": "gt", "value": "50000"}, "50000", "travel", False),
    ({"field": "amount", "op": "gt", "value": "50000"}, "50000.01", "travel", True),
    ({"field": "amount", "op": "ge", "value": "50000"}, "50000", "travel", True),
    ({"field": "amount", "op": "lt", "value": "100"}, "99", "travel", True),
    ({"field": "amount", "op": "le", "value": "100"}, "101", "travel", False),
    ({"field": "amount", "op": "eq", "value": "100"}, "100.00", "travel", True),
    ({"field": "amount", "op": "ne", "value": "100"}, "100", "travel", False),
    ({"field": "amount", "op": "between", "value": "1000, 5000"}, "5000", "travel", True),
    ({"field": "amount", "op": "between", "value": ["1000", "5000"]}, "999.99", "travel", False),
    ({"field": "category", "op": "in", "value": "travel, hotel"}, "1", "hotel", True),
    ({"field": "category", "op": "in", "value": ["travel", "hotel"]}, "1", "meals", False),
    ({"field": "category", "op": "eq", "value": "meals"}, "1", "meals", True),
])
def test_conditions_skip_steps(org, chain, submit, condition, amount, category, applies):
    chain([step("supervisor", condition=condition)])
    instance = submit(org.a_rep1, amount=amount, category=category)
    if applies:
        assert list(open_tasks(instance)) == [org.a_sup.id]
    else:
        assert open_tasks(instance) == {}
        assert status(instance) == "completed"
        assert request_of(instance).status == RequestStatus.APPROVED
        assert outcomes(instance) == [("skipped", None)]


def test_a_condition_on_an_unknown_field_never_skips(org, chain, submit):
    chain([step("supervisor", condition={"field": "weight", "op": "gt", "value": "5"})])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_sup.id]


# Nobody resolves, submitter -------------------------------------------------------------------------------
def test_nobody_resolves_auto_pass_is_logged(org, chain, submit):
    chain([step("supervisor", on_empty="auto_pass")])
    instance = submit(org.c_manager)  # no supervisor
    assert status(instance) == "completed"
    req = request_of(instance)
    assert req.status == RequestStatus.APPROVED
    [d] = req.decisions
    assert d.outcome == DecisionOutcome.AUTO_PASSED and "nobody" in d.comment


def test_nobody_resolves_routes_to_the_named_admin(org, chain, submit):
    chain([step("supervisor", on_empty="admin", fallback_admin_id=org.hq_admin.id)])
    instance = submit(org.c_manager)
    assert list(open_tasks(instance)) == [org.hq_admin.id]
    assert request_of(instance).steps[0]["routed_to_admin"] is True


def test_the_submitter_never_approves_their_own_request(org, chain, submit):
    chain([step("users", "any", user_ids=[org.a_rep1.id, org.a_sup.id])])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_sup.id]


def test_submitter_as_only_approver_passes_by_the_rule(org, chain, submit):
    chain([step("users", user_ids=[org.a_rep1.id], on_empty="admin", fallback_admin_id=org.a_admin.id)])
    instance = submit(org.a_rep1)
    assert list(open_tasks(instance)) == [org.a_admin.id]


def test_the_submitter_cannot_decide_through_the_service(org, chain, submit):
    chain([step("users", user_ids=[org.a_sup.id])])
    instance = submit(org.a_rep1)
    task = open_tasks(instance)[org.a_sup.id]
    with pytest.raises(PermissionDenied):
        services.decide(task.id, approved=True, comment=None, actor=org.a_rep1)
    with pytest.raises(NotFound):  # not their task
        services.decide(task.id, approved=True, comment=None, actor=org.a_rep2)
    with pytest.raises(ValidationFailed):  # a rejection needs its reason
        services.decide(task.id, approved=False, comment="  ", actor=org.a_sup)


# Snapshot -------------------------------------------------------------------------------------------------
def test_editing_the_chain_does_not_change_a_running_request(org, chain, submit):
    c = chain([step("supervisor"), step("nth_supervisor", level=2)])
    instance = submit(org.a_rep1)
    approval_chains.save_steps(c.id, [step("users", user_ids=[org.hq_manager.id])], actor=org.hq_admin)
    db.session.commit()
    assert c.current_version == 2
    req = request_of(instance)
    assert req.chain_version == 1
    decide(instance, org.a_sup)
    assert list(open_tasks(instance)) == [org.a_manager.id]  # version 1's second step
    newer = submit(org.a_rep2)
    assert list(open_tasks(newer)) == [org.hq_manager.id]
    assert request_of(newer).chain_version == 2


def test_store_chain_wins_over_the_company_chain(org, chain, submit):
    chain([step("supervisor")])
    chain([step("users", user_ids=[org.b_manager.id])], store=org.store_b)
    assert list(open_tasks(submit(org.b_rep))) == [org.b_manager.id]
    assert list(open_tasks(submit(org.a_rep1))) == [org.a_sup.id]


def test_without_a_chain_the_request_is_approved_at_once(org, submit):
    instance = submit(org.a_rep1)
    assert status(instance) == "completed"
    assert request_of(instance).status == RequestStatus.APPROVED


# Timers ---------------------------------------------------------------------------------------------------
@pytest.fixture
def t0():
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        yield start


def test_reminder_then_escalation_to_the_next_level(org, chain, submit, t0):
    chain([step("supervisor", reminder_hours=24, escalation_hours=72)])
    instance = submit(org.a_rep1)
    assert instance.next_timer_at == t0 + timedelta(hours=24)
    with time_machine.travel(t0 + timedelta(hours=23, minutes=59), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    assert "approval_reminder" not in kinds_for(org.a_sup)
    with time_machine.travel(t0 + timedelta(hours=24, seconds=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    assert kinds_for(org.a_sup).count("approval_reminder") == 1
    assert list(open_tasks(instance)) == [org.a_sup.id]  # the reminder leaves the task open
    with time_machine.travel(t0 + timedelta(hours=72, seconds=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    assert list(open_tasks(instance)) == [org.a_manager.id]  # a_sup's supervisor
    assert "approval_escalated" in kinds_for(org.a_manager)
    decide(instance, org.a_manager)
    req = request_of(instance)
    assert req.status == RequestStatus.APPROVED
    assert [d.outcome.value for d in req.decisions] == ["reminded", "escalated", "approved"]


def test_escalation_without_anyone_above_passes_by_the_rule(org, chain, submit, t0):
    chain([step("users", user_ids=[org.c_manager.id], escalation_hours=1)])
    instance = submit(org.c_rep)
    with time_machine.travel(t0 + timedelta(hours=1, seconds=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    assert status(instance) == "completed"
    assert request_of(instance).status == RequestStatus.APPROVED


# Deciding the same step twice -----------------------------------------------------------------------------
def test_second_any_of_approver_gets_a_clear_answer(org, chain, submit):
    chain([step("users", "any", user_ids=[org.a_sup.id, org.a_manager.id])])
    instance = submit(org.a_rep1)
    tasks = open_tasks(instance)
    services.decide(tasks[org.a_sup.id].id, approved=True, comment=None, actor=org.a_sup)
    db.session.commit()
    with pytest.raises(services.AlreadyDecided):
        services.decide(tasks[org.a_manager.id].id, approved=True, comment=None, actor=org.a_manager)
    req = request_of(instance)
    assert [(d.outcome.value, d.decided_by_id) for d in req.decisions] == [("approved", org.a_sup.id)]


def test_bulk_approve(org, chain, submit):
    chain([step("supervisor")])
    first, second = submit(org.a_rep1), submit(org.a_rep2)
    ids = [open_tasks(first)[org.a_sup.id].id, open_tasks(second)[org.a_sup.id].id]
    result = services.bulk_approve([*ids, ids[0]], comment="batch", actor=org.a_sup)
    db.session.commit()
    assert result == {"approved": ids, "skipped": []}
    assert request_of(first).status == RequestStatus.APPROVED and request_of(second).status == RequestStatus.APPROVED


def test_decisions_write_e_mails_to_the_outbox(org, chain, submit):
    chain([step("supervisor")])
    submit(org.a_rep1)
    to = [e.to_address for e in db.session.scalars(select(EmailOutbox))]
    assert org.a_sup.email in to


def test_one_input_schema_for_the_step_form_and_the_api(org):
    """StepInput gives a step its stored shape (the rule's own fields only); the service checks what it names."""
    loaded = load_input(StepInput(), {"title": " Board ", "rule": "nth_supervisor", "level": "2", "user_ids": "1, 2",
                                      "role": "x", "fallback_admin_id": "5", "junk": 1})
    assert loaded.errors == {}
    assert loaded.values == {"title": "Board", "rule": "nth_supervisor", "mode": "single", "level": 2,
                             "on_empty": "auto_pass", "fallback_admin_id": None, "reminder_hours": None,
                             "escalation_hours": None, "condition": None}
    steps = load_input(StepsInput(), {"steps": [{"title": "", "rule": "store_role", "role": "nope"}, "x"]})
    assert set(steps.errors) == {"steps.0.title", "steps.1"}
    with pytest.raises(ValidationFailed) as caught:
        approval_chains.clean_steps(steps)
    assert set(caught.value.errors) == {"steps.0.title", "steps.0.role", "steps.1"}
    assert approval_chains.clean_steps([loaded.values]) == [loaded.values]  # a stored step loads again unchanged
