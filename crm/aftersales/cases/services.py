"""After-sales cases. Functions take the acting user, validate everything before writing, flush and never
commit.

- `open_case`: the order's salesperson (or anyone with `aftersales.request` and the order in scope) opens
  a case — type, reason, amount, goods lines, whether the invoice must be re-issued — and
  `after_sales.bpmn` starts (object `after_sales`): its `approval` call activity runs the chain
  `after_sales` (none configured: approved at once, in the same transaction).
- `add_photos`: the warehouse (or the requester) adds photos of the goods while the case is open.
- `apply_*`: the process's writes, called by its operators inside the step (`bpmn.py`).

Rules (issue 21 item 2), checked under the order's lock (`sales.orders.services.lock_order`):
- a returned quantity is at most what the line delivered (picked at outbound) less what earlier cases
  accepted back; a reissued one at most what was delivered;
- a refund is at most what the order can refund (verified collections less refunds) less what other
  open cases are still to refund; finance's refund is checked again when it is paid
  (`finance.payments.services.record_case_refund`);
- one open case per order line (also the unique `after_sales_line.open_order_line_id`);
- a "refund only" of a paid order whose goods have not left the warehouse is the order's cancellation
  (`order_pipeline` refunds a cancelled order): one way to do one thing.

While a case is open its order counts it in `Order.after_sales_open` (the order's "after-sales" marker).

Locks, in the order every path takes them: the case's process instance (a step), the case row, the
order's pipeline instances, the order row (`open_case` takes only the last two, before the case exists)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import IO
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select

from crm.aftersales.cases.models import ENDED
from crm.aftersales.cases.models import OBJECT_TYPE
from crm.aftersales.cases.models import REFUNDS
from crm.aftersales.cases.models import RETURNS
from crm.aftersales.cases.models import TYPE_LABELS
from crm.aftersales.cases.models import AfterSalesCase
from crm.aftersales.cases.models import AfterSalesLine
from crm.aftersales.cases.models import AfterSalesPhoto
from crm.aftersales.cases.models import CaseStatus
from crm.aftersales.cases.models import CaseType
from crm.aftersales.cases.schemas import CaseInputSchema
from crm.auth.scopes import get_visible
from crm.core import files
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import load_input
from crm.extensions import db
from crm.finance.payments import services as payment_services
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.orders.models import OrderStatus
from crm.workflow import runtime

PROCESS_KEY = "after_sales"
CHAIN_KEY = "after_sales"
PERMISSION = "aftersales.request"
INSPECT = "aftersales.inspect"
PHOTO_TYPES = (".png", ".jpg", ".jpeg", ".webp")
MAX_PHOTOS = 20
Upload = tuple[Any, IO[bytes]]


def get_case(case_id: Any, actor: User) -> AfterSalesCase:
    return get_visible(AfterSalesCase, case_id, actor)


def url(case: AfterSalesCase) -> str:
    return f"/after-sales/{case.id}"


def _days(key: str, default: int) -> int:
    try:
        return max(1, int(current_app.config.get(key, default)))
    except (TypeError, ValueError):
        return default


def return_days() -> int:
    return _days("AFTER_SALES_RETURN_DAYS", 14)


def reminder_after_days() -> int:
    """The return's reminder goes out this many days after approval (AFTER_SALES_RETURN_REMINDER_DAYS before
    the deadline, at least one day after approval)."""
    return max(1, return_days() - _days("AFTER_SALES_RETURN_REMINDER_DAYS", 3))


def receipt_days() -> int:
    return _days("AFTER_SALES_RECEIPT_DAYS", 7)


def takes_cases(order: Order) -> bool:
    """A case is opened on a signed order that is not cancelled (nor waiting for its cancellation's refund)."""
    return order.signed_at is not None and order.status not in (OrderStatus.CANCELLED, OrderStatus.PENDING_REFUND)


def may_open(order: Order, actor: User) -> bool:
    return actor.can(PERMISSION) and takes_cases(order)


# What the order still allows ----------------------------------------------------------------------------
def delivered(line: OrderLine, order: Order) -> int:
    """What left the warehouse for the line (the quantity picked at outbound); nothing before outbound."""
    return (line.picked_quantity or 0) if order.outbound_at is not None else 0


def returned(order_line_ids: Iterable[int]) -> dict[int, int]:
    """Per order line, what earlier returns and refunds accepted back at inspection (an exchange's goods came
    back but were replaced: the customer still holds them)."""
    ids = list(order_line_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(AfterSalesLine.order_line_id, func.coalesce(func.sum(AfterSalesLine.accepted_quantity), 0))
        .join(AfterSalesCase, AfterSalesCase.id == AfterSalesLine.case_id)
        .where(AfterSalesLine.order_line_id.in_(ids), AfterSalesCase.type == CaseType.RETURN_REFUND,
               AfterSalesCase.status != CaseStatus.REJECTED)
        .group_by(AfterSalesLine.order_line_id)).all()
    return {line_id: int(total) for line_id, total in rows}


def _open_elsewhere(order_line_ids: Iterable[int]) -> set[int]:
    ids = list(order_line_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(AfterSalesLine.open_order_line_id)
                                  .where(AfterSalesLine.open_order_line_id.in_(ids))))


