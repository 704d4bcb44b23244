"""Settlement batches. Functions take the acting user, validate everything before writing, flush and never
commit.

- `record_settlement`: one transfer split over orders of one store. Every line passes exactly the checks of
  a single collection (`payments.services.collection_line_errors`), the lines add up to the batch, no order
  twice, at least one voucher; every refusal at once, nothing written. Then one collection per line, each
  with its own `collection_verification` (rejecting and correcting a line work as for any collection).
- `verify_all`: a finance user other than the recorder verifies every line still waiting, in one
  transaction, by completing each line's verification task through the inbox's completion
  (`tasks.complete`), so the diagram's operators run; one line refused and nothing is verified.

Locks: recording locks the orders (their pipeline instances, then the row) in order id order, as
`lock_order` does for one; verifying all locks the settlement row first, so a second "Verify all" of the
same batch waits for the first and then finds nothing left to verify."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.auth.scopes import get_visible
from crm.core import files
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.core.db import locked_row
from crm.core.errors import DomainError
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.finance.payments import services as payments
from crm.finance.payments.models import OBJECT_TYPE as COLLECTION
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentStatus
from crm.finance.payments.models import Voucher
from crm.finance.settlements.models import Settlement
from crm.finance.settlements.schemas import SettlementInputSchema
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.workflow import locks
from crm.workflow.models import HumanTask
from crm.workflow.models import TaskStatus
from crm.workflow.tasks import services as tasks
from crm.workflow.tasks.services import JsonSubmission

VERIFY_TASK = "cv_verify"


def get_settlement(settlement_id: Any, actor: User) -> Settlement:
    """The batch in the actor's stores, for finance only (a salesperson of the store does not see it)."""
    if not actor.can("finance.view"):
        raise NotFound()
    return get_visible(Settlement, settlement_id, actor)


def lines_of(settlement_id: int) -> list[Payment]:
    """The batch's collections, one per order, in the order they were recorded."""
    return list(db.session.scalars(select(Payment).where(Payment.settlement_id == settlement_id).order_by(Payment.id)))


def record_settlement(data: dict[str, Any] | Loaded, vouchers: list[payments.Upload], *, actor: User) -> Settlement:
    """Record a settlement batch with its vouchers and one collection per line (see the module)."""
    if not (actor.can("finance.collection.record") and actor.can("finance.view")):
        raise PermissionDenied(_l("You may not record settlements."))
    loaded = load_input(SettlementInputSchema(), data)
    errors: dict[str, Any] = dict(loaded.errors)
    values = loaded.values
    lines: list[dict[str, Any]] = values.get("lines") or []
    if lines and "amount" not in errors:
        total = sum((line["amount"] for line in lines), Decimal(0))
        if total != values["amount"]:
            difference = f"{abs(values['amount'] - total):,.2f}"
            errors["amount"] = (_l("The lines add up to ¥%(lines)s: ¥%(difference)s less than the settlement's amount.",
                                   lines=f"{total:,.2f}", difference=difference) if total < values["amount"] else
                                _l("The lines add up to ¥%(lines)s: ¥%(difference)s more than the settlement's amount.",
                                   lines=f"{total:,.2f}", difference=difference))
    first_line: dict[int, int] = {}
    for i, line in enumerate(lines):
        if line["order_id"] in first_line:
            errors[f"lines.{i}.order_id"] = _l("This order is already on line %(n)d.", n=first_line[line["order_id"]] + 1)
        else:
            first_line[line["order_id"]] = i
    # Lock every order once, in id order (as each collection would), then check each line like a collection.
    orders: dict[int, tuple[Order, list[Any]]] = {}
    for order_id in sorted(first_line):
        with contextlib.suppress(NotFound):
            orders[order_id] = order_services.lock_order(order_id, actor)
    store_id: int | None = None
    for i, line in enumerate(lines):
        if f"lines.{i}.order_id" in errors:
            continue
        found = orders.get(line["order_id"])
        if found is None:
            errors[f"lines.{i}.order_id"] = _l("No such order in your stores.")
            continue
        order, instances = found
        if store_id is None:
            store_id = order.store_id
        elif order.store_id != store_id:
            errors[f"lines.{i}.order_id"] = _l("Order %(number)s is of another store: a settlement covers the orders "
                                               "of one store.", number=order.number)
            continue
        errors.update(payments.collection_line_errors(order, instances, line["amount"], line.get("instalment_id"),
                                                      prefix=f"lines.{i}."))
    if store_id is not None and values.get("reference") and db.session.scalar(select(Settlement.id).where(
            Settlement.store_id == store_id, Settlement.reference == values["reference"])) is not None:
        errors["reference"] = _l("This store already has a settlement with this reference.")
    errors.update(payments.voucher_errors(vouchers))
    if errors:
        raise ValidationFailed(errors)
    assert store_id is not None
    settlement = Settlement(store_id=store_id, payer=values["payer"], reference=values["reference"],
                            method=values["method"], paid_on=values["paid_on"] or local_today(), amount=values["amount"],
                            note=values["note"], recorded_by_id=actor.id, recorded_at=utcnow())
    savepoint = db.session.begin_nested()
    try:
        db.session.add(settlement)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:  # the same reference recorded at the same moment
        savepoint.rollback()
        raise ValidationFailed({"reference": _l("This store already has a settlement with this reference.")}) from None
    payments.store_vouchers(settlement, vouchers, actor)
    collection = {"method": settlement.method, "paid_on": settlement.paid_on, "payer": settlement.payer,
                  "reference": settlement.reference, "note": settlement.note}
    for line in lines:
        order, _instances = orders[line["order_id"]]
        payment = payments.new_collection(order, {**collection, "amount": line["amount"],
                                                  "instalment_id": line.get("instalment_id")},
                                          actor, settlement_id=settlement.id)
        payments.start_verification(payment, order, actor)
    db.session.flush()
    return settlement


