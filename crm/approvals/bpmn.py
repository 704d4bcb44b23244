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


# Dry runs (crm.workflow.dryrun): the same shapes, nothing opened or decided. One step of one approver
# (the person running the dry run), decided by the form data the dry run generates.
@registry.simulation("approvals.open_request")
def open_request_simulated(ctx: OperatorContext, chain: str, submitter_id: int | None = None) -> dict[str, Any]:
    return {"request_id": 0, "steps": [{"index": 0, "title": str(chain), "mode": "single", "approvers": [ctx.actor_id or 0],
                                        "auto": False, "reminder_hours": None, "escalation_hours": None}]}


@registry.simulation("approvals.escalate")
def escalate_simulated(ctx: OperatorContext, request_id: int, step_index: int) -> dict[str, Any]:
    return {"approvers": [], "auto": True, "reason": "dry run"}


@registry.simulation("approvals.remind")
def remind_simulated(ctx: OperatorContext, request_id: int, step_index: int) -> dict[str, Any]:
    return {"reminded": []}


@registry.simulation("approvals.close_step")
def close_step_simulated(ctx: OperatorContext, request_id: int, step_index: int, decisions: list[Any] | None = None,
                         auto: bool = False) -> dict[str, Any]:
    given = [d for d in decisions or [] if isinstance(d, dict)]
    approved = bool(auto) or all(bool((d.get("decision") or d).get("approved")) for d in given)
    return {"index": step_index, "approved": approved}


@registry.simulation("approvals.close_request")
def close_request_simulated(ctx: OperatorContext, request_id: int, step_results: list[Any] | None = None) -> dict[str, Any]:
    approved = all(r.get("approved") for r in step_results or [] if isinstance(r, dict))
    return {"request_id": 0, "status": "approved" if approved else "rejected", "decisions": []}
