"""What processes/high_seas_claim.bpmn calls: its service-task operators, and the customer registered as
an approvable object (the approval queue shows the customer, the applicant and the claim's reason)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.approvals.registry import Approvable
from crm.approvals.registry import Field
from crm.approvals.registry import register_approvable
from crm.customers.models import LEVEL_LABELS
from crm.customers.models import Customer
from crm.extensions import db
from crm.highseas import services
from crm.highseas.models import OPEN_CLAIM
from crm.highseas.models import HighSeasClaim
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract

# A claim is kept when the salesperson records a return visit: the customers context sends
# `follow_up_recorded`, which the claim's diagram must keep catching (deployment refuses one that does not).
registry.register_contract(ProcessContract(
    process=services.CLAIM_PROCESS,
    catches={"follow_up_recorded": _l("customers, when a follow-up is recorded on the customer")}))


def _load(object_id: int, actor: Any) -> Customer | None:
    customer = db.session.get(Customer, object_id)
    if customer is None:
        return None
    if actor is not None and not actor.is_super_admin:
        from crm.auth.scopes import scope_context

        if customer.store_id not in scope_context(actor).selectable_stores():
            return None
    return customer


def _claim_of(customer: Customer) -> HighSeasClaim | None:
    return db.session.scalar(select(HighSeasClaim).where(HighSeasClaim.customer_id == customer.id,
                                                         HighSeasClaim.status.in_(OPEN_CLAIM)))


def _summary(customer: Customer) -> dict[str, Any]:
    claim = _claim_of(customer)
    lines: list[list[Any]] = [[_l("Customer"), customer.name], [_l("Level"), LEVEL_LABELS[customer.level] if customer.level else "—"]]
    if claim is not None:
        lines += [[_l("Applicant"), claim.applicant.name], [_l("Reason"), claim.reason]]
    return {"title": _l("High-seas claim: %(name)s", name=customer.name), "lines": lines,
            "url": f"/customers/{customer.id}", "type_label": _l("High-seas claim")}


register_approvable(Approvable(
    object_type="customer", label=_l("Customer"), load=_load,
    values=lambda c: {"level": c.level.value if c.level else "", "won": "yes" if c.won else "no"},
    summary=_summary,
    fields=(Field("level", _l("Customer level"), "string"), Field("won", _l("Won customer"), "string")),
))


def _own(ctx: OperatorContext, claim_id: Any) -> int:
    """The claim, if it is this instance's (its customer, its instance once recorded): a diagram names it
    by id, and a process owner's diagram must not decide another customer's claim."""
    claim = db.session.get(HighSeasClaim, int(claim_id))
    if (claim is None or ctx.object_type != "customer" or claim.customer_id != ctx.object_id
            or claim.instance_id not in (None, ctx.instance_id)):
        raise ValueError(f"claim {claim_id} does not belong to this process instance")
    return claim.id


@registry.operator("highseas.claim_approved")
def claim_approved(ctx: OperatorContext, claim_id: int) -> dict[str, Any]:
    return services.claim_approved(_own(ctx, claim_id), ctx.actor())


@registry.operator("highseas.claim_rejected")
def claim_rejected(ctx: OperatorContext, claim_id: int) -> dict[str, Any]:
    return services.claim_rejected(_own(ctx, claim_id))


@registry.operator("highseas.claim_visited")
def claim_visited(ctx: OperatorContext, claim_id: int) -> dict[str, Any]:
    return services.claim_visited(_own(ctx, claim_id))


@registry.operator("highseas.claim_reminder")
def claim_reminder(ctx: OperatorContext, claim_id: int, hours_before: int) -> dict[str, Any]:
    return services.claim_reminder(_own(ctx, claim_id), hours_before)


@registry.operator("highseas.claim_expired")
def claim_expired(ctx: OperatorContext, claim_id: int) -> dict[str, Any]:
    return services.claim_expired(_own(ctx, claim_id))
