"""Demo money for `flask crm seed-demo`: the demo orders' collections are recorded by their salesperson
with a voucher and verified by the store's finance user through the real `collection_verification`
process; an order waiting for its money gets a first instalment that waits for finance's verification, one
of them a receivable plan of two instalments, and a paid order an electronic invoice waiting for finance to
issue it (through the real `invoice_request` process)."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.core.clock import local_today
from crm.extensions import db
from crm.finance.invoices import services as invoices
from crm.finance.payments import services
from crm.finance.payments.models import OBJECT_TYPE
from crm.finance.plans import services as plans
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission

# A 1×1 PNG standing in for a bank slip's photo.
VOUCHER = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")


def _record(order: Any, amount: Decimal, people: dict[str, Any]) -> Any:
    return services.record_collection(order.id, {
        "amount": f"{amount:.2f}", "method": "bank_transfer", "payer": order.ship_name,
        "reference": f"TX{order.id:06d}"}, [("回单.png", io.BytesIO(VOUCHER))],
        actor=people["rep"])


def pay(order: Any, people: dict[str, Any]) -> None:
    """The salesperson records what is due; finance verifies it (the pipeline then moves on)."""
    payment = _record(order, services.still_due(order), people)
    task = db.session.scalars(select(HumanTask).where(
        HumanTask.object_type == OBJECT_TYPE, HumanTask.object_id == payment.id,
        HumanTask.status == TaskStatus.OPEN)).one()
    tasks.complete(task.id, JsonSubmission({"verification": {"decision": "verify"}}), actor=people["finance"])


def seed(users: dict[str, Any]) -> None:
    """A deposit of 30 % on each order waiting for its money, left for finance to verify; the first of
    them gets a plan (the deposit due in three days, the rest in a month); the salesperson's latest paid
    order an electronic invoice request."""
    people = {"rep": users["13800000103"]}
    waiting = list(db.session.scalars(select(Order).where(
        Order.status == OrderStatus.PENDING_COLLECTION, Order.owner_id == people["rep"].id,
        Order.paid_amount == 0).order_by(Order.id)))
    for index, order in enumerate(waiting):
        deposit = (order.total * Decimal("0.3")).quantize(Decimal("0.01"))
        if index == 0:
            today = local_today()
            plans.save_plan(order.id, {"note": "30 % 定金，余款月底前付清", "instalments": [
                {"amount": f"{deposit:.2f}", "due_on": (today + timedelta(days=3)).isoformat(),
                 "method": "bank_transfer", "remind_days": 1},
                {"amount": f"{order.total - deposit:.2f}", "due_on": (today + timedelta(days=30)).isoformat(),
                 "method": "bank_transfer", "remind_days": 3}]}, actor=people["rep"])
        _record(order, deposit, people)
    paid = db.session.scalars(select(Order).where(Order.owner_id == people["rep"].id, Order.paid_amount > 0,
                                                  Order.paid_amount >= Order.total).order_by(Order.id.desc())).first()
    if paid is not None:
        invoices.request_for_order(paid.id, {
            "type": "electronic", "title": paid.customer.name, "taxpayer_no": "91330100MA2H3K4L5P",
            "amount": f"{paid.total:.2f}", "email": "invoice@example.com", "mailing_address": "",
            "note": "请开增值税电子普通发票"}, actor=people["rep"])
