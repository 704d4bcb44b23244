"""Collections and refunds. Functions take the acting user, validate everything before writing, flush and
never commit.

- `record_collection`: an amount received for an order that waits for its money (`accepts_collections`:
  the pipeline waits for `order_paid`, or only approved make-ups are still open), with one or more
  vouchers; it starts `collection_verification` (object `collection`). Nothing counts yet. Its checks
  against the order are `collection_line_errors`, which a settlement batch applies to each of its lines.
  A collection may name an instalment of the order's receivable plan (`crm.finance.plans`).
- `apply_verified` / `apply_rejected` / `apply_resubmitted` / `apply_withdrawn`: the verification
  process's writes (called by its operators inside the step). A verified collection adds to the order's
  `paid_amount` and is allocated to the plan's instalments (`plans.allocation`); the one that makes it
  reach what the order owes (`amount_due`: its total and approved make-ups) sends `order_paid` to the
  pipeline in the same transaction, if the pipeline waits for it (a make-up approved before the order
  was paid raises what must be collected before `order_paid`; one approved after is collected without
  any message).
- `apply_refund`: the refund step of a cancelled order's pipeline: finance pays back what was verified
  as collected less earlier refunds, never more.

Locks, in the order every path takes them: the process instance of the step (the runtime), the
order's pipeline instances, then the order row. Two verifications of the same order queue on the
pipeline instance; the second reads the first's `paid_amount` and sends nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.core import files
from crm.core.audit import record_event
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.core.errors import DomainError
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.finance.payments.models import OBJECT_TYPE
from crm.finance.payments.models import Direction
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentMethod
from crm.finance.payments.models import PaymentStatus
from crm.finance.payments.models import Voucher
from crm.finance.payments.schemas import CollectionInputSchema
from crm.finance.payments.schemas import RefundInputSchema
from crm.finance.plans.allocation import allocate
from crm.finance.plans.models import Instalment
from crm.integrations.webhooks.services import publish
from crm.notify.services import notify
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import OBJECT_TYPE as ORDER
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime

PROCESS_KEY = "collection_verification"
VOUCHER_TYPES = (".pdf", *files.IMAGE_TYPES)
MAX_VOUCHERS = 10
Upload = tuple[Any, IO[bytes]]  # (file name, stream)


def get_payment(payment_id: Any, actor: User) -> Payment:
    return get_visible(Payment, payment_id, actor)


def _pending_total(order_id: int) -> Decimal:
    """Collections of the order recorded and not yet decided: they would count if verified."""
    return Decimal(db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.order_id == order_id, Payment.kind == PaymentKind.COLLECTION,
        Payment.status == PaymentStatus.RECORDED)) or 0)


def amount_due(order: Order) -> Decimal:
    """What the customer owes for the order in all: its total and its approved make-ups
    (`crm.finance.makeups`, kept in `Order.make_up_amount`)."""
    return order.total + order.make_up_amount


def amount_due_sql() -> Any:
    """`amount_due` as an SQL expression of the order's columns, for the receivables' aggregate: change
    both together (and the partial index `ix_sales_order_owing` in `crm.finance.plans.models`)."""
    return Order.total + Order.make_up_amount


def still_due(order: Order) -> Decimal:
    """What is still to be collected: the amount due less the verified collections."""
    return amount_due(order) - order.paid_amount


def accepts_collections(order: Order, instances: list[Any]) -> bool:
    """Whether a collection may be recorded for the order now (`instances`: its pipeline instances, locked
    by `lock_order` when a service acts on the answer). Something must still be due, and either the
    pipeline waits for the money (`order_paid`: pay before delivery, or delivery in arrears after
    receipt), or the order's own total is collected and only approved make-ups are still open — those
    are collected whenever they come, even after the pipeline moved on or finished. A cancelled order, or
    one waiting for its refund, takes nothing."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.PENDING_REFUND) or still_due(order) <= 0:
        return False
    return runtime.waits_for(instances, "order_paid") or order.paid_amount >= order.total


