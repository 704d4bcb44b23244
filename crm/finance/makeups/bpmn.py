"""What processes/make_up.bpmn calls: its service-task operators, and the make-up registered as an
approvable object (the approval queue shows the order, the customer, the amount, the kind, the reason and
the requester; chain conditions may use the amount and the kind, e.g. "the store manager above ¥5,000")."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.approvals.registry import Approvable
from crm.approvals.registry import Field
from crm.approvals.registry import register_approvable
from crm.extensions import db
from crm.finance.makeups import services
from crm.finance.makeups.models import KIND_LABELS
from crm.finance.makeups.models import OBJECT_TYPE
from crm.finance.makeups.models import MakeUp
from crm.workflow import registry
from crm.workflow.registry import OperatorContext
from crm.workflow.registry import ProcessContract

# The requester withdraws a make-up waiting for approval with `make_up_withdrawn`: the diagram must keep
# catching it (deployment refuses one that does not).
registry.register_contract(ProcessContract(
    process=services.PROCESS_KEY,
    catches={services.WITHDRAWN_MESSAGE: _l("finance, when the requester withdraws the make-up")}))


def _load(object_id: int, actor: Any) -> MakeUp | None:
    make_up = db.session.get(MakeUp, object_id)
    if make_up is None:
        return None
    if actor is not None and not actor.is_super_admin:
        from crm.auth.scopes import scope_context

        if make_up.store_id not in scope_context(actor).selectable_stores():
            return None
    return make_up


def _summary(make_up: MakeUp) -> dict[str, Any]:
    return {"title": _l("Make-up of ¥%(amount)s: %(kind)s", amount=f"{make_up.amount:,.2f}",
                        kind=KIND_LABELS[make_up.kind]),
            "lines": services.summary_lines(make_up), "url": services.url(make_up),
            "type_label": _l("Make-up payment")}


register_approvable(Approvable(
    object_type=OBJECT_TYPE, label=_l("Make-up payment"), load=_load,
    values=lambda m: {"amount": m.amount, "kind": m.kind.value},
    summary=_summary,
    fields=(Field("amount", _l("Amount"), "number"),
            Field("kind", _l("Kind of make-up"), "string",
                  choices=tuple((k.value, label) for k, label in KIND_LABELS.items()))),
))


def _own(ctx: OperatorContext, make_up_id: Any) -> int:
    """The make-up, if it is this instance's (its object, its instance once recorded): a diagram names it
    by id, and a process owner's diagram must not decide another order's make-up."""
    make_up = db.session.get(MakeUp, int(make_up_id))
    if (make_up is None or ctx.object_type != OBJECT_TYPE or make_up.id != ctx.object_id
            or make_up.instance_id not in (None, ctx.instance_id)):
        raise ValueError(f"make-up {make_up_id} does not belong to this process instance")
    return make_up.id


@registry.operator("finance.make_up_approved")
def make_up_approved(ctx: OperatorContext, make_up_id: int) -> dict[str, Any]:
    make_up = services.apply_approved(_own(ctx, make_up_id), ctx.actor())
    return {"status": make_up.status.value}


@registry.operator("finance.make_up_rejected")
def make_up_rejected(ctx: OperatorContext, make_up_id: int) -> dict[str, Any]:
    make_up = services.apply_rejected(_own(ctx, make_up_id), ctx.data.get("approval"))
    return {"status": make_up.status.value, "reason": make_up.decision_note}


@registry.operator("finance.make_up_withdrawn")
def make_up_withdrawn(ctx: OperatorContext, make_up_id: int) -> dict[str, Any]:
    make_up = services.apply_withdrawn(_own(ctx, make_up_id), ctx.instance_id, ctx.actor())
    return {"status": make_up.status.value}
