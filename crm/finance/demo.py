"""Demo money for `flask crm seed-demo`: the demo orders' collections are recorded by their salesperson
with a voucher and verified by the store's finance user through the real `collection_verification`
process; an order waiting for its money gets a first instalment that waits for finance's verification."""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.extensions import db
from crm.finance.payments import services
from crm.finance.payments.models import OBJECT_TYPE
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
    """A deposit of 30 % on each order waiting for its money, left for finance to verify."""
    people = {"rep": users["13800000103"]}
    for order in db.session.scalars(select(Order).where(Order.status == OrderStatus.PENDING_COLLECTION,
                                                        Order.owner_id == people["rep"].id, Order.paid_amount == 0)):
        _record(order, (order.total * Decimal("0.3")).quantize(Decimal("0.01")), people)
