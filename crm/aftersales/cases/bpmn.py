"""What processes/after_sales.bpmn calls: its service-task operators, and the case registered as an
approvable object (the approval queue shows the order, the customer, the type, the amount, the goods, the
reason and the requester; chain conditions may use the amount and the type, e.g. "the store manager above
¥5,000"). Form values of the task just completed are read from the step's task data (`ctx.data`)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.aftersales.cases import services
from crm.aftersales.cases import steps
from crm.aftersales.cases.models import OBJECT_TYPE
from crm.aftersales.cases.models import TYPE_LABELS
from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.approvals.registry import Approvable
from crm.approvals.registry import Field
from crm.approvals.registry import register_approvable
from crm.extensions import db
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract
from crm.workflow.registry import StepsBefore

# What after-sales relies on in the diagram, whatever a process owner changes: the case's statuses are its
# enum's, and a case is refunded only after the approval's operator ran (which fixes a refund only's amount).
registry.register_contract(ProcessContract(
    process=services.PROCESS_KEY,
    statuses=tuple(s.value for s in CaseStatus),
    object_label=_l("an after-sales case"),
    before=(StepsBefore("awaiting_refund", ("operator:aftersales.case_approved",),
                        _l("a case is approved before finance refunds it")),),
))


def _load(object_id: int, actor: Any) -> AfterSalesCase | None:
    case = db.session.get(AfterSalesCase, object_id)
    if case is None:
        return None
    if actor is not None and not actor.is_super_admin:
        from crm.auth.scopes import scope_context

        if case.store_id not in scope_context(actor).selectable_stores():
            return None
    return case


def _summary(case: AfterSalesCase) -> dict[str, Any]:
    return {"title": _l("After-sales %(type)s: ¥%(amount)s", type=TYPE_LABELS[case.type], amount=f"{case.amount:,.2f}"),
            "lines": services.summary_lines(case), "url": services.url(case), "type_label": _l("After-sales")}


register_approvable(Approvable(
    object_type=OBJECT_TYPE, label=_l("After-sales case"), load=_load,
    values=lambda c: {"amount": c.amount, "type": c.type.value},
    summary=_summary,
    fields=(Field("amount", _l("Amount"), "number"),
            Field("type", _l("Type of case"), "string",
                  choices=tuple((t.value, label) for t, label in TYPE_LABELS.items()))),
))


def _own(ctx: OperatorContext, case_id: Any) -> int:
    """The case, if it is this instance's (its object, its instance once recorded): a diagram names it by
    id, and a process owner's diagram must not decide another order's case."""
    case = db.session.get(AfterSalesCase, int(case_id))
    if (case is None or ctx.object_type != OBJECT_TYPE or case.id != ctx.object_id
            or case.instance_id not in (None, ctx.instance_id)):
        raise ValueError(f"after-sales case {case_id} does not belong to this process instance")
    return case.id


def _form(ctx: OperatorContext, key: str) -> dict[str, Any]:
    value = ctx.data.get(key)
    return value if isinstance(value, dict) else {}


@registry.operator("aftersales.set_case_status")
def set_case_status(ctx: OperatorContext, case_id: int, status: str) -> dict[str, Any]:
    case = steps.apply_status(_own(ctx, case_id), status)
    amount = case.refund_amount if case.refund_amount is not None else case.amount
    return {"status": case.status.value, "refund_amount": f"{amount:,.2f}"}


@registry.operator("aftersales.case_approved")
def case_approved(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_approved(_own(ctx, case_id), ctx.actor())
    return {"status": case.status.value}


@registry.operator("aftersales.case_rejected")
def case_rejected(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_rejected(_own(ctx, case_id), ctx.data.get("approval"))
    return {"status": case.status.value, "reason": case.decision_note}


@registry.operator("aftersales.return_shipped")
def return_shipped(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_return_shipped(_own(ctx, case_id), _form(ctx, "return_shipment"), ctx.actor())
    return {"carrier": case.return_carrier, "tracking_no": case.return_tracking_no}


@registry.operator("aftersales.remind_return")
def remind_return(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    steps.remind_return(_own(ctx, case_id))
    return {"reminded": True}


@registry.operator("aftersales.return_expired")
def return_expired(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    return {"status": steps.apply_return_expired(_own(ctx, case_id)).status.value}


@registry.operator("aftersales.inspected")
def inspected(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_inspection(_own(ctx, case_id), _form(ctx, "inspection"), ctx.actor())
    return {"accepted": [ln.accepted_quantity for ln in case.lines],
            "refund_amount": f"{case.refund_amount:,.2f}" if case.refund_amount is not None else None}


@registry.simulation("aftersales.inspected")
def inspected_simulated(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    """A dry run's inspection accepts everything: the refund is the amount asked for."""
    return {"accepted": [], "refund_amount": str(ctx.data.get("amount") or "0.00")}


@registry.operator("aftersales.refunded")
def refunded(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_refund(_own(ctx, case_id), _form(ctx, "refund"), ctx.actor())
    return {"refund_id": case.refund_payment_id, "refunded": f"{case.refunded_amount:.2f}"}


@registry.operator("aftersales.replacement_shipped")
def replacement_shipped(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_replacement_shipped(_own(ctx, case_id), _form(ctx, "replacement"), ctx.actor())
    return {"carrier": case.replacement_carrier, "tracking_no": case.replacement_tracking_no}


@registry.operator("aftersales.received")
def received(ctx: OperatorContext, case_id: int, auto: bool = False) -> dict[str, Any]:
    case = steps.apply_receipt(_own(ctx, case_id), bool(auto), ctx.actor())
    return {"auto": case.receipt_auto}


@registry.operator("aftersales.invoice_reissued")
def invoice_reissued(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    case = steps.apply_invoice(_own(ctx, case_id), ctx.actor())
    return {"note": case.invoice_note}


@registry.operator("aftersales.completed")
def completed(ctx: OperatorContext, case_id: int) -> dict[str, Any]:
    return {"status": steps.apply_completed(_own(ctx, case_id)).status.value}