def store_vouchers(owner: Any, uploads: Iterable[Upload], actor: User) -> None:
    """The uploads as vouchers of `owner`: a payment, or a settlement batch (`crm.finance.settlements`)."""
    for filename, stream in uploads:
        stored = files.store_upload(filename, stream, accept=VOUCHER_TYPES, error_field="vouchers", folder="finance")
        owner.vouchers.append(Voucher(original_name=stored.name, stored_name=stored.relative, size=stored.size,
                                      content_type=stored.content_type, uploaded_by_id=actor.id,
                                      uploaded_at=utcnow()))


def _over_collection(order: Order, amount: Decimal) -> Any:
    """Why `amount` cannot be recorded for the order (None when it can): it may not exceed what is still
    due less what already waits for verification."""
    due = still_due(order)
    open_amount = due - _pending_total(order.id)
    if amount <= open_amount:
        return None
    if open_amount < due:
        return _l("At most ¥%(open)s can be recorded: ¥%(due)s is still due and ¥%(pending)s waits for verification.",
                  open=f"{max(open_amount, Decimal(0)):,.2f}", due=f"{due:,.2f}", pending=f"{due - open_amount:,.2f}")
    return _l("At most ¥%(due)s is still due.", due=f"{due:,.2f}")


def _instalment_error(order: Order, instalment_id: int) -> Any:
    """Why a collection cannot name this instalment (None when it can): it must be an instalment of the
    order's plan that is not collected in full."""
    instalment = db.session.get(Instalment, instalment_id)
    if instalment is None or instalment.order_id != order.id:
        return _l("Choose an instalment of this order's plan.")
    if instalment.collected >= instalment.amount:
        return _l("Instalment %(n)d is collected in full.", n=instalment.number)
    return None


def collection_line_errors(order: Order, instances: list[Any], amount: Decimal | None, instalment_id: int | None,
                           *, prefix: str = "") -> dict[str, Any]:
    """Why a collection of `amount` (None: the input refused it already) naming `instalment_id` cannot be
    recorded for the order (its instances locked, `lock_order`): field -> message, empty when it can. The
    one check of a collection against its order, for `record_collection` and each line of a settlement
    (`prefix` "lines.3." names the line).
    An order that does not wait for a payment answers under `{prefix}order_id` alone."""
    if not accepts_collections(order, instances):
        return {f"{prefix}order_id": _l("This order is not waiting for a payment.")}
    errors: dict[str, Any] = {}
    if amount is not None:
        error = _over_collection(order, amount)
        if error is not None:
            errors[f"{prefix}amount"] = error
    if instalment_id is not None:
        error = _instalment_error(order, instalment_id)
        if error is not None:
            errors[f"{prefix}instalment_id"] = error
    return errors


def voucher_errors(vouchers: list[Upload]) -> dict[str, Any]:
    if not vouchers:
        return {"vouchers": _l("Attach the payment voucher (a picture or a PDF).")}
    if len(vouchers) > MAX_VOUCHERS:
        return {"vouchers": _l("Attach at most %(n)d files.", n=MAX_VOUCHERS)}
    return {}


def record_collection(order_id: Any, data: dict[str, Any] | Loaded, vouchers: list[Upload], *,
                      actor: User) -> Payment:
    """Record money received for an order waiting for it, with its vouchers, and start its verification.
    At most what is still due less what already waits for verification; refused with that amount."""
    if not actor.can("finance.collection.record"):
        raise PermissionDenied(_l("You may not record collections."))
    order, instances = order_services.lock_order(order_id, actor)
    loaded = load_input(CollectionInputSchema(), data)
    errors: dict[str, Any] = dict(loaded.errors)
    values = loaded.values
    line = collection_line_errors(order, instances, None if "amount" in errors else values["amount"],
                                  values.get("instalment_id"))
    if "order_id" in line:
        raise InvalidTransition(line["order_id"])
    errors.update(line)
    errors.update(voucher_errors(vouchers))
    if errors:
        raise ValidationFailed(errors)
    payment = new_collection(order, values, actor)
    store_vouchers(payment, vouchers, actor)
    start_verification(payment, order, actor)
    return payment


