"""Receivable plans: instalments that must add up to what the order owes, edits that never move verified
money, verified collections allocated to the instalments (named first, then by due date), and the status
that follows them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.payments.models import PaymentMethod
from crm.finance.plans import services
from crm.finance.plans.allocation import shares
from crm.finance.plans.models import InstalmentStatus
from crm.finance.plans.models import instalment_status
from crm.finance.plans.models import plan_status
from crm.finance.plans.queries import plan_data
from tests.conftest import collect
from tests.conftest import decide_collection
from tests.conftest import record_collection
from tests.finance.plans.conftest import save


def _refused(order, actor, rows, **kwargs):
    with pytest.raises(ValidationFailed) as caught:
        services.save_plan(order.id, {"instalments": rows}, actor=actor, **kwargs)
    db.session.rollback()
    return caught.value.errors


def test_a_plan_must_add_up_to_what_the_order_owes(waiting, org, staff):
    short = _refused(waiting, org.a_rep1, [{"amount": "300", "due_on": "2027-01-10"},
                                           {"amount": "600", "due_on": "2027-02-10"}])
    assert short == {"instalments": ["The instalments add up to ¥900.00, ¥50.00 short of what the order owes (¥950.00)."]}
    over = _refused(waiting, org.a_rep1, [{"amount": "1000", "due_on": "2027-01-10"}])
    assert over["instalments"] == ["The instalments add up to ¥1,000.00, ¥50.00 more than the order owes (¥950.00)."]
    # Every field's message at once, named by the instalment's position.
    errors = _refused(waiting, org.a_rep1, [{"amount": "1.234", "due_on": "soon", "method": "cheque", "remind_days": "-1"}])
    assert set(errors) == {"instalments.0.amount", "instalments.0.due_on", "instalments.0.method",
                           "instalments.0.remind_days"}
    assert _refused(waiting, org.a_rep1, []) == {"instalments": ["Add at least one instalment."]}

    plan = save(waiting, org.a_rep1, ("300.00", "2027-02-10"), ("650", "2027-01-10"))
    assert [(i.number, i.amount, i.due_on) for i in plan.instalments] == [
        (1, Decimal("650.00"), date(2027, 1, 10)), (2, Decimal("300.00"), date(2027, 2, 10))]  # numbered by due date
    assert [i.remind_days for i in plan.instalments] == [3, 3]  # FINANCE_REMINDER_DAYS
    assert plan.instalments[0].remind_on == date(2027, 1, 7)
    assert plan.store_id == waiting.store_id and plan.owner_id == waiting.owner_id


def test_who_may_plan(waiting, org, staff):
    with pytest.raises(PermissionDenied):
        services.save_plan(waiting.id, {"instalments": [{"amount": "950", "due_on": "2027-01-01"}]},
                           actor=staff["warehouse"])
    db.session.rollback()
    save(waiting, staff["finance"], ("950", "2027-01-01"))  # finance of the store
    from crm.core.errors import NotFound

    with pytest.raises(NotFound):  # another store's salesperson: the order does not exist for them
        services.save_plan(waiting.id, {"instalments": [{"amount": "950", "due_on": "2027-01-01"}]}, actor=org.b_rep)


def test_an_edit_keeps_history_and_refuses_a_stale_form(waiting, org, staff):
    from crm.core.audit import timeline

    plan = save(waiting, org.a_rep1, ("950", "2027-01-01"))
    first = plan.instalments[0]
    version = plan.lock_version
    services.save_plan(waiting.id, {"instalments": [{"id": first.id, "amount": "450", "due_on": "2027-01-01"},
                                                    {"amount": "500", "due_on": "2027-03-01", "method": "alipay",
                                                     "remind_days": "7"}], "note": "Two parts"},
                       actor=staff["finance"], lock_version=version)
    db.session.commit()
    assert [(i.id == first.id, i.amount, i.method, i.remind_days) for i in plan.instalments] == [
        (True, Decimal("450.00"), None, 3), (False, Decimal("500.00"), PaymentMethod.ALIPAY, 7)]
    changes = [e["entry"] for e in timeline(db.session, "receivable_instalment", first.id)
               if e["entry"].action == "updated"]
    assert changes and changes[0].changes["amount"]["old"] == "950.00"
    assert any(e["entry"].action == "receivable_plan_changed" for e in timeline(db.session, "order", waiting.id))
    with pytest.raises(Conflict):
        services.save_plan(waiting.id, {"instalments": [{"amount": "950", "due_on": "2027-01-01"}]},
                           actor=staff["finance"], lock_version=version)


def test_verified_collections_fill_the_instalments_in_due_date_order(waiting, org, staff):
    plan = save(waiting, org.a_rep1, ("300", "2027-01-10"), ("300", "2027-02-10"), ("350", "2027-03-10"))
    first, second, third = plan.instalments
    pending = record_collection(waiting, org.a_rep1, "400.00")
    db.session.refresh(first)
    assert first.collected == 0  # recorded, not verified: nothing counts yet
    decide_collection(pending, staff["finance"])
    assert [i.collected for i in (first, second, third)] == [Decimal("300.00"), Decimal("100.00"), 0]
    today = date(2027, 1, 5)
    assert [instalment_status(i, today) for i in plan.instalments] == [
        InstalmentStatus.COLLECTED, InstalmentStatus.PARTLY_COLLECTED, InstalmentStatus.PENDING]
    assert plan_status(plan.instalments, today) == InstalmentStatus.PARTLY_COLLECTED
    assert plan_status(plan.instalments, date(2027, 2, 11)) == InstalmentStatus.OVERDUE

    # A collection that names an instalment goes to it first, whatever its due date.
    named = record_collection(waiting, org.a_rep1, "350.00", instalment_id=str(third.id))
    assert named.instalment_id == third.id
    decide_collection(named, staff["finance"])
    db.session.refresh(third)
    assert [i.collected for i in (first, second, third)] == [Decimal("300.00"), Decimal("100.00"), Decimal("350.00")]
    assert instalment_status(second, date(2027, 3, 1)) == InstalmentStatus.OVERDUE  # partly collected and late


def test_the_allocation_is_the_same_whatever_the_order_of_verifications():
    from types import SimpleNamespace as Row

    rows = [Row(id=1, number=1, amount=Decimal("100"), due_on=date(2027, 1, 1)),
            Row(id=2, number=2, amount=Decimal("100"), due_on=date(2027, 2, 1))]
    # 150 naming instalment 2 fills it and spills 50 into instalment 1; 30 unnamed goes to instalment 1.
    assert shares(rows, [(2, Decimal("150")), (None, Decimal("30"))]) == {1: Decimal("80"), 2: Decimal("100")}
    assert shares(rows, [(None, Decimal("30")), (2, Decimal("150"))]) == {1: Decimal("80"), 2: Decimal("100")}
    assert shares(rows, [(99, Decimal("120"))]) == {1: Decimal("100"), 2: Decimal("20")}  # not an instalment: unnamed


def test_a_collection_names_an_instalment_of_its_own_order(waiting, org, products, customers, staff):
    from tests.finance.conftest import signed_order

    other = signed_order(org, products, customers, quantity=5)
    foreign = save(other, org.a_rep1, ("475", "2027-01-01")).instalments[0]
    plan = save(waiting, org.a_rep1, ("950", "2027-01-01"))
    with pytest.raises(ValidationFailed) as caught:
        record_collection(waiting, org.a_rep1, "10.00", instalment_id=str(foreign.id))
    assert caught.value.errors == {"instalment_id": ["Choose an instalment of this order's plan."]}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        record_collection(waiting, org.a_rep1, "10.00", instalment_id="x")
    assert "instalment_id" in caught.value.errors
    db.session.rollback()
    collect(waiting, org.a_rep1, staff["finance"], "950.00")
    db.session.refresh(plan.instalments[0])
    assert plan.instalments[0].collected == Decimal("950.00")


def test_instalments_with_verified_money_keep_their_amount_and_date(waiting, org, staff):
    plan = save(waiting, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-10"))
    first, second = plan.instalments
    collect(waiting, org.a_rep1, staff["finance"], "100.00")
    moved = _refused(waiting, org.a_rep1, [{"id": first.id, "amount": "300", "due_on": "2027-01-20"},
                                           {"id": second.id, "amount": "650", "due_on": "2027-02-10"}])
    assert moved == {"instalments.0.due_on": ["Instalment 1 has collections: its amount and due date cannot change."]}
    removed = _refused(waiting, org.a_rep1, [{"id": second.id, "amount": "950", "due_on": "2027-02-10"}])
    assert removed == {"instalments": ["Instalment 1 has collections: it cannot be removed."]}
    # A new instalment falling due before the collected one would take its money: refused.
    shifted = _refused(waiting, org.a_rep1, [{"id": first.id, "amount": "300", "due_on": "2027-01-10"},
                                             {"amount": "150", "due_on": "2027-01-01"},
                                             {"id": second.id, "amount": "500", "due_on": "2027-02-10"}])
    assert list(shifted) == ["instalments"] and "move verified collections" in shifted["instalments"][0]
    # The instalments not collected yet can change freely.
    services.save_plan(waiting.id, {"instalments": [
        {"id": first.id, "amount": "300", "due_on": "2027-01-10"}, {"amount": "150", "due_on": "2027-03-01"},
        {"id": second.id, "amount": "500", "due_on": "2027-02-15", "remind_days": "0"}]}, actor=org.a_rep1)
    db.session.commit()
    assert [(i.amount, i.due_on, i.collected) for i in plan.instalments] == [
        (Decimal("300.00"), date(2027, 1, 10), Decimal("100.00")), (Decimal("500.00"), date(2027, 2, 15), 0),
        (Decimal("150.00"), date(2027, 3, 1), 0)]


def test_a_pending_collection_keeps_its_instalment(waiting, org, staff):
    plan = save(waiting, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-10"))
    first, second = plan.instalments
    record_collection(waiting, org.a_rep1, "50.00", instalment_id=str(second.id))
    errors = _refused(waiting, org.a_rep1, [{"id": first.id, "amount": "950", "due_on": "2027-01-10"}])
    assert errors == {"instalments": ["Instalment 2 has collections: it cannot be removed."]}


def test_a_closed_order_keeps_its_plan(waiting, org, staff):
    from crm.sales.orders import services as order_services

    save(waiting, org.a_rep1, ("950", "2027-01-10"))
    order_services.cancel_order(waiting.id, {"reason": "Customer changed their mind"}, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(waiting)
    with pytest.raises(InvalidTransition):
        services.save_plan(waiting.id, {"instalments": [{"amount": "950", "due_on": "2027-01-10"}]}, actor=org.a_rep1)


def test_the_plan_as_shown_follows_today(waiting, org, staff):
    save(waiting, org.a_rep1, ("950", "2027-01-10"))
    with time_machine.travel("2027-01-10 15:59:00+00:00", tick=False):  # 23:59 in Shanghai: due today
        assert plan_data(waiting)["instalments"][0]["status"] == InstalmentStatus.PENDING
    with time_machine.travel("2027-01-10 16:00:00+00:00", tick=False):  # 00:00 on the 11th in Shanghai
        data = plan_data(waiting)
        assert data["instalments"][0]["status"] == InstalmentStatus.OVERDUE and data["status"] == InstalmentStatus.OVERDUE
