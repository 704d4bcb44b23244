"""Recycle rules, exemptions, locks, reminders and the sweep, under time-machine; manual moves and
assignment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.customers import services as customers
from crm.customers.models import Customer
from crm.customers.services.follow_ups import record_follow_up
from crm.extensions import db
from crm.highseas import rules
from crm.highseas import services
from crm.highseas import sweep as recycling
from crm.highseas.models import HighSeasMove
from crm.highseas.models import MoveKind
from tests.highseas.conftest import make_customer
from tests.highseas.conftest import moves
from tests.highseas.conftest import notes
from tests.highseas.conftest import set_pool


def sweep() -> dict[str, int]:
    result = recycling.sweep()
    db.session.commit()
    return result


def owner(customer: Customer) -> int | None:
    db.session.refresh(customer)
    return customer.owner_id


def test_pool_is_created_per_store_on_demand(org):
    a = rules.pool_for(org.store_a.id)
    assert rules.pool_for(org.store_a.id).id == a.id
    assert rules.pool_for(org.store_b.id).id != a.id
    with pytest.raises(NotFound):
        rules.pool_for(org.a_sales.id)  # a department has no pool


def test_no_follow_up_rule_recycles_with_reason(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=None)
    c = make_customer(org.a_rep1)
    clock.shift(timedelta(days=29, hours=23))
    assert sweep()["recycled"] == 0
    assert owner(c) == org.a_rep1.id
    clock.shift(timedelta(hours=2))
    assert sweep()["recycled"] == 1
    assert owner(c) is None
    [(kind, old, new, reason)] = moves(c)
    assert (kind, old, new) == ("recycled", org.a_rep1.id, None)
    assert "30 days" in reason
    event = db.session.scalars(select(OperationLog).where(OperationLog.object_type == "customer",
                                                        OperationLog.object_id == c.id,
                                                        OperationLog.action == "high_seas_recycled")).one()
    assert "30 days" in (event.note or "")
    assert event.changes["owner_id_old"]["new"] == org.a_rep1.id and event.changes["rule"]["new"] == "follow_up"
    assert any("recycled" in t for t in notes(org.a_rep1, "highseas_moved"))
    assert any("recycled" in t for t in notes(org.a_sup, "highseas_moved"))  # the owner's supervisor
    assert sweep()["recycled"] == 0  # nothing twice


def test_follow_up_restarts_the_clock(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=None)
    c = make_customer(org.a_rep1)
    clock.shift(timedelta(days=20))
    record_follow_up(c, {"kind": "phone", "content": "called"}, actor=org.a_rep1)
    db.session.commit()
    clock.shift(timedelta(days=20))
    assert sweep()["recycled"] == 0
    clock.shift(timedelta(days=11))
    assert sweep()["recycled"] == 1


def test_no_deal_rule(org, clock):
    set_pool(org.store_a, follow_up_days=None, deal_days=10, remind_days=None)
    c = make_customer(org.a_rep1)
    d = make_customer(org.a_rep1)
    clock.shift(timedelta(days=5))
    d.last_deal_at = services.utcnow()
    db.session.commit()
    clock.shift(timedelta(days=6))
    assert sweep()["recycled"] == 1
    assert owner(c) is None and owner(d) == org.a_rep1.id
    assert "No deal for 10 days" in moves(c)[0][3]


def test_per_level_limits(org, clock):
    set_pool(org.store_a, follow_up_days=30, level_days={"a": 60}, remind_days=None)
    key = make_customer(org.a_rep1, level="a")
    plain = make_customer(org.a_rep1, level="c")
    clock.shift(timedelta(days=31))
    sweep()
    assert owner(key) == org.a_rep1.id and owner(plain) is None
    clock.shift(timedelta(days=30))
    sweep()
    assert owner(key) is None
    assert "60 days" in moves(key)[0][3]


def test_won_customers_exempt_by_setting(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=None, exempt_won=True)
    won = make_customer(org.a_rep1)
    won.won = True
    db.session.commit()
    clock.shift(timedelta(days=31))
    sweep()
    assert owner(won) == org.a_rep1.id
    set_pool(org.store_a, follow_up_days=30, remind_days=None, exempt_won=False)
    sweep()
    assert owner(won) is None


def test_registered_exemption_open_opportunity(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=None)
    kept = make_customer(org.a_rep1)
    other = make_customer(org.a_rep1)
    rules.register_exemption("test_open_opportunity", lambda store_id: select(Customer.id).where(Customer.id == kept.id))
    try:
        clock.shift(timedelta(days=31))
        sweep()
        assert owner(kept) == org.a_rep1.id and owner(other) is None
        assert recycling.days_until_recycle(kept) is None
        set_pool(org.store_a, follow_up_days=30, remind_days=None, exempt_open_opportunity=False)
        sweep()
        assert owner(kept) is None
    finally:
        rules.unregister_exemption("test_open_opportunity")


def test_an_open_opportunity_keeps_the_customer_with_its_owner(org, clock):
    """The exemption sales registers (create_app wires it): a real open opportunity, then won/lost."""
    from crm.sales.opportunities import services as opportunities

    set_pool(org.store_a, follow_up_days=30, remind_days=None)
    busy, idle = make_customer(org.a_rep1), make_customer(org.a_rep1)
    pipeline = opportunities.save_pipeline(None, {"name": "Wholesale", "stages": [
        {"name": "Lead", "win_rate": "10"}, {"name": "Negotiation", "win_rate": "60"}]}, actor=org.a_manager)
    opportunities.create_opportunity({"customer_id": busy.id, "pipeline_id": pipeline.id, "name": "500 pallets",
                                      "amount": "30000"}, actor=org.a_rep1)
    db.session.commit()
    clock.shift(timedelta(days=31))
    sweep()
    assert owner(busy) == org.a_rep1.id and owner(idle) is None


def test_locked_customers_never_recycled(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=None)
    c = make_customer(org.a_rep1)
    customers.set_locked(c, True, actor=org.a_rep1)
    db.session.commit()
    clock.shift(timedelta(days=400))
    sweep()
    assert owner(c) == org.a_rep1.id


def test_locked_cap(org):
    set_pool(org.store_a, max_locked=1)
    a = make_customer(org.a_rep1)
    b = make_customer(org.a_rep1)
    customers.set_locked(a, True, actor=org.a_rep1)
    with pytest.raises(ValidationFailed) as exc:
        customers.set_locked(b, True, actor=org.a_rep1)
    assert "locked" in exc.value.errors


def test_reminder_n_days_before_once(org, clock):
    set_pool(org.store_a, follow_up_days=30, remind_days=3)
    c = make_customer(org.a_rep1)
    clock.shift(timedelta(days=26))
    assert sweep()["reminded"] == 0
    clock.shift(timedelta(days=1, hours=1))
    assert sweep()["reminded"] == 1
    assert sweep()["reminded"] == 0  # the next daily run does not repeat it
    assert len(notes(org.a_rep1, "highseas_reminder")) == 1
    assert c.name in notes(org.a_rep1, "highseas_reminder")[0]
    assert recycling.days_until_recycle(c) == 2


def test_pool_members_limit_whose_customers_recycle(org, clock):
    pool = set_pool(org.store_a, follow_up_days=30, remind_days=None)
    rules.set_member(pool, org.a_rep2.id, "member", actor=org.a_manager)
    db.session.commit()
    mine = make_customer(org.a_rep1)
    theirs = make_customer(org.a_rep2)
    clock.shift(timedelta(days=31))
    sweep()
    assert owner(mine) == org.a_rep1.id and owner(theirs) is None
    assert rules.role_in(pool, org.a_rep1) is None  # not a member any more: the pool is not theirs


def test_auto_recycle_off(org, clock):
    set_pool(org.store_a, follow_up_days=30, auto_recycle=False)
    c = make_customer(org.a_rep1)
    clock.shift(timedelta(days=31))
    sweep()
    assert owner(c) == org.a_rep1.id


def test_manual_release_is_a_move_with_reason(org):
    c = make_customer(org.a_rep1)
    with pytest.raises(PermissionDenied):  # a colleague's customer: the right to change owners is needed
        services.move_to_pool([c], "not mine", actor=org.a_rep2)
    mine = make_customer(org.a_rep1)
    services.move_to_pool([mine], "They went to a competitor", actor=org.a_rep1)  # customer.release: own ones
    assert owner(mine) is None
    services.move_to_pool([c], "Customer moved abroad", actor=org.a_sup)
    db.session.commit()
    assert owner(c) is None
    assert moves(c) == [("released", org.a_rep1.id, None, "Customer moved abroad")]
    with pytest.raises(ValidationFailed):
        services.move_to_pool([make_customer(org.a_rep1)], "  ", actor=org.a_sup)


def test_assign_single_and_batch(org):
    cs = [make_customer(org.a_rep1) for _ in range(3)]
    services.move_to_pool(cs, "cleanup", actor=org.a_sup)
    db.session.commit()
    assert services.assign([cs[0].id], org.a_rep2.id, "you know them", actor=org.a_sup) == 1
    assert services.assign([cs[1].id, cs[2].id], org.a_rep2.id, actor=org.a_manager) == 2
    db.session.commit()
    assert {owner(c) for c in cs} == {org.a_rep2.id}
    assert moves(cs[0])[-1] == ("assigned", None, org.a_rep2.id, "you know them")
    assert len(notes(org.a_rep2, "highseas_moved")) == 3


def test_assign_refusals(org):
    c = make_customer(org.a_rep1)
    services.move_to_pool([c], "cleanup", actor=org.a_sup)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.assign([c.id], org.a_rep2.id, actor=org.a_rep2)  # a salesperson cannot assign
    with pytest.raises(ValidationFailed) as refused:
        services.assign([c.id], org.b_rep.id, actor=org.b_sup)  # another store's pool: an id it may not name
    assert "customer_ids" in refused.value.errors
    with pytest.raises(ValidationFailed):
        services.assign([c.id], org.b_rep.id, actor=org.a_sup)  # target of another store
    owned = make_customer(org.a_rep1)
    from crm.core.errors import Conflict

    with pytest.raises(Conflict):
        services.assign([c.id, owned.id], org.a_rep2.id, actor=org.a_sup)  # all or nothing
    db.session.rollback()
    assert owner(c) is None
    assert db.session.scalar(select(HighSeasMove).where(HighSeasMove.kind == MoveKind.ASSIGNED)) is None


def test_sweep_matches_a_plain_recomputation_of_the_rules(org, clock):
    """60 customers with random clocks, levels, won and locked flags: the sweep recycles exactly those a
    straightforward reading of the rules picks; contacts lose their owner too; one notification per owner."""
    import random

    from crm.customers.models import Contact
    from crm.customers.models import CustomerLevel

    rnd = random.Random(7)
    set_pool(org.store_a, follow_up_days=30, deal_days=45, level_days={"a": 60}, remind_days=None, exempt_won=True)
    now = services.utcnow()
    rows = []
    for i in range(60):
        owner_user = org.a_rep1 if i % 2 else org.a_rep2
        c = make_customer(owner_user, level=rnd.choice(["a", "b", "c", "d"]))
        c.owned_since = now - timedelta(days=rnd.randint(0, 120))
        c.last_follow_up_at = now - timedelta(days=rnd.randint(0, 120)) if rnd.random() < 0.7 else None
        c.last_deal_at = now - timedelta(days=rnd.randint(0, 120)) if rnd.random() < 0.5 else None
        c.won = rnd.random() < 0.2
        c.locked = rnd.random() < 0.1
        rows.append(c)
    customers.add_contact(rows[0], {"name": "Buyer"}, actor=rows[0].owner)
    db.session.commit()

    def expected(c):
        if c.locked or c.won:
            return False
        start = c.owned_since
        fu_days = 60 if c.level == CustomerLevel.A else 30
        fu_base = max(start, c.last_follow_up_at) if c.last_follow_up_at else start
        deal_base = max(start, c.last_deal_at) if c.last_deal_at else start
        return fu_base + timedelta(days=fu_days) <= now or deal_base + timedelta(days=45) <= now

    want = {c.id for c in rows if expected(c)}
    versions = {c.id: c.lock_version for c in rows}
    assert 5 < len(want) < 55
    result = sweep()
    assert result["recycled"] == len(want)
    got = {c.id for c in rows if owner(c) is None}
    assert got == want
    for c in rows:
        assert c.lock_version == versions[c.id] + (1 if c.id in want else 0)
    contact = db.session.scalars(select(Contact).where(Contact.customer_id == rows[0].id)).one()
    assert (contact.owner_id is None) == (rows[0].id in want)
    rep1_notes = notes(org.a_rep1, "highseas_moved")
    assert len(rep1_notes) == 1 and "were recycled" in rep1_notes[0]
    assert sweep()["recycled"] == 0