def new_collection(order: Order, values: dict[str, Any], actor: User, *, settlement_id: int | None = None) -> Payment:
    """A collection of the order as `values` (checked) say, added and flushed; nothing counts yet."""
    now = utcnow()
    payment = Payment(
        store_id=order.store_id, order_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
        direction=Direction.IN, kind=PaymentKind.COLLECTION, status=PaymentStatus.RECORDED, amount=values["amount"],
        method=values["method"], paid_on=values["paid_on"] or local_today(), payer=values["payer"],
        reference=values["reference"], note=values["note"], recorded_by_id=actor.id, recorded_at=now,
        instalment_id=values.get("instalment_id"), settlement_id=settlement_id)
    db.session.add(payment)
    db.session.flush()
    return payment


def start_verification(payment: Payment, order: Order, actor: User) -> None:
    """The collection's `collection_verification`, and the order's event."""
    db.session.flush()
    record_event(db.session, order, "collection_recorded", actor_id=actor.id,
                 details={"amount": payment.amount, "collection": payment.id})
    runtime.start(PROCESS_KEY, object_type=OBJECT_TYPE, object_id=payment.id, store_id=order.store_id,
                  data={"collection_id": payment.id, "order_id": order.id, "order_number": order.number,
                        "amount": f"{payment.amount:,.2f}", "method": payment.method.value,
                        "recorded_by_id": actor.id, "owner_id": order.owner_id},
                  actor_id=actor.id)


def voucher_refusal(payment: Payment, actor: User) -> DomainError | None:
    """Why the actor may not add vouchers to the payment (None when they may): a collection takes them
    while it waits for verification (or was rejected), from its recorder or finance; a refund takes the
    bank slip of the money paid back from finance, once it is paid (the refund step records no file)."""
    if payment.kind == PaymentKind.REFUND:
        return None if actor.can("finance.collection.verify") else PermissionDenied(
            _l("Only finance may add vouchers to a refund."))
    if payment.status not in (PaymentStatus.RECORDED, PaymentStatus.REJECTED):
        return InvalidTransition(_l("Vouchers can be added only to a collection waiting for verification."))
    if payment.recorded_by_id != actor.id and not actor.can("finance.collection.verify"):
        return PermissionDenied(_l("Only the recorder or finance may add vouchers."))
    return None


def add_vouchers(payment_id: Any, vouchers: list[Upload], *, actor: User) -> Payment:
    """More vouchers for a collection not yet verified, or for a refund (`voucher_refusal` says who may)."""
    payment = get_payment(payment_id, actor)
    refusal = voucher_refusal(payment, actor)
    if refusal is not None:
        raise refusal
    if not vouchers:
        raise ValidationFailed({"vouchers": _l("Choose a file.")})
    if len(payment.vouchers) + len(vouchers) > MAX_VOUCHERS:
        raise ValidationFailed({"vouchers": _l("Attach at most %(n)d files.", n=MAX_VOUCHERS)})
    store_vouchers(payment, vouchers, actor)
    db.session.flush()
    return payment


def voucher_file(payment_id: Any, voucher_id: Any, actor: User) -> tuple[Voucher, Any]:
    payment = get_payment(payment_id, actor)
    voucher = next((v for v in payment.all_vouchers if str(v.id) == str(voucher_id)), None)
    if voucher is None:
        raise NotFound()
    return voucher, files.stored_path(voucher.stored_name)


# The verification process's writes (operators, inside the step) -----------------------------------------
def _collection_of_step(collection_id: int | None) -> Payment:
    payment = db.session.get(Payment, collection_id) if collection_id else None
    if payment is None or payment.kind != PaymentKind.COLLECTION:
        raise NotFound(_l("The collection no longer exists."))
    return payment


