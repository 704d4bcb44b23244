"""Make-ups (补款). Functions take the acting user, validate everything before writing, flush and never
commit.

- `request_make_up`: the order's salesperson or anyone with `finance.make_up.request` and the order in
  scope asks for an extra amount on a signed order that is not cancelled; it starts `make_up.bpmn`
  (object `make_up`), whose `approval` call activity runs the chain `make_up` (none configured: approved
  at once, in the same transaction).
- `withdraw_make_up`: the requester takes back a make-up still waiting for approval: the message
  `make_up_withdrawn` ends its approval (the diagram's boundary event), and `apply_withdrawn` records it.
- `apply_approved` / `apply_rejected` / `apply_withdrawn`: the process's writes (its operators, inside the
  step: `bpmn.py`). An approved make-up adds to `Order.make_up_amount` under the order's lock
  (`sales.orders.services.lock_order`, like `paid_amount`), so what the order owes
  (`payments.services.amount_due`) rises; if the order has a receivable plan, the make-up becomes its next
  instalment. It is then collected like the rest of the order (`payments.services.accepts_collections`).

Locks, in the order every path takes them: the make-up's process instance (a step, or the withdrawal's
message), the order's pipeline instances, the order row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.approvals.services import rejection_comment
from crm.approvals.services import withdraw_requests
from crm.auth.scopes import get_visible
from crm.core.audit import record_event
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.core.db import locked_row
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.finance.makeups.models import KIND_LABELS
from crm.finance.makeups.models import OBJECT_TYPE
from crm.finance.makeups.models import MakeUp
from crm.finance.makeups.models import MakeUpStatus
from crm.finance.makeups.schemas import MakeUpInputSchema
from crm.finance.plans.allocation import allocate
from crm.finance.plans.models import Instalment
from crm.finance.plans.queries import plan_of
from crm.finance.plans.services import reminder_days
from crm.notify.services import notify
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.workflow import locks
from crm.workflow import runtime

PROCESS_KEY = "make_up"
CHAIN_KEY = "make_up"
WITHDRAWN_MESSAGE = "make_up_withdrawn"
PERMISSION = "finance.make_up.request"
CLOSED_ORDERS = (OrderStatus.CANCELLED, OrderStatus.PENDING_REFUND)


def get_make_up(make_up_id: Any, actor: User) -> MakeUp:
    return get_visible(MakeUp, make_up_id, actor)


def url(make_up: MakeUp) -> str:
    return f"/finance/make-ups/{make_up.id}"


def takes_make_ups(order: Order) -> bool:
    """A make-up is asked of a signed order that is neither cancelled nor waiting for its refund."""
    return order.signed_at is not None and order.status not in CLOSED_ORDERS


def may_request(order: Order, actor: User) -> bool:
    return actor.can(PERMISSION) and takes_make_ups(order)


def request_make_up(order_id: Any, data: dict[str, Any] | Loaded, *, actor: User) -> MakeUp:
    """Ask for an extra amount on an order in the actor's scope (404 outside it): amount, kind, reason and
    an optional due date, then its approval starts."""
    if not actor.can(PERMISSION):
        raise PermissionDenied(_l("You may not request make-up payments."))
    order, _instances = order_services.lock_order(order_id, actor)
    loaded = load_input(MakeUpInputSchema(), data)
    if order.signed_at is None:
        raise InvalidTransition(_l("A make-up can be requested once the order is signed."))
    if order.status in CLOSED_ORDERS:
        raise InvalidTransition(_l("This order was cancelled: it takes no make-up."))
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    values = loaded.values
    make_up = MakeUp(
        store_id=order.store_id, order_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
        amount=values["amount"], kind=values["kind"], reason=values["reason"], due_on=values["due_on"],
        status=MakeUpStatus.REQUESTED, requested_by_id=actor.id, requested_at=utcnow())
    db.session.add(make_up)
    db.session.flush()
    record_event(db.session, order, "make_up_requested", actor_id=actor.id, note=make_up.reason[:300],
                 details={"amount": make_up.amount, "make_up": make_up.id, "kind": make_up.kind.value})
    instance = runtime.start(PROCESS_KEY, object_type=OBJECT_TYPE, object_id=make_up.id, store_id=order.store_id,
                             actor_id=actor.id, data={"approval_chain": CHAIN_KEY, "make_up_id": make_up.id,
                                                      "order_number": order.number,
                                                      "amount": f"{make_up.amount:,.2f}"})
    make_up.instance_id = instance.id
    db.session.flush()
    return make_up


def withdraw_make_up(make_up_id: Any, *, actor: User) -> MakeUp:
    """The requester takes back a make-up still waiting for approval (its approval tasks are cancelled)."""
    make_up = get_make_up(make_up_id, actor)
    instances = locks.lock_instances_of(OBJECT_TYPE, make_up.id)
    make_up = _make_up(make_up.id)
    if make_up.requested_by_id != actor.id:
        raise PermissionDenied(_l("Only the requester may withdraw a make-up."))
    if make_up.status != MakeUpStatus.REQUESTED or not runtime.waits_for(instances, WITHDRAWN_MESSAGE):
        raise InvalidTransition(_l("This make-up was already decided: it can no longer be withdrawn."))
    runtime.send_message(WITHDRAWN_MESSAGE, OBJECT_TYPE, make_up.id, {"by": actor.id}, actor_id=actor.id,
                         store_id=make_up.store_id)
    db.session.refresh(make_up)
    return make_up


# The process's writes (operators, inside the step) -------------------------------------------------------
def _make_up(make_up_id: int) -> MakeUp:
    make_up = locked_row(db.session, MakeUp, make_up_id)
    if make_up is None:
        raise NotFound(_l("The make-up no longer exists."))
    return make_up


def _decided(make_up: MakeUp) -> None:
    if make_up.status != MakeUpStatus.REQUESTED:
        raise InvalidTransition(_l("This make-up was already decided."))


def _tell(make_up: MakeUp, kind: str, title: Any, body: Any = None) -> None:
    """The requester and the order's salesperson."""
    notify({make_up.requested_by_id or 0, make_up.owner_id}, kind, title, body=body, url=url(make_up),
           store_id=make_up.store_id)