def _pending_refunds(order_id: int, excluding: int | None = None) -> Decimal:
    """What other open cases of the order are still to refund (their requested amounts)."""
    stmt = select(func.coalesce(func.sum(func.coalesce(AfterSalesCase.refund_amount, AfterSalesCase.amount)), 0)).where(
        AfterSalesCase.order_id == order_id, AfterSalesCase.type.in_(REFUNDS),
        AfterSalesCase.status.not_in(ENDED), AfterSalesCase.refund_payment_id.is_(None))
    if excluding is not None:
        stmt = stmt.where(AfterSalesCase.id != excluding)
    return Decimal(db.session.scalar(stmt) or 0)


def refundable(order: Order) -> Decimal:
    """What a new case may still ask to refund: what the order can refund less the open cases' refunds."""
    return max(payment_services.refundable(order) - _pending_refunds(order.id), Decimal("0.00"))


def line_choices(order: Order) -> list[dict[str, Any]]:
    """The order's lines as the case form offers them: delivered, returned, and whether a case is open."""
    back = returned(ln.id for ln in order.lines)
    busy = _open_elsewhere(ln.id for ln in order.lines)
    return [{"line": ln, "delivered": delivered(ln, order), "returned": back.get(ln.id, 0),
             "returnable": max(delivered(ln, order) - back.get(ln.id, 0), 0), "busy": ln.id in busy}
            for ln in order.lines]