def apply_verified(collection_id: int | None, actor: User | None) -> Payment:
    """A finance user other than the recorder confirmed the collection against its vouchers."""
    payment = _collection_of_step(collection_id)
    if actor is None:
        raise PermissionDenied(_l("A collection is verified by a person."))
    if payment.recorded_by_id == actor.id:
        raise PermissionDenied(_l("You recorded this collection: another finance user verifies it."))
    if payment.status != PaymentStatus.RECORDED:
        raise InvalidTransition(_l("This collection was already decided."))
    order, instances = order_services.lock_order(payment.order_id, None)
    if order.status == OrderStatus.CANCELLED:
        raise InvalidTransition(_l("The order was cancelled: reject this collection with that reason (money "
                                   "that did come in is paid back outside the order)."))
    if payment.amount > still_due(order):
        raise InvalidTransition(_l("Verifying this collection would collect more than the order's total: "
                                   "¥%(due)s is still due. Reject it with that reason.",
                                   due=f"{still_due(order):,.2f}"))
    now = utcnow()
    payment.status, payment.decided_by_id, payment.decided_at = PaymentStatus.VERIFIED, actor.id, now
    order.paid_amount = order.paid_amount + payment.amount
    order.paid_at = now
    db.session.flush()
    allocate(order.id)  # the plan's instalments follow the verified collections
    record_event(db.session, order, "collection_verified", actor_id=actor.id,
                 details={"amount": payment.amount, "collection": payment.id})
    publish("collection.verified", {
        "collection_id": payment.id, "order_id": order.id, "order_number": order.number,
        "customer_id": payment.customer_id, "amount": payment.amount, "method": payment.method.value,
        "paid_on": payment.paid_on, "settlement_id": payment.settlement_id, "verified_at": now,
        "order_paid_amount": order.paid_amount, "order_still_due": still_due(order),
    }, store_id=payment.store_id)
    if still_due(order) <= 0 and runtime.waits_for(instances, "order_paid"):
        # The instances are locked (`lock_order`): the subscription checked holds until the commit, and a
        # second verification of this order waits for that lock and then finds nothing more to send.
        runtime.send_message("order_paid", ORDER, order.id, {"collection_id": payment.id, "amount": str(order.paid_amount)},
                             actor_id=actor.id, store_id=order.store_id)
    return payment


def apply_rejected(collection_id: int | None, data: dict[str, Any], actor: User | None) -> Payment:
    """The voucher does not prove the collection: back to the recorder with the reason."""
    payment = _collection_of_step(collection_id)
    if actor is not None and payment.recorded_by_id == actor.id:
        raise PermissionDenied(_l("You recorded this collection: another finance user verifies it."))
    reason = str(data.get("reason") or "").strip()[:500]
    payment.status, payment.reason = PaymentStatus.REJECTED, reason or None
    payment.decided_by_id, payment.decided_at = (actor.id if actor else None), utcnow()
    return payment


def apply_resubmitted(collection_id: int | None, data: dict[str, Any], actor: User | None) -> Payment:
    """The recorder corrected the collection (the same input schema as recording it)."""
    payment = _collection_of_step(collection_id)
    loaded = load_input(CollectionInputSchema(), {k: data.get(k) for k in
                                                  ("amount", "paid_on", "method", "payer", "reference", "note")})
    if loaded.errors:
        raise ValidationFailed({f"correction.{k}": v for k, v in loaded.errors.items()})
    values = loaded.values
    order = db.session.get(Order, payment.order_id)
    assert order is not None
    error = _over_collection(order, values["amount"])
    if error is not None:
        raise ValidationFailed({"correction.amount": error})
    payment.amount, payment.method, payment.payer = values["amount"], values["method"], values["payer"]
    payment.paid_on = values["paid_on"] or payment.paid_on
    payment.reference, payment.note = values["reference"], values["note"]
    payment.status, payment.reason, payment.decided_by_id, payment.decided_at = PaymentStatus.RECORDED, None, None, None
    return payment


def apply_withdrawn(collection_id: int | None) -> Payment:
    payment = _collection_of_step(collection_id)
    payment.status = PaymentStatus.WITHDRAWN
    return payment


