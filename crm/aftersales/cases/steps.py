"""What the `after_sales` process writes on its case, called by the operators of `bpmn` inside the step:
the approval's outcome, the return shipment and its deadline, the warehouse's inspection, the refund, the
replacement, the receipt, the invoice and the end. Each reads the case under the step's lock, flushes and
never commits; `services` keeps what people do (open a case, add photos) and the rules they share."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.aftersales.cases.models import OBJECT_TYPE
from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.aftersales.cases.services import url
from crm.approvals.services import rejection_comment
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.db import locked_row
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.finance.invoices import services as invoice_services
from crm.finance.payments import services as payment_services
from crm.integrations.webhooks.services import publish
from crm.notify.services import notify
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order


def case_of_step(case_id: int) -> AfterSalesCase:
    case = locked_row(db.session, AfterSalesCase, case_id)
    if case is None:
        raise NotFound(_l("The after-sales case no longer exists."))
    return case


def _order_number(case: AfterSalesCase) -> str:
    return db.session.scalar(select(Order.number).where(Order.id == case.order_id)) or f"#{case.order_id}"


def _tell(case: AfterSalesCase, kind: str, title: Any, body: Any = None) -> None:
    """The requester and the order's salesperson."""
    notify({case.requested_by_id or 0, case.owner_id} - {0}, kind, title, body=body, url=url(case),
           store_id=case.store_id)


def _log(case: AfterSalesCase, action: str, actor: User | None, note: Any = None, **details: Any) -> None:
    record_event(db.session, case, action, actor_id=actor.id if actor else None,
                 note=str(note)[:300] if note else None, details=details or None)


def _end(case: AfterSalesCase, status: CaseStatus) -> None:
    """The case ended: its lines free their order lines, its order counts one open case less."""
    case.status, case.closed_at = status, utcnow()
    for line in case.lines:
        line.open_order_line_id = None
    order, _instances = order_services.lock_order(case.order_id, None)
    order.after_sales_open = max(order.after_sales_open - 1, 0)
    db.session.flush()


def _announce_decision(case: AfterSalesCase, decision: str) -> None:
    """The `after_sales.decided` webhook (crm.integrations), in the step's transaction."""
    publish("after_sales.decided", {
        "case_id": case.id, "number": case.number, "order_id": case.order_id, "customer_id": case.customer_id,
        "type": case.type.value, "decision": decision, "amount": case.amount, "refund_amount": case.refund_amount,
        "status": case.status.value, "decision_note": case.decision_note, "decided_at": case.decided_at,
    }, store_id=case.store_id)


def _open(case: AfterSalesCase) -> None:
    if not case.is_open:
        raise InvalidTransition(_l("This after-sales case has ended."))


def apply_status(case_id: int, status: str) -> AfterSalesCase:
    case = case_of_step(case_id)
    _open(case)
    case.status = CaseStatus(status)
    db.session.flush()
    return case


def apply_approved(case_id: int, actor: User | None) -> AfterSalesCase:
    """The chain said yes: a refund only is to refund what was asked; the requester is told."""
    case = case_of_step(case_id)
    _open(case)
    case.decided_at = utcnow()
    if case.type == CaseType.REFUND_ONLY:
        case.refund_amount = case.amount
    db.session.flush()
    _log(case, "after_sales_approved", actor)
    _announce_decision(case, "approved")
    _tell(case, "after_sales_approved", _l("After-sales case %(no)s of order %(order)s was approved",
                                           no=case.number, order=_order_number(case)))
    return case


def apply_rejected(case_id: int, approval: Any) -> AfterSalesCase:
    """The chain said no: the case ends; the requester and the salesperson learn why."""
    case = case_of_step(case_id)
    _open(case)
    case.decided_at = utcnow()
    case.decision_note = rejection_comment(approval)
    _end(case, CaseStatus.REJECTED)
    _log(case, "after_sales_rejected", None, case.decision_note)
    _announce_decision(case, "rejected")
    _tell(case, "after_sales_rejected", _l("After-sales case %(no)s of order %(order)s was rejected",
                                           no=case.number, order=_order_number(case)), body=case.decision_note)
    return case


def _text(data: Any, key: str, limit: int) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    text = str(value).strip() if value is not None else ""
    return text[:limit] or None


def apply_return_shipped(case_id: int, data: Any, actor: User | None) -> AfterSalesCase:
    """The customer shipped the goods back (the salesperson's form `return_shipment`: carrier, tracking no)."""
    case = case_of_step(case_id)
    _open(case)
    case.return_carrier = _text(data, "carrier", 100)
    case.return_tracking_no = _text(data, "tracking_no", 100)
    case.return_shipped_at = utcnow()
    db.session.flush()
    _log(case, "return_shipped", actor, carrier=case.return_carrier, tracking_no=case.return_tracking_no)
    return case


def remind_return(case_id: int) -> AfterSalesCase:
    case = case_of_step(case_id)
    if case.is_open and case.return_shipped_at is None:
        notify({case.owner_id}, "after_sales_return_due",
               _l("The goods of after-sales case %(no)s have not been shipped back yet", no=case.number),
               body=_l("The case closes if nothing is shipped back in time."), url=url(case), store_id=case.store_id)
    return case


def apply_return_expired(case_id: int) -> AfterSalesCase:
    """Nothing was shipped back in time: the case closes."""
    case = case_of_step(case_id)
    _open(case)
    _end(case, CaseStatus.CLOSED)
    _log(case, "after_sales_closed", None, _l("Nothing was shipped back in time."))
    _tell(case, "after_sales_closed", _l("After-sales case %(no)s was closed: nothing was shipped back in time",
                                         no=case.number))
    return case


