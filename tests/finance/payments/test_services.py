"""Collections and their verification through `collection_verification.bpmn`, and refunds: the services
and the process as the inbox drives them."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.demo import VOUCHER
from crm.finance.payments import services
from crm.finance.payments.models import PaymentStatus
from crm.sales.orders.models import OrderStatus
from crm.workflow.models import HumanTaskCandidate
from crm.workflow.models import ProcessEvent
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission
from tests.conftest import collect
from tests.conftest import decide_collection
from tests.conftest import record_collection
from tests.conftest import verification_task
from tests.sales.conftest import open_task


def _order_paid_deliveries(order) -> int:
    from crm.workflow import runtime

    instance_ids = [i.id for i in runtime.instances_of("order", order.id)]
    return db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
        ProcessEvent.instance_id.in_(instance_ids), ProcessEvent.kind == "message_received")) or 0


def test_three_partial_collections_send_order_paid_once_and_the_order_moves_on(waiting, staff):
    order = waiting
    first = collect(order, staff["finance"], staff["finance2"], "300.00")
    db.session.refresh(order)
    assert first.status == PaymentStatus.VERIFIED and order.paid_amount == Decimal("300.00")
    assert order.status == OrderStatus.PENDING_COLLECTION and _order_paid_deliveries(order) == 0
    collect(order, staff["finance2"], staff["finance"], "450.00")  # either may record, the other verifies
    db.session.refresh(order)
    assert order.status == OrderStatus.PENDING_COLLECTION and order.paid_amount == Decimal("750.00")
    collect(order, staff["finance"], staff["finance2"])  # the remaining 200.00
    db.session.refresh(order)
    assert order.paid_amount == order.total == Decimal("950.00")
    assert order.status == OrderStatus.PENDING_OUTBOUND and open_task(order, "op_outbound")
    assert _order_paid_deliveries(order) == 1


def test_a_rejected_collection_does_not_count_and_goes_back_to_its_recorder(waiting, staff, org):
    order = waiting
    payment = record_collection(order, org.a_rep1, "950.00", reference="WRONG")
    decide_collection(payment, staff["finance"], "reject", "The slip shows ¥590.00, not ¥950.00")
    db.session.refresh(order)
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.REJECTED and payment.reason.startswith("The slip shows")
    assert order.paid_amount == 0 and order.status == OrderStatus.PENDING_COLLECTION
    correct = verification_task(payment, "cv_correct")
    assert correct.assignee_id == org.a_rep1.id
    data = tasks.task_data(correct)
    assert data["correction"]["amount"] == "950.00" and data["correction"]["reference"] == "WRONG"

    # The recorder corrects the amount and resubmits: finance verifies the corrected collection.
    tasks.complete(correct.id, JsonSubmission({"correction": {
        "action": "resubmit", "amount": "590.00", "method": "alipay", "reference": "RIGHT"}}), actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.RECORDED and payment.amount == Decimal("590.00")
    assert payment.reason is None and payment.method.value == "alipay"
    decide_collection(payment, staff["finance"])
    db.session.refresh(order)
    assert order.paid_amount == Decimal("590.00") and order.status == OrderStatus.PENDING_COLLECTION


def test_a_rejected_collection_can_be_withdrawn(waiting, staff, org):
    payment = record_collection(waiting, org.a_rep1, "100.00")
    decide_collection(payment, staff["finance"], "reject", "No such transfer")
    tasks.complete(verification_task(payment, "cv_correct").id, JsonSubmission({"correction": {"action": "withdraw"}}),
                   actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == PaymentStatus.WITHDRAWN
    # What it held back is open again.
    record_collection(waiting, org.a_rep1, "950.00")


def test_a_rejection_needs_a_reason(waiting, staff):
    payment = record_collection(waiting, staff["finance"], "950.00")
    with pytest.raises(ValidationFailed) as refused:
        decide_collection(payment, staff["finance2"], "reject")
    assert "verification.reason" in refused.value.errors
    db.session.rollback()


def test_the_recorder_may_not_verify_their_own_collection(waiting, staff):
    payment = record_collection(waiting, staff["finance"], "950.00")
    task = verification_task(payment)
    candidates = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))
    assert staff["finance2"].id in candidates and staff["finance"].id not in candidates  # the diagram's `exclude`
    with pytest.raises((PermissionDenied, NotFound)):
        decide_collection(payment, staff["finance"])
    db.session.rollback()
    # Even handed the task by a supervisor, the operator refuses them.
    task = verification_task(payment)
    task.assignee_id = staff["finance"].id
    db.session.commit()
    with pytest.raises(PermissionDenied):
        decide_collection(payment, staff["finance"])
    db.session.rollback()
    db.session.refresh(waiting)
    assert waiting.paid_amount == 0


def test_over_collection_is_refused_with_the_amount_still_due(waiting, staff):
    with pytest.raises(ValidationFailed) as refused:
        record_collection(waiting, staff["finance"], "950.01")
    assert refused.value.errors["amount"] == ["At most ¥950.00 is still due."]
    db.session.rollback()
    record_collection(waiting, staff["finance"], "600.00")
    with pytest.raises(ValidationFailed) as refused:
        record_collection(waiting, staff["finance"], "400.00")
    assert refused.value.errors["amount"] == [
        "At most ¥350.00 can be recorded: ¥950.00 is still due and ¥600.00 waits for verification."]
    db.session.rollback()


def test_input_errors_name_every_field_and_write_nothing(waiting, staff):
    with pytest.raises(ValidationFailed) as refused:
        services.record_collection(waiting.id, {"amount": "12.345", "method": "barter", "paid_on": "2999-01-01",
                                                "reference": "x" * 101}, [], actor=staff["finance"])
    assert set(refused.value.errors) == {"amount", "method", "paid_on", "reference", "vouchers"}  # all at once
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.record_collection(waiting.id, {"amount": "10", "method": "cash"}, [], actor=staff["finance"])
    assert set(refused.value.errors) == {"vouchers"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        services.record_collection(waiting.id, {"amount": "10", "method": "cash"},
                                   [("slip.exe", io.BytesIO(b"MZ\x90\x00"))], actor=staff["finance"])
    assert "vouchers" in refused.value.errors
    db.session.rollback()
    from crm.finance.payments.models import Payment

    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_collections_only_while_the_pipeline_waits_for_money(org, products, customers, staff):
    from tests.finance.conftest import signed_order

    arrears = signed_order(org, products, customers, mode="arrears")
    with pytest.raises(InvalidTransition):
        record_collection(arrears, staff["finance"], "1.00")
    db.session.rollback()


def test_another_store_cannot_record_or_see(waiting, staff, org):
    with pytest.raises(NotFound):
        services.record_collection(waiting.id, {"amount": "1", "method": "cash"},
                                   [("slip.png", io.BytesIO(VOUCHER))], actor=org.b_rep)
    db.session.rollback()
    payment = record_collection(waiting, staff["finance"], "1.00")
    for user in (org.b_rep, org.b_manager, org.a_rep2):
        with pytest.raises(NotFound):
            services.get_payment(payment.id, user)
    assert services.get_payment(payment.id, org.a_rep1) == payment  # the order's salesperson


def test_vouchers_can_be_added_until_verified(waiting, staff, org):
    payment = record_collection(waiting, org.a_rep1, "950.00")
    services.add_vouchers(payment.id, [("second.pdf", io.BytesIO(b"%PDF-1.4\n%..."))], actor=org.a_rep1)
    db.session.commit()
    assert [v.content_type for v in payment.vouchers] == ["image/png", "application/pdf"]
    with pytest.raises(PermissionDenied):
        services.add_vouchers(payment.id, [("x.png", io.BytesIO(VOUCHER))], actor=org.a_sup)
    db.session.rollback()
    decide_collection(payment, staff["finance"])
    with pytest.raises(InvalidTransition):
        services.add_vouchers(payment.id, [("x.png", io.BytesIO(VOUCHER))], actor=org.a_rep1)
    db.session.rollback()


def test_a_cancelled_order_refunds_what_was_verified_never_more(waiting, staff, org):
    from crm.finance.ledger import queries as ledger_queries
    from crm.sales.orders import services as order_services
    from crm.workflow import runtime

    order = waiting
    collect(order, staff["finance"], staff["finance2"], "300.00")
    record_collection(order, staff["finance"], "200.00")  # not verified: it is not refunded
    order_services.cancel_order(order.id, {"reason": "客户改主意了"}, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(order)
    assert order.status == OrderStatus.PENDING_REFUND
    refund = open_task(order, "op_refund")
    runtime.complete_task(refund.id, {"method": "alipay", "reference": "RF-9"}, actor_id=staff["finance"].id)
    db.session.commit()
    db.session.refresh(order)
    assert order.status == OrderStatus.CANCELLED and order.refunded_amount == Decimal("300.00")
    out = [p for p in ledger_queries.of_order(order.id) if p.direction.value == "out"]
    assert [(p.amount, p.status.value, p.method.value, p.reason) for p in out] == [
        (Decimal("300.00"), "refunded", "alipay", "客户改主意了")]
    # Finance attaches the bank slip of the money paid back; the salesperson may not.
    with pytest.raises(PermissionDenied):
        services.add_vouchers(out[0].id, [("slip.png", io.BytesIO(VOUCHER))], actor=org.a_rep1)
    services.add_vouchers(out[0].id, [("slip.png", io.BytesIO(VOUCHER))], actor=staff["finance"])
    db.session.commit()
    assert [v.original_name for v in out[0].vouchers] == ["slip.png"]


def test_a_cancelled_order_without_verified_money_is_cancelled_at_once(waiting, staff, org):
    from crm.sales.orders import services as order_services

    pending = record_collection(waiting, staff["finance"], "200.00")
    order_services.cancel_order(waiting.id, {"reason": "不要了"}, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(waiting)
    assert waiting.status == OrderStatus.CANCELLED and waiting.refunded_amount == 0
    # Its collection still waiting for verification cannot be verified any more: finance rejects it.
    with pytest.raises(InvalidTransition):
        decide_collection(pending, staff["finance2"])
    db.session.rollback()
    decide_collection(pending, staff["finance2"], "reject", "Order cancelled")
    db.session.refresh(waiting)
    assert waiting.paid_amount == 0