def notify_rejected(payment: Payment) -> None:
    """The recorder and the order's salesperson learn why their collection came back."""
    notify({payment.recorded_by_id or 0, payment.owner_id}, "collection_rejected",
           _l("A collection of ¥%(amount)s was rejected", amount=f"{payment.amount:,.2f}"),
           body=payment.reason, url=f"/finance/payments/{payment.id}", store_id=payment.store_id)


# Refunds -----------------------------------------------------------------------------------------------
def refundable(order: Order) -> Decimal:
    """What can still be paid back: verified collections less earlier refunds."""
    return order.paid_amount - order.refunded_amount


def apply_refund(order_id: int | None, data: dict[str, Any], actor: User | None, *, reason: str | None) -> Payment | None:
    """Finance paid back what the order collected (a cancelled order's pipeline step): a refund record of
    the refundable amount with the form's method and reference; nothing when nothing was collected."""
    order = order_services.order_of_step(order_id)
    amount = refundable(order)
    if amount <= 0:
        return None
    loaded = load_input(RefundInputSchema(), {"method": data.get("method") or PaymentMethod.OTHER.value,
                                              "paid_on": data.get("paid_on"), "reference": data.get("reference"),
                                              "note": data.get("note")})
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    values = loaded.values
    now = utcnow()
    payment = Payment(
        store_id=order.store_id, order_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
        direction=Direction.OUT, kind=PaymentKind.REFUND, status=PaymentStatus.REFUNDED, amount=amount,
        method=values["method"], paid_on=values["paid_on"] or local_today(), reference=values["reference"],
        note=values["note"], reason=(reason or "")[:500] or None, recorded_by_id=actor.id if actor else None,
        recorded_at=now, decided_by_id=actor.id if actor else None, decided_at=now)
    db.session.add(payment)
    order.refunded_amount = order.refunded_amount + amount
    return payment


def record_case_refund(order_id: int, amount: Decimal, data: dict[str, Any] | Loaded, *, actor: User | None,
                       case_ref: str, reason: str | None) -> Payment:
    """Finance paid back `amount` of an order for another context's case (an after-sales case: `case_ref`
    "after_sales:12"), with the form's method, date and reference: a refund record, under the order's
    lock (`sales.orders.services.lock_order`), never above what the order can still refund (verified
    collections less refunds). Vouchers are added afterwards (`add_vouchers`: finance, on a refund)."""
    if actor is None or not actor.can("finance.collection.verify"):
        raise PermissionDenied(_l("Only finance carries out refunds."))
    order, _instances = order_services.lock_order(order_id, None)
    loaded = load_input(RefundInputSchema(), data)
    errors: dict[str, Any] = dict(loaded.errors)
    if amount <= 0:
        errors["amount"] = _l("Nothing is to be refunded.")
    elif amount > refundable(order):
        errors["amount"] = _l("At most ¥%(max)s can be refunded: the verified collections less the refunds.",
                              max=f"{max(refundable(order), Decimal(0)):,.2f}")
    if errors:
        raise ValidationFailed(errors)
    values = loaded.values
    now = utcnow()
    payment = Payment(
        store_id=order.store_id, order_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
        direction=Direction.OUT, kind=PaymentKind.REFUND, status=PaymentStatus.REFUNDED, amount=amount,
        method=values["method"], paid_on=values["paid_on"] or local_today(), reference=values["reference"],
        note=values["note"], reason=(reason or "")[:500] or None, case_ref=case_ref[:50],
        recorded_by_id=actor.id, recorded_at=now, decided_by_id=actor.id, decided_at=now)
    db.session.add(payment)
    order.refunded_amount = order.refunded_amount + amount
    db.session.flush()
    record_event(db.session, order, "refund_paid", actor_id=actor.id, note=payment.reason,
                 details={"amount": amount, "payment": payment.id, "case": case_ref})
    return payment


def collected(order_id: int) -> dict[str, Decimal]:
    """The order's money by status, for its page."""
    rows = db.session.execute(select(Payment.kind, Payment.status, func.sum(Payment.amount))
                              .where(Payment.order_id == order_id).group_by(Payment.kind, Payment.status)).all()
    return {f"{kind.value}.{status.value}": Decimal(total) for kind, status, total in rows}
