"""A settlement batch split over three orders of a store: recording it (every check of a collection on
each line, all refusals at once, nothing written), verifying its lines one by one and all at once through
`collection_verification`, and its vouchers served for each line's collection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.payments import services as payment_services
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import PaymentStatus
from crm.finance.payments.models import Voucher
from crm.finance.settlements import services
from crm.finance.settlements.models import Settlement
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from crm.workflow.models import ProcessEvent
from crm.workflow.models import ProcessInstance
from tests.conftest import decide_collection
from tests.conftest import record_collection
from tests.finance.settlements.conftest import batch
from tests.finance.settlements.conftest import record
from tests.sales.conftest import open_task


def order_paid_deliveries(order) -> int:
    ids = [i.id for i in runtime.instances_of("order", order.id)]
    return db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
        ProcessEvent.instance_id.in_(ids), ProcessEvent.kind == "message_received")) or 0


def counts() -> tuple[int, int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(Settlement)),
            db.session.scalar(select(func.count()).select_from(Payment)),
            db.session.scalar(select(func.count()).select_from(Voucher)),
            db.session.scalar(select(func.count()).select_from(ProcessInstance)))


def test_a_settlement_splits_over_three_orders_verified_one_by_one(orders, staff):
    one, two, three = orders
    settlement = record(staff["finance"], batch(orders, ["950.00", "300.00", "200.00"]), vouchers=2)
    assert settlement.method == PaymentMethod.PLATFORM and settlement.amount == Decimal("1450.00")
    lines = services.lines_of(settlement.id)
    assert [(p.order_id, p.amount, p.status) for p in lines] == [
        (one.id, Decimal("950.00"), PaymentStatus.RECORDED), (two.id, Decimal("300.00"), PaymentStatus.RECORDED),
        (three.id, Decimal("200.00"), PaymentStatus.RECORDED)]
    assert {(p.reference, p.payer, p.method) for p in lines} == {("TM-2026-12-01", "Tmall", PaymentMethod.PLATFORM)}
    # The vouchers are stored once, on the batch, and every line shows them.
    assert db.session.scalar(select(func.count()).select_from(Voucher)) == 2
    assert all(len(p.all_vouchers) == 2 and not p.vouchers for p in lines)
    for payment in lines:
        decide_collection(payment, staff["finance2"])
    for order in orders:
        db.session.refresh(order)
    assert [o.paid_amount for o in orders] == [Decimal("950.00"), Decimal("300.00"), Decimal("200.00")]
    assert one.status == OrderStatus.PENDING_OUTBOUND and open_task(one, "op_outbound")
    assert two.status == three.status == OrderStatus.PENDING_COLLECTION
    assert [order_paid_deliveries(o) for o in orders] == [1, 0, 0]


def test_verify_all_verifies_every_waiting_line_through_its_task(orders, staff):
    one, two, three = orders
    settlement = record(staff["finance"], batch(orders, ["100.00", "950.00", "50.00"]))
    with pytest.raises(PermissionDenied):
        services.verify_all(settlement.id, actor=staff["finance"])  # the recorder
    db.session.rollback()
    verified = services.verify_all(settlement.id, actor=staff["finance2"])
    db.session.commit()
    assert len(verified) == 3
    assert {p.status for p in services.lines_of(settlement.id)} == {PaymentStatus.VERIFIED}
    for order in orders:
        db.session.refresh(order)
    assert two.paid_amount == two.total and two.status == OrderStatus.PENDING_OUTBOUND
    assert [order_paid_deliveries(o) for o in orders] == [0, 1, 0]
    # The diagram ran: each line's verification is finished, with the verifier in its history.
    for payment in services.lines_of(settlement.id):
        (instance,) = runtime.instances_of("collection", payment.id)
        assert instance.status.value == "completed" and payment.decided_by_id == staff["finance2"].id
    with pytest.raises(InvalidTransition):
        services.verify_all(settlement.id, actor=staff["finance2"])  # nothing left
    db.session.rollback()


def test_verify_all_rolls_back_when_one_line_fails(orders, staff, org):
    one, two, three = orders
    settlement = record(staff["finance"], batch(orders, ["100.00", "200.00", "300.00"]))
    line_two = next(p for p in services.lines_of(settlement.id) if p.order_id == two.id)
    # Order two is cancelled meanwhile: its line can no longer be verified.
    order_services.cancel_order(two.id, {"reason": "The customer changed their mind"}, actor=org.a_rep1)
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        services.verify_all(settlement.id, actor=staff["finance2"])
    assert two.number in str(refused.value.message) and "200.00" in str(refused.value.message)
    db.session.rollback()
    assert {p.status for p in services.lines_of(settlement.id)} == {PaymentStatus.RECORDED}
    db.session.refresh(one)
    assert one.paid_amount == 0
    # The line can still be rejected on its own; then verify all verifies the others.
    decide_collection(line_two, staff["finance2"], "reject", "Paid outside the settlement")
    services.verify_all(settlement.id, actor=staff["finance2"])
    db.session.commit()
    assert {p.order_id: p.status for p in services.lines_of(settlement.id)} == {
        one.id: PaymentStatus.VERIFIED, two.id: PaymentStatus.REJECTED, three.id: PaymentStatus.VERIFIED}


def test_every_refusal_at_once_and_nothing_written(orders, b_order, hq_finance, staff):
    one, two, three = orders
    record_collection(three, staff["finance"], "900.00")  # waits for verification: ¥50.00 stays open
    before = counts()
    data = batch([one, two, b_order, one, three], ["950.00", "960.00", "10.00", "1.00", "60.00"])
    data["amount"] = "2000.00"
    with pytest.raises(ValidationFailed) as refused:
        services.record_settlement(data, [], actor=hq_finance)
    errors = refused.value.errors
    assert set(errors) == {"amount", "lines.1.amount", "lines.2.order_id", "lines.3.order_id", "lines.4.amount",
                           "vouchers"}, errors
    assert "¥1,981.00" in str(errors["amount"][0]) and "¥19.00" in str(errors["amount"][0])
    assert "950.00" in str(errors["lines.1.amount"][0])
    assert "line 1" in str(errors["lines.3.order_id"][0])
    assert "50.00" in str(errors["lines.4.amount"][0])
    db.session.rollback()
    assert counts() == before


def test_refusals_of_the_input_and_of_orders_not_waiting(orders, staff, org, b_order):
    with pytest.raises(ValidationFailed) as refused:
        services.record_settlement({"payer": "", "reference": "", "amount": "x", "lines": "[{]"}, [],
                                   actor=staff["finance"])
    assert {"payer", "reference", "amount", "lines", "vouchers"} <= set(refused.value.errors)
    db.session.rollback()
    # Store A's finance does not see store B's order; a cancelled order is not waiting for money.
    with pytest.raises(ValidationFailed) as refused:
        record(staff["finance"], batch([orders[0], b_order], ["10.00", "10.00"]))
    assert set(refused.value.errors) == {"lines.1.order_id"}
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        record(org.a_rep1, batch(orders[:1], ["10.00"]))  # records collections, but no finance.view
    db.session.rollback()


def test_the_reference_is_unique_per_store(orders, staff):
    record(staff["finance"], batch(orders[:1], ["10.00"]))
    with pytest.raises(ValidationFailed) as refused:
        record(staff["finance"], batch(orders[1:2], ["10.00"]))
    assert set(refused.value.errors) == {"reference"}
    db.session.rollback()


def test_vouchers_are_served_for_each_line_and_refused_outside_scope(orders, staff, org, b_order):
    settlement = record(staff["finance"], batch(orders, ["10.00", "20.00", "30.00"]))
    (voucher,) = settlement.vouchers
    for payment in services.lines_of(settlement.id):
        item, path = payment_services.voucher_file(payment.id, voucher.id, staff["finance2"])
        assert item.id == voucher.id and path.exists()
        # The order's salesperson sees their collection, and so its voucher.
        assert payment_services.voucher_file(payment.id, voucher.id, org.a_rep1)[0].id == voucher.id
    item, _path = services.voucher_file(settlement.id, voucher.id, staff["finance2"])
    assert item.id == voucher.id
    line = services.lines_of(settlement.id)[0]
    for outsider in (org.b_rep, org.b_manager):
        with pytest.raises(NotFound):
            payment_services.voucher_file(line.id, voucher.id, outsider)
        with pytest.raises(NotFound):
            services.voucher_file(settlement.id, voucher.id, outsider)
    with pytest.raises(NotFound):  # a salesperson of the store: no finance.view, no settlement
        services.get_settlement(settlement.id, org.a_rep1)
