"""After-sales cases through `after_sales.bpmn`, each type end to end as each role takes its step from its
inbox; rejection; the return timer and the exchange's auto-confirmation under the time machine; the rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from crm.aftersales.cases import services
from crm.aftersales.cases.models import CaseStatus
from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.notify.models import Notification
from crm.workflow import runtime
from tests.aftersales.conftest import REFUND
from tests.aftersales.conftest import RETURN
from tests.aftersales.conftest import SHIP
from tests.aftersales.conftest import approve
from tests.aftersales.conftest import case_task
from tests.aftersales.conftest import inspection
from tests.aftersales.conftest import open_case
from tests.aftersales.conftest import ship
from tests.aftersales.conftest import step
from tests.conftest import collect
from tests.finance.conftest import signed_order
from tests.sales.conftest import candidates


def _notes(user, kind):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)))


def test_return_and_refund_end_to_end(delivered, org, staff, after_sales_chain):
    order = delivered
    case = open_case(order, org.a_rep1, quantity=2, amount="190.00")
    db.session.refresh(order)
    assert case.status == CaseStatus.PENDING_APPROVAL and order.after_sales_open == 1
    assert case_task(case).assignee_id == org.a_sup.id  # the requester's supervisor, in the approval queue
    approve(case, org.a_sup)
    assert case.status == CaseStatus.AWAITING_RETURN and case.decided_at is not None
    assert _notes(org.a_rep1, "after_sales_approved")
    assert case_task(case, "as_return").assignee_id == org.a_rep1.id
    step(case, "as_return", org.a_rep1, RETURN)
    assert case.status == CaseStatus.AWAITING_INSPECTION and case.return_tracking_no == "SF-RET-1"
    task = case_task(case, "as_inspect")
    assert staff["warehouse"].id in candidates(task) and staff["b_warehouse"].id not in candidates(task)
    step(case, "as_inspect", staff["warehouse"], inspection(1))
    assert case.status == CaseStatus.AWAITING_REFUND and case.lines[0].accepted_quantity == 1
    assert case.refund_amount == Decimal("95.00")  # the accepted goods' worth, at most what was asked
    assert staff["finance"].id in candidates(case_task(case, "as_refund"))
    step(case, "as_refund", staff["finance"], REFUND)
    db.session.refresh(order)
    assert case.status == CaseStatus.COMPLETED and case.refunded_amount == Decimal("95.00")
    refund = db.session.get(Payment, case.refund_payment_id)
    assert refund.kind == PaymentKind.REFUND and refund.amount == Decimal("95.00")
    assert refund.case_ref == f"after_sales:{case.id}" and refund.reference == "RF-001"
    assert order.refunded_amount == Decimal("95.00") and order.after_sales_open == 0
    assert case.lines[0].open_order_line_id is None
    assert _notes(org.a_rep1, "after_sales_completed")
    # What came back counts: only 9 more of the line can be returned.
    assert services.returned([order.lines[0].id]) == {order.lines[0].id: 1}
    with pytest.raises(ValidationFailed) as over:
        open_case(order, org.a_rep1, quantity=10, amount="10.00")
    assert "lines.0.quantity" in over.value.errors


def test_a_return_with_nothing_accepted_ends_without_a_refund(delivered, org, staff):
    case = open_case(delivered, org.a_rep1, quantity=2, amount="190.00")
    step(case, "as_return", org.a_rep1, RETURN)
    step(case, "as_inspect", staff["warehouse"], inspection(0, note="Not ours"))
    assert case.status == CaseStatus.COMPLETED and case.refund_amount == 0 and case.refund_payment_id is None


def test_refund_only_without_chain_is_approved_at_once(delivered, org, staff):
    case = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="50.00")
    assert case.status == CaseStatus.AWAITING_REFUND and case.refund_amount == Decimal("50.00")
    step(case, "as_refund", staff["finance"], REFUND)
    assert case.status == CaseStatus.COMPLETED and case.refunded_amount == Decimal("50.00")


def test_exchange_ships_a_replacement_and_the_receipt_confirms_itself(delivered, org, staff, app):
    case = open_case(delivered, org.a_rep1, "exchange", quantity=3, amount="")
    step(case, "as_return", org.a_rep1, RETURN)
    step(case, "as_inspect", staff["warehouse"], inspection(3))
    assert case.status == CaseStatus.AWAITING_REPLACEMENT and case.refund_amount is None
    assert staff["logistics"].id in candidates(case_task(case, "as_ship"))
    step(case, "as_ship", staff["logistics"], SHIP)
    assert case.status == CaseStatus.AWAITING_RECEIPT and case.replacement_tracking_no == "ZTO-9"
    days = services.receipt_days()
    with time_machine.travel(utcnow() + timedelta(days=days) - timedelta(hours=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    db.session.refresh(case)
    assert case.status == CaseStatus.AWAITING_RECEIPT
    with time_machine.travel(utcnow() + timedelta(days=days, minutes=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    db.session.refresh(case)
    assert case.status == CaseStatus.COMPLETED and case.receipt_auto and case.replacement_received_at is not None
    # The exchanged goods were replaced: the customer still holds all ten, all ten may still come back.
    assert services.returned([delivered.lines[0].id]) == {}


def test_reissue_ships_again_without_a_return(delivered, org, staff):
    case = open_case(delivered, org.a_rep1, "reissue", quantity=1, amount="0")
    assert case.status == CaseStatus.AWAITING_REPLACEMENT
    step(case, "as_ship", staff["warehouse"], SHIP)
    step(case, "as_confirm", org.a_rep1, {"receipt": {"comment": "Fine"}})
    assert case.status == CaseStatus.COMPLETED and not case.receipt_auto


def test_rejection_tells_the_requester_why(delivered, org, after_sales_chain):
    case = open_case(delivered, org.a_rep1)
    approve(case, org.a_sup, approved=False, comment="The photos show wear, not damage")
    db.session.refresh(delivered)
    assert case.status == CaseStatus.REJECTED and case.decision_note == "The photos show wear, not damage"
    assert delivered.after_sales_open == 0 and case.lines[0].open_order_line_id is None
    notes = _notes(org.a_rep1, "after_sales_rejected")
    assert notes and notes[0].body == "The photos show wear, not damage"


def test_the_return_timer_reminds_then_closes_the_case(delivered, org, app):
    case = open_case(delivered, org.a_rep1)
    assert case.status == CaseStatus.AWAITING_RETURN
    with time_machine.travel(utcnow() + timedelta(days=services.reminder_after_days(), minutes=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    db.session.refresh(case)
    assert case.status == CaseStatus.AWAITING_RETURN and _notes(org.a_rep1, "after_sales_return_due")
    with time_machine.travel(utcnow() + timedelta(days=services.return_days(), minutes=1), tick=False):
        runtime.fire_due_timers()
        db.session.commit()
    db.session.refresh(case)
    db.session.refresh(delivered)
    assert case.status == CaseStatus.CLOSED and delivered.after_sales_open == 0
    assert _notes(org.a_rep1, "after_sales_closed")


def test_limits(delivered, org, staff):
    order = delivered
    with pytest.raises(ValidationFailed) as over:
        open_case(order, org.a_rep1, "refund_only", quantity=0, amount="950.01")
    assert "amount" in over.value.errors
    with pytest.raises(ValidationFailed) as too_many:
        open_case(order, org.a_rep1, quantity=11, amount="10.00")
    assert "lines.0.quantity" in too_many.value.errors
    with pytest.raises(ValidationFailed) as worth:
        open_case(order, org.a_rep1, quantity=1, amount="95.01")
    assert "amount" in worth.value.errors
    open_case(order, org.a_rep1, quantity=1, amount="95.00")
    with pytest.raises(ValidationFailed) as second:
        open_case(order, org.a_rep1, "reissue", quantity=1, amount="")
    assert "lines.0.order_line_id" in second.value.errors
    # The open case's refund is reserved: a refund only may ask for the rest.
    with pytest.raises(ValidationFailed) as reserved:
        open_case(order, org.a_rep1, "refund_only", quantity=0, amount="855.01")
    assert "amount" in reserved.value.errors
    with pytest.raises(PermissionDenied):
        open_case(order, staff["warehouse"])


def test_refund_only_before_shipment_is_the_cancellation(org, products, customers, staff):
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    with pytest.raises(InvalidTransition) as refused:
        open_case(order, org.a_rep1, "refund_only", quantity=0, amount="100.00")
    assert "cancel" in str(refused.value.message)
    with pytest.raises(ValidationFailed) as not_delivered:
        open_case(order, org.a_rep1, quantity=1, amount="95.00")
    assert "lines.0.quantity" in not_delivered.value.errors


def test_the_refund_is_checked_again_when_finance_pays_it(delivered, org, staff):
    from crm.finance.payments import services as payment_services

    case = open_case(delivered, org.a_rep1, "refund_only", quantity=0, amount="900.00")
    # Meanwhile the order was refunded otherwise (another case's refund, say).
    payment_services.record_case_refund(delivered.id, Decimal("100.00"), {"method": "cash", "reference": "X"},
                                        actor=staff["finance"], case_ref="test:1", reason="test")
    db.session.commit()
    with pytest.raises(ValidationFailed) as over:
        step(case, "as_refund", staff["finance"], REFUND)
    assert "amount" in over.value.errors
    db.session.rollback()
    assert case_task(case, "as_refund")  # the task is still there


def test_the_order_marker_counts_open_cases(org, products, customers, staff):
    order = signed_order(org, products, customers)
    collect(order, staff["finance"], staff["finance2"], "950.00")
    ship(order, staff, org, receive=False)
    case = open_case(order, org.a_rep1, "reissue", quantity=1, amount="")
    db.session.refresh(order)
    assert order.after_sales_open == 1 and case.status == CaseStatus.AWAITING_REPLACEMENT