def inspection_errors(case: AfterSalesCase, data: Any) -> tuple[dict[str, Any], list[int]]:
    rows = data.get("lines") if isinstance(data, dict) else None
    rows = rows if isinstance(rows, list) else []
    errors: dict[str, Any] = {}
    accepted: list[int] = []
    if len(rows) != len(case.lines):
        return {"inspection.lines": _l("Inspect every line of the case.")}, []
    for i, (row, line) in enumerate(zip(rows, case.lines, strict=True)):
        raw = row.get("accepted") if isinstance(row, dict) else None
        try:
            value = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors[f"inspection.lines.{i}.accepted"] = _l("Enter a whole number.")
            continue
        if value < 0 or value > line.quantity:
            errors[f"inspection.lines.{i}.accepted"] = _l("Between 0 and %(n)d.", n=line.quantity)
        accepted.append(value)
    return errors, accepted


def apply_inspection(case_id: int, data: Any, actor: User | None) -> AfterSalesCase:
    """The warehouse received and inspected the return (form `inspection`: accepted quantities per line, a
    note): a return and refund is to refund the accepted goods' worth (at most what was asked)."""
    case = case_of_step(case_id)
    _open(case)
    if case.inspected_at is not None:
        raise InvalidTransition(_l("This return was inspected already."))
    errors, accepted = inspection_errors(case, data)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    worth = Decimal("0.00")
    for line, value in zip(case.lines, accepted, strict=True):
        line.accepted_quantity = value
        worth += line.order_line.unit_price * value
    case.return_received_at = case.return_received_at or now
    case.inspected_at, case.inspected_by_id = now, actor.id if actor else None
    case.inspection_note = _text(data, "note", 2000)
    if case.type == CaseType.RETURN_REFUND:
        case.refund_amount = min(case.amount, worth.quantize(Decimal("0.01")))
    db.session.flush()
    _log(case, "return_inspected", actor, case.inspection_note, accepted=accepted,
         refund_amount=case.refund_amount)
    return case


def apply_refund(case_id: int, data: Any, actor: User | None) -> AfterSalesCase:
    """Finance paid the case's refund (form `refund`: method, date, reference, note): a refund record of the
    finance context, checked against what the order can refund, under the order's lock."""
    case = case_of_step(case_id)
    _open(case)
    if case.refund_payment_id is not None:
        raise InvalidTransition(_l("This case was refunded already."))
    amount = case.refund_amount or Decimal("0.00")
    if amount > 0:
        form = data if isinstance(data, dict) else {}
        payment = payment_services.record_case_refund(
            case.order_id, amount, {k: form.get(k) for k in ("method", "paid_on", "reference", "note")},
            actor=actor, case_ref=f"{OBJECT_TYPE}:{case.id}", reason=case.reason)
        case.refund_payment_id = payment.id
        case.refunded_amount = amount
    db.session.flush()
    _log(case, "after_sales_refunded", actor, amount=amount)
    _tell(case, "after_sales_refunded", _l("¥%(amount)s of after-sales case %(no)s was refunded",
                                           amount=f"{amount:,.2f}", no=case.number))
    return case


def apply_replacement_shipped(case_id: int, data: Any, actor: User | None) -> AfterSalesCase:
    """The warehouse shipped the replacement (form `replacement`: carrier, tracking number)."""
    case = case_of_step(case_id)
    _open(case)
    case.replacement_carrier = _text(data, "carrier", 100)
    case.replacement_tracking_no = _text(data, "tracking_no", 100)
    case.replacement_shipped_at = utcnow()
    db.session.flush()
    _log(case, "replacement_shipped", actor, carrier=case.replacement_carrier,
         tracking_no=case.replacement_tracking_no)
    _tell(case, "after_sales_shipped", _l("The replacement of after-sales case %(no)s was shipped", no=case.number),
          body=f"{case.replacement_carrier or ''} {case.replacement_tracking_no or ''}".strip() or None)
    return case


def apply_receipt(case_id: int, auto: bool, actor: User | None) -> AfterSalesCase:
    case = case_of_step(case_id)
    _open(case)
    case.replacement_received_at, case.receipt_auto = utcnow(), auto
    db.session.flush()
    _log(case, "replacement_received", actor, auto=auto)
    return case


def apply_invoice(case_id: int, actor: User | None) -> AfterSalesCase:
    """Finance re-issues the order's invoice: its issued invoices are voided with the case's reason and one
    new invoice is requested with the same data, less what the case refunded (`invoice_request` then runs
    for it like for any other request)."""
    case = case_of_step(case_id)
    _open(case)
    if actor is None:
        raise PermissionDenied(_l("Only finance re-issues invoices."))
    reason = str(_l("After-sales case %(no)s: %(reason)s", no=case.number, reason=case.reason))
    voided, new = invoice_services.reissue_for_order(case.order_id, reason, case.refunded_amount, actor=actor)
    if not voided:
        case.invoice_note = str(_l("No invoice of the order was issued: nothing to re-issue."))
    else:
        numbers = ", ".join(i.invoice_no or f"#{i.id}" for i in voided)
        case.invoice_note = str(_l("Voided %(numbers)s; a new invoice of ¥%(amount)s was requested.",
                                   numbers=numbers, amount=f"{new.amount:,.2f}") if new is not None
                                else _l("Voided %(numbers)s; nothing is left to invoice.", numbers=numbers))
    db.session.flush()
    _log(case, "invoice_reissued", actor, case.invoice_note)
    return case


def apply_completed(case_id: int) -> AfterSalesCase:
    case = case_of_step(case_id)
    _open(case)
    _end(case, CaseStatus.COMPLETED)
    _log(case, "after_sales_completed", None)
    _tell(case, "after_sales_completed", _l("After-sales case %(no)s of order %(order)s is completed",
                                            no=case.number, order=_order_number(case)))
    return case