def _verification_task(payment_id: int) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.object_type == COLLECTION, HumanTask.object_id == payment_id, HumanTask.bpmn_id == VERIFY_TASK,
        HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED])).order_by(HumanTask.id.desc()).limit(1))


def may_verify_all(settlement: Settlement, actor: User) -> bool:
    return actor.can("finance.collection.verify") and settlement.recorded_by_id != actor.id


def verify_all(settlement_id: Any, *, actor: User) -> list[Payment]:
    """Verify every line still waiting for verification, each through its own verification task, all or
    nothing: the first line refused names itself and nothing is verified. Returns the lines verified."""
    settlement = get_settlement(settlement_id, actor)
    if not actor.can("finance.collection.verify"):
        raise PermissionDenied(_l("You may not verify collections."))
    if settlement.recorded_by_id == actor.id:
        raise PermissionDenied(_l("You recorded this settlement: another finance user verifies it."))
    locked_row(db.session, Settlement, settlement.id)  # a second "Verify all" of this batch waits here, then finds nothing left
    waiting = list(db.session.scalars(
        select(Payment).where(Payment.settlement_id == settlement.id, Payment.status == PaymentStatus.RECORDED)
        .order_by(Payment.order_id, Payment.id).execution_options(populate_existing=True)))
    if not waiting:
        raise InvalidTransition(_l("No line of this settlement waits for verification: someone verified or "
                                   "rejected them already."))
    numbers = dict(db.session.execute(select(Order.id, Order.number).where(
        Order.id.in_({p.order_id for p in waiting}))).all())
    savepoint = db.session.begin_nested()
    for payment in waiting:
        task = _verification_task(payment.id)
        try:
            if task is None:
                raise InvalidTransition(_l("This collection is not waiting for verification."))
            tasks.complete(task.id, JsonSubmission({"verification": {"decision": "verify"}}), actor=actor)
        except DomainError as exc:
            savepoint.rollback()
            locks.forget()
            message = _l("The line of order %(number)s (¥%(amount)s) could not be verified: %(error)s Nothing was "
                         "verified.", number=numbers.get(payment.order_id, payment.order_id),
                         amount=f"{payment.amount:,.2f}", error=exc.message)
            if isinstance(exc, PermissionDenied | NotFound):
                raise PermissionDenied(message) from None
            raise InvalidTransition(message) from None
    savepoint.commit()
    return waiting


def voucher_file(settlement_id: Any, voucher_id: Any, actor: User) -> tuple[Voucher, Any]:
    settlement = get_settlement(settlement_id, actor)
    voucher = next((v for v in settlement.vouchers if str(v.id) == str(voucher_id)), None)
    if voucher is None:
        raise NotFound()
    return voucher, files.stored_path(voucher.stored_name)
