"""Claims through processes/high_seas_claim.bpmn: approval by the supervisor (approval call activity with
chain high_seas_claim), the owner set, then the return visit in time (kept) or not (returned by the timer,
reason recorded, everyone notified); rejected claims; cooldown, daily quota and owned cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.approvals import services as approvals
from crm.approvals.models import ApprovalRequest
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.customers.models import Customer
from crm.customers.services.follow_ups import record_follow_up
from crm.extensions import db
from crm.highseas import services
from crm.highseas import sweep as recycling
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from crm.workflow import runtime
from crm.workflow.models import HumanTask
from crm.workflow.models import ProcessInstance
from crm.workflow.models import TaskStatus
from tests.highseas.conftest import make_customer
from tests.highseas.conftest import moves
from tests.highseas.conftest import notes
from tests.highseas.conftest import set_pool


def pooled(org, owner=None):
    c = make_customer(owner or org.a_rep1)
    services.move_to_pool([c], "no longer answers", actor=org.a_sup)
    db.session.commit()
    return c


def claim(customer, user, reason="I met them at the fair"):
    c = services.apply_claim(customer.id, reason, actor=user)
    db.session.commit()
    return c


def approval_task(claim_row):
    return db.session.scalars(select(HumanTask).where(
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
        ProcessInstance.object_type == "customer", ProcessInstance.object_id == claim_row.customer_id)).one()


def decide(claim_row, approver, approved=True):
    task = approval_task(claim_row)
    assert task.assignee_id == approver.id
    approvals.decide(task.id, approved=approved, comment="ok" if approved else "no", actor=approver)
    db.session.commit()


def fresh(row):
    db.session.refresh(row)
    return row


def test_approved_and_visited_in_time_is_kept(org, clock, supervisor_chain):
    set_pool(org.store_a, return_visit_days=3)
    c = pooled(org)
    row = claim(c, org.a_rep2)
    assert fresh(row).status == ClaimStatus.PENDING and fresh(c).owner_id is None
    request = db.session.scalars(select(ApprovalRequest).where(ApprovalRequest.object_id == c.id)).one()
    assert request.summary["title"].endswith(c.name)
    assert ["Reason", "I met them at the fair"] in request.summary["lines"]
    decide(row, org.a_sup)
    assert fresh(c).owner_id == org.a_rep2.id
    assert fresh(row).status == ClaimStatus.VISITING
    assert any("approved" in t for t in notes(org.a_rep2, "highseas_claim"))
    assert any("claimed" in t for t in notes(org.a_rep1, "highseas_claim"))  # the former owner
    clock.shift(timedelta(days=2))
    record_follow_up(fresh(c), {"kind": "visit", "content": "visited the warehouse"}, actor=org.a_rep2)
    db.session.commit()
    assert fresh(row).status == ClaimStatus.KEPT
    clock.shift(timedelta(days=5))
    runtime.fire_due_timers()
    db.session.commit()
    assert fresh(c).owner_id == org.a_rep2.id
    assert [m[0] for m in moves(c)] == ["released", "claimed"]
    instance = db.session.get(ProcessInstance, row.instance_id)
    assert instance.status.value == "completed"


def test_approved_but_not_visited_returns_to_the_pool(org, clock, supervisor_chain):
    set_pool(org.store_a, return_visit_days=3)
    c = pooled(org)
    row = claim(c, org.a_rep2)
    decide(row, org.a_sup)
    clock.shift(timedelta(days=3, minutes=1))
    runtime.fire_due_timers()
    db.session.commit()
    assert fresh(c).owner_id is None
    assert fresh(row).status == ClaimStatus.RETURNED
    kind, old, new, reason = moves(c)[-1]
    assert (kind, old, new) == ("returned", org.a_rep2.id, None)
    assert "3 days" in reason
    for person in (org.a_rep2, org.a_sup, org.a_rep1):  # applicant, supervisor, former owner
        assert any("no visit in time" in t for t in notes(person, "highseas_moved")), person
    # back in the pool: a colleague may claim it again
    assert claim(c, org.a_rep3).status == ClaimStatus.PENDING


def test_rejected_claim_keeps_the_customer_in_the_pool(org, clock, supervisor_chain):
    c = pooled(org)
    row = claim(c, org.a_rep2)
    decide(row, org.a_sup, approved=False)
    assert fresh(row).status == ClaimStatus.REJECTED
    assert fresh(c).owner_id is None
    assert any("rejected" in t for t in notes(org.a_rep2, "highseas_claim"))
    assert [m[0] for m in moves(c)] == ["released"]


def test_without_a_chain_the_claim_is_approved_at_once(org, clock, claim_process):
    c = pooled(org)
    row = claim(c, org.a_rep2)
    assert fresh(row).status == ClaimStatus.VISITING
    assert fresh(c).owner_id == org.a_rep2.id


def test_one_open_claim_per_customer(org, clock, supervisor_chain):
    c = pooled(org)
    claim(c, org.a_rep2)
    with pytest.raises(Conflict) as exc:
        services.apply_claim(c.id, "me too", actor=org.a_rep3)
    assert "A Rep Two already applied" in str(exc.value.message)
    with pytest.raises(Conflict):
        services.assign([c.id], org.a_rep3.id, actor=org.a_sup)


def test_claim_refusals(org, clock, claim_process):
    owned = make_customer(org.a_rep1)
    with pytest.raises(Conflict):
        services.apply_claim(owned.id, "mine now", actor=org.a_rep2)
    c = pooled(org)
    with pytest.raises(ValidationFailed) as exc:
        services.apply_claim(c.id, "  ", actor=org.a_rep2)
    assert "reason" in exc.value.errors
    with pytest.raises(NotFound):
        services.apply_claim(c.id, "other store", actor=org.b_rep)
    with pytest.raises(NotFound):
        services.apply_claim("x", "bad id", actor=org.a_rep2)


def test_former_owner_cooldown(org, clock, claim_process):
    set_pool(org.store_a, cooldown_days=7)
    c = pooled(org, owner=org.a_rep1)
    with pytest.raises(ValidationFailed) as exc:
        services.apply_claim(c.id, "want it back", actor=org.a_rep1)
    assert "may take it back after" in exc.value.errors["reason"][0]
    clock.shift(timedelta(days=7, minutes=1))
    assert claim(c, org.a_rep1).status == ClaimStatus.VISITING


def test_daily_claim_quota(org, clock, claim_process):
    set_pool(org.store_a, daily_claim_quota=2)
    cs = [pooled(org) for _ in range(3)]
    claim(cs[0], org.a_rep2)
    claim(cs[1], org.a_rep2)
    with pytest.raises(ValidationFailed) as exc:
        services.apply_claim(cs[2].id, "third", actor=org.a_rep2)
    assert "quota (2)" in exc.value.errors["reason"][0]
    clock.shift(timedelta(days=1))
    assert claim(cs[2], org.a_rep2).status == ClaimStatus.VISITING


def test_owned_cap_and_won_setting(org, clock, claim_process):
    set_pool(org.store_a, max_owned=1, daily_claim_quota=None, won_counts=False)
    mine = make_customer(org.a_rep2)
    c = pooled(org)
    with pytest.raises(ValidationFailed) as exc:
        services.apply_claim(c.id, "one more", actor=org.a_rep2)
    assert "most allowed" in exc.value.errors["reason"][0]
    mine.won = True
    db.session.commit()
    assert claim(c, org.a_rep2).status == ClaimStatus.VISITING  # won customers do not count ...
    set_pool(org.store_a, max_owned=2, daily_claim_quota=None, won_counts=True)
    d = pooled(org)
    with pytest.raises(ValidationFailed):  # ... unless the setting says so
        services.apply_claim(d.id, "again", actor=org.a_rep2)
    with pytest.raises(ValidationFailed):  # the cap binds assignment too
        services.assign([d.id], org.a_rep2.id, actor=org.a_sup)


def test_sweep_leaves_customers_with_open_claims(org, clock, supervisor_chain):
    set_pool(org.store_a, follow_up_days=30, return_visit_days=60, remind_days=None)
    c = pooled(org)
    row = claim(c, org.a_rep2)
    decide(row, org.a_sup)
    clock.shift(timedelta(days=31))
    recycling.sweep()
    db.session.commit()
    assert db.session.get(Customer, c.id).owner_id == org.a_rep2.id
    assert db.session.scalar(select(HighSeasClaim.status).where(HighSeasClaim.id == row.id)) == ClaimStatus.VISITING


def test_a_rival_claim_after_the_approval_hears_the_customer_has_an_owner(org, clock, claim_process):
    c = pooled(org)
    claim(c, org.a_rep2)  # no chain: approved at once, the return visit pending
    with pytest.raises(Conflict) as exc:
        services.apply_claim(c.id, "me too", actor=org.a_rep3)
    assert "now has an owner" in str(exc.value.message)
    assert "already applied" not in str(exc.value.message)
