"""The operators of processes/approval.bpmn. They run inside the process step's transaction."""

from __future__ import annotations

from typing import Any

from crm.approvals import services
from crm.approvals.models import ApprovalRequest
from crm.extensions import db
from crm.workflow import registry
from crm.workflow.registry import OperatorContext


def _own(ctx: OperatorContext, request_id: Any) -> int:
    """The request, if it is this instance's: a diagram names it by id, and a process owner's diagram
    must not decide another instance's approval."""
    request = db.session.get(ApprovalRequest, int(request_id))
    if request is None or request.instance_id != ctx.instance_id:
        raise ValueError(f"approval request {request_id} does not belong to this process instance")
    return request.id


@registry.operator("approvals.open_request")
def open_request(ctx: OperatorContext, chain: str, submitter_id: int | None = None) -> dict[str, Any]:
    """Snapshot the chain configured for the object's store (or the company-wide one) and resolve its
    steps. The caller may put the submitter's picks in `approval_picks` ({step number: [user ids]})."""
    picks = ctx.data.get("approval_picks")
    request, steps = services.open_request(
        chain_key=str(chain), submitter_id=submitter_id, instance_id=ctx.instance_id or None,
        object_type=ctx.object_type, object_id=ctx.object_id, store_id=ctx.store_id,
        picks=picks if isinstance(picks, dict) else None,
    )
    return {"request_id": request.id, "steps": [
        {k: s[k] for k in ("index", "title", "mode", "approvers", "auto", "reminder_hours", "escalation_hours")}
        for s in steps
    ]}


@registry.operator("approvals.enter_step")
def enter_step(ctx: OperatorContext, request_id: int, step_index: int) -> dict[str, Any]:
    return services.enter_step(_own(ctx, request_id), step_index)


@registry.operator("approvals.remind")
def remind(ctx: OperatorContext, request_id: int, step_index: int) -> dict[str, Any]:
    return services.remind(_own(ctx, request_id), step_index)


@registry.operator("approvals.escalate")
def escalate(ctx: OperatorContext, request_id: int, step_index: int) -> dict[str, Any]:
    return services.escalate(_own(ctx, request_id), step_index)


@registry.operator("approvals.close_step")
def close_step(ctx: OperatorContext, request_id: int, step_index: int, decisions: list[Any] | None = None,
               auto: bool = False) -> dict[str, Any]:
    return services.close_step(_own(ctx, request_id), step_index, decisions or [], auto=bool(auto),
                               escalated="escalation" in ctx.data, actor_id=ctx.actor_id)


@registry.operator("approvals.close_request")
def close_request(ctx: OperatorContext, request_id: int, step_results: list[Any] | None = None) -> dict[str, Any]:
    return services.close_request(_own(ctx, request_id), step_results or [])
