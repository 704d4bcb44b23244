"""Make-up payments through `make_up.bpmn`: the approval chain, what the order owes, the collections of
make-ups before and after the order was paid, rejection, withdrawal, the refusals, plans, invoices and the
receivables."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.approvals.models import ApprovalRequest
from crm.approvals.models import RequestStatus
from crm.core.clock import local_today
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.invoices import services as invoice_services
from crm.finance.makeups import services
from crm.finance.makeups.models import MakeUpStatus
from crm.finance.payments import services as payment_services
from crm.finance.plans.models import Instalment
from crm.notify.models import Notification
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime
from crm.workflow.models import ProcessEvent
from crm.workflow.models import TaskStatus
from tests.conftest import collect
from tests.conftest import record_collection
from tests.finance.conftest import signed_order
from tests.finance.makeups.conftest import approval_task
from tests.finance.makeups.conftest import decide
from tests.finance.makeups.conftest import request
from tests.finance.plans.conftest import save
from tests.sales.conftest import approved_quote
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote


def _order_paid_deliveries(order) -> int:
    instance_ids = [i.id for i in runtime.instances_of("order", order.id)]
    return db.session.scalar(select(func.count()).select_from(ProcessEvent).where(
        ProcessEvent.instance_id.in_(instance_ids), ProcessEvent.kind == "message_received")) or 0


def _notes(user, kind):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)))


def test_an_approved_make_up_raises_what_is_due_and_order_paid_waits_for_it(waiting, staff, org, make_up_chain):
    order = waiting
    make_up = request(order, org.a_rep1)
    assert make_up.status == MakeUpStatus.REQUESTED
    db.session.refresh(order)
    assert order.make_up_amount == 0 and payment_services.amount_due(order) == Decimal("950.00")
    task = approval_task(make_up)
    assert task.assignee_id == org.a_sup.id  # the requester's supervisor, in the approval queue
    decide(make_up, org.a_sup)
    db.session.refresh(order)
    assert make_up.status == MakeUpStatus.APPROVED and make_up.decided_at is not None
    assert order.make_up_amount == Decimal("120.00") and payment_services.amount_due(order) == Decimal("1070.00")
    assert _notes(org.a_rep1, "make_up_approved")
    # Collected like the rest: the order's total alone does not send order_paid any more.
    collect(order, staff["finance"], staff["finance2"], "950.00")
    db.session.refresh(order)
    assert order.status == OrderStatus.PENDING_COLLECTION and _order_paid_deliveries(order) == 0
    with pytest.raises(ValidationFailed) as over:
        record_collection(order, staff["finance"], "120.01")
    assert "amount" in over.value.errors
    collect(order, staff["finance"], staff["finance2"], "120.00")
    db.session.refresh(order)
    assert order.paid_amount == Decimal("1070.00") and payment_services.still_due(order) == 0
    assert order.status == OrderStatus.PENDING_OUTBOUND and _order_paid_deliveries(order) == 1


def test_without_a_chain_a_make_up_is_approved_at_once(waiting, org):
    make_up = request(waiting, org.a_rep1, "35.50")
    assert make_up.status == MakeUpStatus.APPROVED
    db.session.refresh(waiting)
    assert waiting.make_up_amount == Decimal("35.50")


def test_a_make_up_after_the_order_was_paid_is_collected_without_any_message(waiting, staff, org):
    order = waiting
    collect(order, staff["finance"], staff["finance2"])  # the whole 950.00: order_paid, the order moves on
    db.session.refresh(order)
    assert order.status == OrderStatus.PENDING_OUTBOUND and _order_paid_deliveries(order) == 1
    with pytest.raises(InvalidTransition):
        record_collection(order, staff["finance"], "1.00")  # nothing is due
    request(order, org.a_rep1, "80.00")
    db.session.refresh(order)
    assert payment_services.still_due(order) == Decimal("80.00")
    collect(order, staff["finance"], staff["finance2"], "80.00")
    db.session.refresh(order)
    assert order.paid_amount == Decimal("1030.00") and order.status == OrderStatus.PENDING_OUTBOUND
    assert _order_paid_deliveries(order) == 1  # nothing more sent


def test_a_make_up_of_a_completed_arrears_order_is_collected(org, products, customers, staff):
    order = signed_order(org, products, customers, mode="arrears")
    runtime.complete_task(open_task(order, "op_outbound").id, {"picked": [{"quantity": 10}]},
                          actor_id=staff["warehouse"].id)
    runtime.complete_task(open_task(order, "op_delivery").id, {"carrier": "SF", "tracking_no": "1"},
                          actor_id=staff["logistics"].id)
    runtime.complete_task(open_task(order, "op_receipt").id, {"rating": 5}, actor_id=org.a_rep1.id)
    db.session.commit()
    request(order, org.a_rep1, "60.00")  # approved at once (no chain): arrears, not paid yet
    collect(order, staff["finance"], staff["finance2"], "1010.00")
    db.session.refresh(order)
    assert order.status == OrderStatus.COMPLETED and _order_paid_deliveries(order) == 1
    request(order, org.a_rep1, "25.00")  # after completion
    collect(order, staff["finance"], staff["finance2"], "25.00")
    db.session.refresh(order)
    assert order.paid_amount == Decimal("1035.00") and _order_paid_deliveries(order) == 1


def test_a_rejection_tells_the_requester_why(waiting, org, make_up_chain):
    make_up = request(waiting, org.a_rep1)
    decide(make_up, org.a_sup, approved=False, comment="Freight is included in the contract")
    db.session.refresh(waiting)
    assert make_up.status == MakeUpStatus.REJECTED and make_up.decision_note == "Freight is included in the contract"
    assert waiting.make_up_amount == 0
    [note] = _notes(org.a_rep1, "make_up_rejected")
    assert note.url == f"/finance/make-ups/{make_up.id}"


def test_the_requester_withdraws_a_make_up_waiting_for_approval(waiting, org, make_up_chain):
    make_up = request(waiting, org.a_rep1)
    task = approval_task(make_up)
    with pytest.raises(PermissionDenied):
        services.withdraw_make_up(make_up.id, actor=org.a_sup)
    services.withdraw_make_up(make_up.id, actor=org.a_rep1)
    db.session.commit()
    db.session.refresh(make_up)
    db.session.refresh(task)
    assert make_up.status == MakeUpStatus.WITHDRAWN and task.status == TaskStatus.CANCELLED
    assert db.session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.instance_id == make_up.instance_id)).one().status == RequestStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        services.withdraw_make_up(make_up.id, actor=org.a_rep1)
    db.session.refresh(waiting)
    assert waiting.make_up_amount == 0


def test_refusals(waiting, org, products, customers):
    with pytest.raises(NotFound):
        request(waiting, org.b_rep)  # another store's order
    with pytest.raises(PermissionDenied):
        services.request_make_up(waiting.id, {"amount": "1", "kind": "other", "reason": "x"},
                                 actor=_without_permission(org))
    with pytest.raises(ValidationFailed) as bad:
        services.request_make_up(waiting.id, {"amount": "0", "kind": "tip", "reason": " ",
                                              "due_on": (local_today() - timedelta(days=1)).isoformat()},
                                 actor=org.a_rep1)
    assert set(bad.value.errors) == {"amount", "kind", "reason", "due_on"}
    with pytest.raises(ValidationFailed) as big:
        services.request_make_up(waiting.id, {"amount": "10000000.01", "kind": "other", "reason": "x" * 501},
                                 actor=org.a_rep1)
    assert set(big.value.errors) == {"amount", "reason"}
    unsigned = order_from_quote(org, approved_quote(org, products, customers))
    with pytest.raises(InvalidTransition):
        request(unsigned, org.a_rep1)
    order_services.cancel_order(waiting.id, {"reason": "customer left"}, actor=org.a_rep1)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        request(waiting, org.a_rep1)


def _without_permission(org):
    from crm.auth.models import Role
    from tests.factories import UserFactory

    role = Role(key="viewer", name="Viewer", data_scope=org.roles["salesperson"].data_scope,
                permissions=["order.view"])
    db.session.add(role)
    user = UserFactory(name="Viewer", unit=org.units["a_sales"], roles=[role])
    db.session.commit()
    return user


def test_a_plan_gets_the_make_up_as_its_next_instalment(waiting, staff, org):
    order = waiting
    save(order, org.a_rep1, ("500.00", "2030-01-10"), ("450.00", "2030-02-10"), method="alipay")
    make_up = request(order, org.a_rep1, "70.00", due_on="2030-03-01")
    assert make_up.status == MakeUpStatus.APPROVED
    rows = list(db.session.scalars(select(Instalment).where(Instalment.order_id == order.id).order_by(Instalment.number)))
    assert [(i.number, i.amount, i.due_on.isoformat()) for i in rows][-1] == (3, Decimal("70.00"), "2030-03-01")
    assert rows[-1].method.value == "alipay" and rows[-1].remind_days >= 0
    assert sum(i.amount for i in rows) == payment_services.amount_due(order)
    collect(order, staff["finance"], staff["finance2"], "1020.00")
    db.session.refresh(rows[-1])
    assert rows[-1].collected == Decimal("70.00")


def test_invoiceable_grows_with_an_approved_make_up(waiting, org):
    before = invoice_services.invoiceable(invoice_services.target_of_order(waiting))
    request(waiting, org.a_rep1, "50.00")
    db.session.refresh(waiting)
    assert invoice_services.invoiceable(invoice_services.target_of_order(waiting)) == before + Decimal("50.00")


def test_receivables_show_an_order_whose_total_is_paid_but_make_up_open(waiting, staff, org):
    from crm.finance.ledger import receivables

    collect(waiting, staff["finance"], staff["finance2"])
    assert waiting.id not in _owing(receivables, staff["finance"])
    request(waiting, org.a_rep1, "40.00")
    assert _owing(receivables, staff["finance"]).get(waiting.id) == Decimal("40.00")


def _owing(receivables, actor):
    page = receivables.receivables_page(actor, receivables.ReceivableFilters())
    return {r.order.id: r.total - r.collected for r in page.items}



def test_the_chain_reads_the_amount_and_the_kind_and_the_queue_shows_the_make_up(waiting, org):
    from crm.approvals import chains as approval_chains
    approval_chains.create_chain({"key": "make_up", "name": "Make-up", "steps": [
        {"title": "Supervisor", "rule": "supervisor", "mode": "single"},
        {"title": "Store manager from 5000", "rule": "store_role", "role": "store_manager", "mode": "any",
         "condition": {"field": "amount", "op": "ge", "value": "5000"}},
        {"title": "Supervisor again for other", "rule": "supervisor", "mode": "single",
         "condition": {"field": "kind", "op": "eq", "value": "other"}}]}, actor=org.hq_admin)
    db.session.commit()
    small = request(waiting, org.a_rep1, "100.00")
    big = request(waiting, org.a_rep1, "6000.00")

    def applied(make_up):
        req = db.session.scalars(select(ApprovalRequest).where(ApprovalRequest.instance_id == make_up.instance_id)).one()
        return req, [s["title"] for s in req.steps if s["applies"]]

    req, steps = applied(small)
    assert steps == ["Supervisor"]
    assert applied(big)[1] == ["Supervisor", "Store manager from 5000"]
    lines = dict(req.summary["lines"])
    assert lines["Order"] == waiting.number and lines["Amount"] == "¥100.00" and lines["Kind"] == "Freight"
    assert lines["Reason"] == "Freight to the second warehouse" and lines["Requested by"] == org.a_rep1.name
    assert lines["Customer"] == waiting.customer.name and req.summary["url"] == f"/finance/make-ups/{small.id}"


def test_a_diagram_cannot_decide_another_make_up(waiting, org, make_up_chain):
    from crm.finance.makeups import bpmn
    from crm.workflow.registry import OperatorContext

    first = request(waiting, org.a_rep1)
    second = request(waiting, org.a_rep1)
    ctx = OperatorContext(instance_id=first.instance_id, process_key="make_up", object_type="make_up",
                          object_id=first.id, store_id=first.store_id, actor_id=None, task_bpmn_id="mu_approved", data={})
    with pytest.raises(ValueError):
        bpmn.make_up_approved(ctx, second.id)
    other = OperatorContext(instance_id=second.instance_id, process_key="make_up", object_type="order",
                            object_id=second.id, store_id=second.store_id, actor_id=None, task_bpmn_id="mu_approved",
                            data={})
    with pytest.raises(ValueError):
        bpmn.make_up_approved(other, second.id)
    db.session.refresh(second)
    assert second.status == MakeUpStatus.REQUESTED


def test_a_make_up_approved_after_the_order_was_cancelled_is_rejected(waiting, org, make_up_chain):
    make_up = request(waiting, org.a_rep1)
    order_services.cancel_order(waiting.id, {"reason": "customer left"}, actor=org.a_rep1)
    db.session.commit()
    decide(make_up, org.a_sup)
    db.session.refresh(waiting)
    assert make_up.status == MakeUpStatus.REJECTED and waiting.make_up_amount == 0
    assert "cancelled" in make_up.decision_note