def _rule_errors(order: Order, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    case_type: CaseType = values["type"]
    lines = values.get("lines") or []
    by_id = {ln.id: ln for ln in order.lines}
    if case_type != CaseType.REFUND_ONLY and not lines:
        errors["lines"] = _l("Choose the goods of the case.")
    back = returned(by_id)
    busy = _open_elsewhere(by_id)
    seen: set[int] = set()
    for i, raw in enumerate(lines):
        line = by_id.get(raw["order_line_id"])
        if line is None:
            errors[f"lines.{i}.order_line_id"] = _l("Choose a line of this order.")
            continue
        if line.id in seen:
            errors[f"lines.{i}.order_line_id"] = _l("This line is in the case already.")
            continue
        seen.add(line.id)
        if line.id in busy:
            errors[f"lines.{i}.order_line_id"] = _l("Another after-sales case of this line is still open.")
            continue
        limit = delivered(line, order) - (back.get(line.id, 0) if case_type in RETURNS else 0)
        if raw["quantity"] > limit:
            errors[f"lines.{i}.quantity"] = (
                _l("At most %(n)d: what was delivered less what came back.", n=max(limit, 0)) if limit > 0
                else _l("Nothing of this line can be returned or shipped again: it was not delivered."))
    amount: Decimal = values["amount"]
    if case_type in REFUNDS:
        left = refundable(order)
        if amount <= 0:
            errors["amount"] = _l("Enter the amount to refund.")
        elif amount > left:
            errors["amount"] = _l("At most ¥%(max)s can be refunded: the verified collections less the refunds "
                                  "and the open cases.", max=f"{left:,.2f}")
        if case_type == CaseType.RETURN_REFUND and "amount" not in errors and lines and not any(
                k.startswith("lines") for k in errors):
            worth = sum((by_id[raw["order_line_id"]].unit_price * raw["quantity"] for raw in lines), Decimal("0"))
            if amount > worth:
                errors["amount"] = _l("At most ¥%(max)s: what the returned goods cost.", max=f"{worth:,.2f}")
    elif amount > 0:
        errors["amount"] = _l("An exchange or a reissue refunds nothing: leave the amount at 0.")
    return errors


def open_case(order_id: Any, data: dict[str, Any] | Loaded, *, actor: User) -> AfterSalesCase:
    """Open a case on an order in the actor's scope (404 outside it); its approval starts."""
    if not actor.can(PERMISSION):
        raise PermissionDenied(_l("You may not open after-sales cases."))
    order, _instances = order_services.lock_order(order_id, actor)
    loaded = load_input(CaseInputSchema(), data)
    if not takes_cases(order):
        raise InvalidTransition(_l("After-sales is opened on a signed order that was not cancelled."))
    values = loaded.values
    if (values.get("type") == CaseType.REFUND_ONLY and order.outbound_at is None
            and payment_services.refundable(order) > 0):
        raise InvalidTransition(_l("The goods have not left the warehouse: cancel the order instead, and finance "
                                   "refunds what was paid."))
    errors: dict[str, Any] = dict(loaded.errors)
    if "type" in values and "amount" in values and "lines" not in errors:
        for field, message in _rule_errors(order, values).items():
            errors.setdefault(field, message)
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    case = AfterSalesCase(
        store_id=order.store_id, order_id=order.id, customer_id=order.customer_id, owner_id=order.owner_id,
        type=values["type"], reason=values["reason"], amount=values["amount"],
        invoice_reissue=values["invoice_reissue"], status=CaseStatus.PENDING_APPROVAL, requested_by_id=actor.id,
        requested_at=now,
        lines=[AfterSalesLine(order_line_id=raw["order_line_id"], open_order_line_id=raw["order_line_id"],
                              quantity=raw["quantity"], note=raw["note"]) for raw in values["lines"]])
    db.session.add(case)
    order.after_sales_open = order.after_sales_open + 1
    db.session.flush()
    record_event(db.session, order, "after_sales_opened", actor_id=actor.id, note=case.reason[:300],
                 details={"case": case.id, "type": case.type.value, "amount": case.amount})
    instance = runtime.start(PROCESS_KEY, object_type=OBJECT_TYPE, object_id=case.id, store_id=order.store_id,
                             actor_id=actor.id, data=process_data(case, order))
    case.instance_id = instance.id
    db.session.flush()
    return case


def process_data(case: AfterSalesCase, order: Order) -> dict[str, Any]:
    """What `after_sales` starts with (its `inputs`), and the inspection form's first values."""
    by_id = {ln.id: ln for ln in order.lines}
    goods = [{"product": by_id[cl.order_line_id].product.name, "requested": cl.quantity} for cl in case.lines]
    return {"approval_chain": CHAIN_KEY, "case_id": case.id, "case_number": case.number, "case_type": case.type.value,
            "order_number": order.number, "customer_name": order.customer.name, "owner_id": case.owner_id,
            "requested_by_id": case.requested_by_id, "amount": f"{case.amount:,.2f}",
            "invoice_reissue": case.invoice_reissue, "return_days": return_days(),
            "remind_after_days": reminder_after_days(), "receipt_days": receipt_days(),
            "inspection": {"lines": [{**g, "accepted": g["requested"]} for g in goods], "note": ""},
            "goods": ", ".join(f"{g['product']} × {g['requested']}" for g in goods) or "—"}


# Photos ---------------------------------------------------------------------------------------------------
def photo_refusal(case: AfterSalesCase, actor: User) -> Any:
    if not (actor.can(INSPECT) or actor.id in (case.requested_by_id, case.owner_id)):
        return PermissionDenied(_l("Only the warehouse or the requester may add photos."))
    if not case.is_open:
        return InvalidTransition(_l("This case has ended: it takes no more photos."))
    return None


def add_photos(case_id: Any, uploads: list[Upload], *, actor: User) -> AfterSalesCase:
    case = get_case(case_id, actor)
    refusal = photo_refusal(case, actor)
    if refusal is not None:
        raise refusal
    if not uploads:
        raise ValidationFailed({"photos": _l("Choose a file.")})
    if len(case.photos) + len(uploads) > MAX_PHOTOS:
        raise ValidationFailed({"photos": _l("Attach at most %(n)d files.", n=MAX_PHOTOS)})
    for filename, stream in uploads:
        stored = files.store_upload(filename, stream, accept=PHOTO_TYPES, error_field="photos", folder="aftersales")
        case.photos.append(AfterSalesPhoto(original_name=stored.name, stored_name=stored.relative, size=stored.size,
                                           content_type=stored.content_type, uploaded_by_id=actor.id,
                                           uploaded_at=utcnow()))
    db.session.flush()
    record_event(db.session, case, "photos_added", actor_id=actor.id, details={"count": len(uploads)})
    return case


def photo_file(case_id: Any, photo_id: Any, actor: User) -> tuple[AfterSalesPhoto, Any]:
    case = get_case(case_id, actor)
    photo = next((p for p in case.photos if str(p.id) == str(photo_id)), None)
    if photo is None:
        raise NotFound()
    return photo, files.stored_path(photo.stored_name)


def summary_lines(case: AfterSalesCase) -> list[list[Any]]:
    """What the approval queue shows of a case."""
    order = db.session.get(Order, case.order_id)
    requester = case.requested_by.name if case.requested_by is not None else "—"
    goods = ", ".join(f"{ln.order_line.product.name} × {ln.quantity}" for ln in case.lines) or "—"
    return [[_l("Order"), order.number if order is not None else f"#{case.order_id}"],
            [_l("Customer"), order.customer.name if order is not None else "—"],
            [_l("Type"), TYPE_LABELS[case.type]], [_l("Amount"), f"¥{case.amount:,.2f}"],
            [_l("Goods"), goods], [_l("Reason"), case.reason],
            [_l("Re-issue the invoice"), _l("Yes") if case.invoice_reissue else _l("No")],
            [_l("Requested by"), requester],
            [_l("Order total"), f"¥{order.total:,.2f}" if order is not None else "—"]]
