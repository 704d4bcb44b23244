"""The operators of processes/invoice_request.bpmn (the invoice is the instance's object). Each writes in
the step's transaction; the form values of the task just completed are read from `ctx.data` (`issue` and
`invoice_file` of the issue task, `mailing` of the mailing task). Which invoices are mailed is the diagram's gateway."""

from __future__ import annotations

from typing import Any

from crm.finance.invoices import services
from crm.finance.invoices.models import OBJECT_TYPE
from crm.workflow import registry
from crm.workflow.registry import OperatorContext


def _invoice_id(ctx: OperatorContext) -> int:
    if ctx.object_type != OBJECT_TYPE or ctx.object_id is None:
        raise ValueError(f"{ctx.task_bpmn_id} needs an instance of an invoice")
    return ctx.object_id


def _group(ctx: OperatorContext, name: str) -> dict[str, Any]:
    value = ctx.data.get(name)
    return value if isinstance(value, dict) else {}


@registry.operator("finance.invoice_issued")
def invoice_issued(ctx: OperatorContext) -> dict[str, Any]:
    invoice = services.apply_issued(_invoice_id(ctx), _group(ctx, "issue"), ctx.data.get("invoice_file"), ctx.actor(),
                                    instance_id=ctx.instance_id)
    # The mailing task's instructions show where the paper goes.
    return {"status": invoice.status.value, "invoice_no": invoice.invoice_no, "amount": f"{invoice.amount:,.2f}",
            "mailing_address": invoice.mailing_address or ""}


@registry.operator("finance.invoice_rejected")
def invoice_rejected(ctx: OperatorContext) -> dict[str, Any]:
    invoice = services.apply_rejected(_invoice_id(ctx), _group(ctx, "issue"), ctx.actor())
    return {"status": invoice.status.value, "reason": invoice.reject_reason}


@registry.operator("finance.invoice_mailed")
def invoice_mailed(ctx: OperatorContext) -> dict[str, Any]:
    invoice = services.apply_mailed(_invoice_id(ctx), _group(ctx, "mailing"), ctx.actor())
    return {"status": invoice.status.value}
