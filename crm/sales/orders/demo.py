"""Demo orders for `flask crm seed-demo`: orders of the Tmall store's salespeople at every step of the
order pipeline (so every back-office demo user finds work in their inbox), made the way people make
them: an approved quote becomes an order, then the pipeline's tasks are completed by their roles.
The processes are deployed first (the same files `make run` deploys; an unchanged file is no new
version)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.customers.models import Customer
from crm.extensions import db
from crm.sales.catalog.models import Product
from crm.sales.orders import services as order_services
from crm.sales.quotes import services as quote_services
from crm.workflow import runtime
from crm.workflow.deploy import deploy_directory
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus

# (payment mode, terminal, how far it goes)
PLAN = [("prepay", "pc", "contracting"), ("prepay", "mobile", "pending_collection"), ("arrears", "app", "pending_outbound"),
        ("prepay", "mini_program", "pending_delivery"), ("arrears", "pc", "pending_receipt"),
        ("arrears", "mobile", "pending_collection_after"), ("prepay", "pc", "completed"), ("prepay", "app", "cancelled")]
STEPS = ["contracting", "pending_collection", "pending_outbound", "pending_delivery", "pending_receipt",
         "pending_collection_after", "completed"]


def _task(order_id: int, bpmn_id: str) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(
        HumanTask.object_type == "order", HumanTask.object_id == order_id, HumanTask.bpmn_id == bpmn_id,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))).one()


Pay = Callable[[Any, dict[str, Any]], None]  # (order, people): the money comes in (the finance context's)


def _drive(order: Any, mode: str, target: str, people: dict[str, Any], pay: Pay) -> None:
    if target == "cancelled":
        order_services.cancel_order(order.id, {"reason": "客户改为下月采购"}, actor=people["rep"])
        return
    stop = STEPS.index(target)
    if stop >= 1:
        runtime.complete_task(_task(order.id, "op_sign").id, {"contract_no": f"HT-{order.id:05d}"},
                              actor_id=people["rep"].id)
    if mode == "prepay" and stop >= 2:
        pay(order, people)
    if stop >= 3:
        runtime.complete_task(_task(order.id, "op_outbound").id, {"picked": [
            {"quantity": ln.quantity} for ln in order.lines]}, actor_id=people["warehouse"].id)
    if stop >= 4:
        runtime.complete_task(_task(order.id, "op_delivery").id, {"carrier": "顺丰速运",
                                                                  "tracking_no": f"SF{order.id:010d}"},
                              actor_id=people["logistics"].id)
    if stop >= 5:
        runtime.complete_task(_task(order.id, "op_receipt").id, {"rating": 5, "rating_comment": "托盘质量很好"},
                              actor_id=people["rep"].id)
    if mode == "arrears" and stop >= 6:
        pay(order, people)


def seed(users: dict[str, Any], pay: Pay) -> None:
    deploy_directory()
    people = {"rep": users["13800000103"], "finance": users["13800000105"], "warehouse": users["13800000106"],
              "logistics": users["13800000109"]}
    rep = people["rep"]
    customers = list(db.session.scalars(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id)
                                        .limit(len(PLAN))))
    products = list(db.session.scalars(select(Product).where(Product.on_shelf).order_by(Product.id)))
    for i, (mode, terminal, target) in enumerate(PLAN):
        if not customers or not products:
            return
        customer = customers[i % len(customers)]
        product = products[i % len(products)]
        quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
            {"product_id": product.id, "quantity": 100 + 50 * i,
             "unit_price": str((product.list_price * Decimal("0.95")).quantize(Decimal("0.01")))}]}, actor=rep)
        quote_services.set_quote_status(quote.id, "approved")
        order = order_services.create_from_quote(quote.id, {
            "payment_mode": mode, "terminal": terminal, "ship_phone": customer.mobile or "13900000000",
            "ship_address": customer.address or "浙江省宁波市北仑区港城大道 88 号"}, actor=rep)
        _drive(order, mode, target, people, pay)