def _order_number(make_up: MakeUp) -> str:
    return db.session.scalar(select(Order.number).where(Order.id == make_up.order_id)) or f"#{make_up.order_id}"


def apply_approved(make_up_id: int, actor: User | None) -> MakeUp:
    """The chain said yes: the order owes the make-up too (and its plan gets an instalment for it). An
    order cancelled while the approval ran takes nothing: the make-up is rejected with that reason."""
    make_up = _make_up(make_up_id)
    _decided(make_up)
    order, _instances = order_services.lock_order(make_up.order_id, None)
    now = utcnow()
    make_up.decided_at = now
    if order.status in CLOSED_ORDERS:
        make_up.status = MakeUpStatus.REJECTED
        make_up.decision_note = str(_l("The order was cancelled before the make-up was approved."))
        db.session.flush()
        _tell(make_up, "make_up_rejected", _l("The make-up of ¥%(amount)s for order %(number)s was rejected",
                                              amount=f"{make_up.amount:,.2f}", number=order.number),
              body=make_up.decision_note)
        return make_up
    make_up.status = MakeUpStatus.APPROVED
    order.make_up_amount = order.make_up_amount + make_up.amount
    db.session.flush()
    record_event(db.session, order, "make_up_approved", actor_id=actor.id if actor else None,
                 note=make_up.reason[:300],
                 details={"amount": make_up.amount, "make_up": make_up.id, "make_up_amount": order.make_up_amount})
    _add_instalment(order, make_up)
    _tell(make_up, "make_up_approved", _l("The make-up of ¥%(amount)s for order %(number)s was approved",
                                          amount=f"{make_up.amount:,.2f}", number=order.number),
          body=_l("The order now owes ¥%(due)s in all.", due=f"{order.total + order.make_up_amount:,.2f}"))
    return make_up


def _add_instalment(order: Order, make_up: MakeUp) -> Instalment | None:
    """The make-up as the next instalment of the order's receivable plan (none without a plan): due when
    the customer should pay it (today if not said), by the method of the plan's last instalment, reminded
    as the settings say; the verified collections are then allocated again."""
    plan = plan_of(order.id)
    if plan is None:
        return None
    last = max(plan.instalments, key=lambda i: (i.number, i.id), default=None)
    number = (db.session.scalar(select(func.max(Instalment.number)).where(Instalment.plan_id == plan.id)) or 0) + 1
    due_on = make_up.due_on or local_today()
    days = reminder_days()
    instalment = Instalment(order_id=order.id, store_id=order.store_id, number=number, amount=make_up.amount,
                            due_on=due_on, method=last.method if last is not None else None, remind_days=days,
                            remind_on=due_on - timedelta(days=days))
    plan.instalments.append(instalment)
    db.session.flush()
    allocate(order.id)
    db.session.flush()
    return instalment


def apply_rejected(make_up_id: int, approval: Any) -> MakeUp:
    """The chain said no: nothing is owed; the requester and the salesperson learn why."""
    make_up = _make_up(make_up_id)
    _decided(make_up)
    make_up.status, make_up.decided_at = MakeUpStatus.REJECTED, utcnow()
    make_up.decision_note = rejection_comment(approval)
    db.session.flush()
    order = db.session.get(Order, make_up.order_id)
    if order is not None:
        record_event(db.session, order, "make_up_rejected", actor_id=None, note=make_up.decision_note,
                     details={"amount": make_up.amount, "make_up": make_up.id})
    _tell(make_up, "make_up_rejected", _l("The make-up of ¥%(amount)s for order %(number)s was rejected",
                                          amount=f"{make_up.amount:,.2f}", number=_order_number(make_up)),
          body=make_up.decision_note)
    return make_up


def apply_withdrawn(make_up_id: int, instance_id: int, actor: User | None) -> MakeUp:
    """The requester withdrew it: its approval request is closed as withdrawn, nothing is owed."""
    make_up = _make_up(make_up_id)
    _decided(make_up)
    withdraw_requests(instance_id)
    make_up.status, make_up.decided_at = MakeUpStatus.WITHDRAWN, utcnow()
    db.session.flush()
    order = db.session.get(Order, make_up.order_id)
    if order is not None:
        record_event(db.session, order, "make_up_withdrawn", actor_id=actor.id if actor else None,
                     details={"amount": make_up.amount, "make_up": make_up.id})
    return make_up


def summary_lines(make_up: MakeUp) -> list[list[Any]]:
    """What the approval queue shows of a make-up."""
    order = db.session.get(Order, make_up.order_id)
    customer = order.customer.name if order is not None else "—"
    requester = make_up.requested_by.name if make_up.requested_by is not None else "—"
    return [[_l("Order"), order.number if order is not None else f"#{make_up.order_id}"], [_l("Customer"), customer],
            [_l("Amount"), f"¥{make_up.amount:,.2f}"], [_l("Kind"), KIND_LABELS[make_up.kind]],
            [_l("Reason"), make_up.reason], [_l("Requested by"), requester],
            [_l("Order total"), f"¥{order.total:,.2f}" if order is not None else "—"]]
