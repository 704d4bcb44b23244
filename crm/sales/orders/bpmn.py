"""The operators of processes/order_pipeline.bpmn: each writes what the step decided onto the order (the
status column is the projection of the pipeline) inside the step's transaction. Form values of the task
just completed are read from the step's task data (`ctx.data`)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.sales.orders import services as order_services
from crm.sales.orders.models import OrderStatus
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract
from crm.workflow.registry import StepsBefore

# What sales relies on in the pipeline's diagram, whatever a process owner changes (deployment refuses a
# diagram that breaks it): `cancel_order` sends `order_cancelled`; the order's statuses are its enum's;
# an order is shown as pending delivery only after the warehouse confirmed the outbound on its form and
# `sales.record_outbound` wrote it.
registry.register_contract(ProcessContract(
    process=order_services.PROCESS_KEY,
    catches={"order_cancelled": _l("sales, when an order is cancelled before outbound")},
    statuses=tuple(s.value for s in OrderStatus),
    object_label=_l("an order"),
    before=(StepsBefore("pending_delivery", ("form:order_pipeline.outbound.schema.json", "operator:sales.record_outbound"),
                        _l("the warehouse confirms what leaves it before the order is shipped")),),
))


def _order_id(ctx: OperatorContext) -> int:
    if ctx.object_type != order_services.OBJECT_TYPE or ctx.object_id is None:
        raise ValueError(f"{ctx.task_bpmn_id} needs an instance of an order")
    return ctx.object_id


@registry.operator("sales.set_order_status")
def set_order_status(ctx: OperatorContext, status: str) -> dict[str, Any]:
    return {"status": order_services.apply_status(_order_id(ctx), status).status.value}


@registry.operator("sales.issue_delivery_note")
def issue_delivery_note(ctx: OperatorContext, status: str) -> dict[str, Any]:
    order = order_services.apply_delivery_note(_order_id(ctx), status)
    return {"delivery_note_no": order.delivery_note_no, "status": order.status.value}


@registry.operator("sales.order_signed")
def order_signed(ctx: OperatorContext) -> dict[str, Any]:
    order = order_services.apply_signature(_order_id(ctx), ctx.data)
    return {"signed_at": order.signed_at}


@registry.operator("sales.record_outbound")
def record_outbound(ctx: OperatorContext) -> dict[str, Any]:
    order = order_services.apply_outbound(_order_id(ctx), ctx.data)
    return {"picked": [ln.picked_quantity for ln in order.lines], "status": order.status.value}


@registry.operator("sales.record_shipment")
def record_shipment(ctx: OperatorContext) -> dict[str, Any]:
    order = order_services.apply_shipment(_order_id(ctx), ctx.data)
    return {"carrier": order.carrier, "tracking_no": order.tracking_no, "status": order.status.value}


@registry.operator("sales.record_receipt")
def record_receipt(ctx: OperatorContext, auto: bool = False) -> dict[str, Any]:
    order = order_services.apply_receipt(_order_id(ctx), ctx.data, auto=bool(auto))
    return {"received_at": order.received_at, "auto": order.receipt_auto, "rating": order.rating}


@registry.operator("sales.money_held")
def money_held(ctx: OperatorContext) -> dict[str, Any]:
    """What a cancelled order holds of the customer's money (verified collections less refunds): the
    pipeline refunds it before the order is cancelled."""
    order = order_services.order_of_step(_order_id(ctx))
    held = order.paid_amount - order.refunded_amount
    return {"refundable": held > 0, "amount": f"{held:.2f}"}


@registry.simulation("sales.money_held")
def money_held_simulated(ctx: OperatorContext) -> dict[str, Any]:
    """In a dry run nothing was collected: the cancellation goes straight to cancelled (the dry run also
    forces the refund path at the gateway that reads this)."""
    return {"refundable": False, "amount": "0.00"}


@registry.simulation("sales.issue_delivery_note")
def issue_delivery_note_simulated(ctx: OperatorContext, status: str) -> dict[str, Any]:
    return {"delivery_note_no": "DRY-RUN", "status": status}


@registry.operator("sales.order_cancelled")
def order_cancelled(ctx: OperatorContext) -> dict[str, Any]:
    order = order_services.apply_cancelled(_order_id(ctx), ctx.data)
    return {"status": order.status.value}
