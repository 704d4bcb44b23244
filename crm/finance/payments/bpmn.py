"""The operators of processes/collection_verification.bpmn (the collection is the instance's object: a
diagram cannot name another one) and the refund step of processes/order_pipeline.bpmn. Each writes in
the step's transaction; form values of the task just completed are read from `ctx.data`."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.finance.payments import services
from crm.finance.payments.models import OBJECT_TYPE
from crm.sales.orders.models import OBJECT_TYPE as ORDER
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract

# Finance sends `order_paid` to the order's pipeline when verified collections reach the total: the
# pipeline's diagram must keep catching it (deployment refuses one that does not).
registry.register_contract(ProcessContract(
    process="order_pipeline", catches={"order_paid": _l("finance, when verified collections reach the order's total")}))


def _collection_id(ctx: OperatorContext) -> int:
    if ctx.object_type != OBJECT_TYPE or ctx.object_id is None:
        raise ValueError(f"{ctx.task_bpmn_id} needs an instance of a collection")
    return ctx.object_id


def _decision(ctx: OperatorContext) -> dict[str, Any]:
    value = ctx.data.get("verification")
    return value if isinstance(value, dict) else {}


@registry.operator("finance.collection_verified")
def collection_verified(ctx: OperatorContext) -> dict[str, Any]:
    payment = services.apply_verified(_collection_id(ctx), ctx.actor())
    return {"status": payment.status.value}


@registry.operator("finance.collection_rejected")
def collection_rejected(ctx: OperatorContext) -> dict[str, Any]:
    payment = services.apply_rejected(_collection_id(ctx), _decision(ctx), ctx.actor())
    services.notify_rejected(payment)
    # The recorder's correction form starts from what was recorded (and shows the reason).
    return {"reason": payment.reason, "amount": f"{payment.amount:.2f}", "paid_on": payment.paid_on.isoformat(),
            "method": payment.method.value, "payer": payment.payer or "", "reference": payment.reference or "",
            "note": payment.note or ""}


@registry.operator("finance.collection_resubmitted")
def collection_resubmitted(ctx: OperatorContext) -> dict[str, Any]:
    correction = ctx.data.get("correction")
    payment = services.apply_resubmitted(_collection_id(ctx), correction if isinstance(correction, dict) else {},
                                         ctx.actor())
    return {"status": payment.status.value, "amount": f"{payment.amount:,.2f}"}


@registry.operator("finance.collection_withdrawn")
def collection_withdrawn(ctx: OperatorContext) -> dict[str, Any]:
    return {"status": services.apply_withdrawn(_collection_id(ctx)).status.value}


def _refund(ctx: OperatorContext) -> dict[str, Any]:
    if ctx.object_type != ORDER or ctx.object_id is None:
        raise ValueError(f"{ctx.task_bpmn_id} needs an instance of an order")
    cancellation = ctx.data.get("cancellation")
    reason = cancellation.get("reason") if isinstance(cancellation, dict) else None
    payment = services.apply_refund(ctx.object_id, ctx.data, ctx.actor(), reason=reason)
    return {"refund_id": payment.id if payment else None, "refunded": f"{payment.amount:.2f}" if payment else "0.00"}


# `sales.record_refund` is the name the order pipeline's versions before the finance centre call; they
# still run until an admin migrates them.
registry.operator("finance.record_refund")(_refund)
registry.operator("sales.record_refund")(_refund)
