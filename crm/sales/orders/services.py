"""Changes to contracting orders. Every function takes the acting user, validates everything before writing
anything (all field errors at once), flushes and never commits.

- `create_from_quote`: an approved quote becomes an order (the quote is converted and locked in the same
  transaction) and `order_pipeline` starts; the order waits at its first task when this returns.
- `create_direct`: an order without a quote. The discount rule is the quotes' one, read from the current
  `quote_approval` diagram (the condition that sends a quote to the discount audit, `min_rate < 0.90` as
  shipped): a line or the whole order it would send to the audit, which only a quote goes through, is
  refused with a message telling to make a quote (no second approval path, no second threshold).
- Money comes in through the finance context (`crm.finance.payments`): its verified collections send
  `order_paid`; `lock_order` is the lock order they and cancellations share with the pipeline's steps.
- `cancel_order`: sends `order_cancelled` with the reason; the diagram decides whether the order can
  still be cancelled (it catches the message only until outbound is confirmed).

The pipeline's own writes (status projection, contract, outbound, shipment, receipt, cancellation) are the
`apply_*` functions, called by the operators in `order_bpmn` inside the step's transaction."""

from __future__ import annotations

import ast
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import as_id
from crm.core.validation import check_text
from crm.customers.models import Customer
from crm.extensions import db
from crm.integrations.webhooks.services import publish
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import rate
from crm.sales.orders.models import OBJECT_TYPE
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderLine
from crm.sales.orders.models import OrderStatus
from crm.sales.orders.models import PaymentMode
from crm.sales.orders.models import Terminal
from crm.sales.quotes import services as quote_services
from crm.workflow import deploy
from crm.workflow import locks
from crm.workflow import runtime

PROCESS_KEY = "order_pipeline"
# The gateway of processes/quote_approval.bpmn that sends a quote to the discount audit: an order without a
# quote must pass it without the audit (its condition, read from the current diagram, decides both).
DISCOUNT_AUDIT = ("quote_approval", "qa_gw_rate", "qa_pending")
DEFAULT_RECEIPT_DAYS = 7


def get_order(order_id: Any, actor: User) -> Order:
    """An order in the actor's scope (404 otherwise)."""
    return get_visible(Order, as_id(order_id), actor)


def _require(actor: User, permission: str, message: Any) -> None:
    if not actor.can(permission):
        raise PermissionDenied(message)


def _choice(raw: Any, enum_cls: Any, errors: dict[str, str], field: str) -> Any:
    try:
        return enum_cls(str(raw or "").strip())
    except ValueError:
        errors[field] = str(_l("Choose one of the offered values."))
        return None


def _shipping(data: dict[str, Any], customer: Customer | None, errors: dict[str, str]) -> dict[str, str]:
    """The shipping address; what is left empty comes from the customer's profile."""
    defaults = {"ship_name": customer.name if customer else "", "ship_phone": (customer.mobile or "") if customer else "",
                "ship_address": (customer.address or "") if customer else ""}
    limits = {"ship_name": 100, "ship_phone": 30, "ship_address": 500}
    out = {}
    for field, limit in limits.items():
        raw = data.get(field)
        value = raw if raw not in (None, "") else defaults[field]
        out[field] = check_text(str(value or ""), errors, field, max_length=limit)
    return out


def _common(data: dict[str, Any], customer: Customer | None, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "payment_mode": _choice(data.get("payment_mode"), PaymentMode, errors, "payment_mode"),
        "terminal": _choice(data.get("terminal") or Terminal.PC.value, Terminal, errors, "terminal"),
        "note": check_text(data.get("note"), errors, "note", max_length=2000, required=False) or None,
        **_shipping(data, customer, errors),
    }


def _new_order(customer: Customer, owner_id: int, fields: dict[str, Any], lines: list[dict[str, Any]],
               actor: User, quote_id: int | None = None) -> Order:
    now = utcnow()
    order = Order(store_id=customer.store_id, owner_id=owner_id, customer_id=customer.id, quote_id=quote_id,
                  # A unique placeholder (at most 30 characters) until the id is known.
                  number=f"tmp-{secrets.token_hex(12)}", status=OrderStatus.CONTRACTING,
                  created_by_id=actor.id, **fields)
    order.lines = [OrderLine(store_id=customer.store_id, customer_id=customer.id, product_id=line["product_id"],
                             position=position, quantity=line["quantity"], list_price=line["list_price"],
                             unit_price=line["unit_price"], cost_price=line.get("cost_price"))
                   for position, line in enumerate(lines)]
    order.total = sum((ln.amount for ln in order.lines), Decimal("0.00"))
    order.list_total = sum((ln.list_amount for ln in order.lines), Decimal("0.00"))
    db.session.add(order)
    db.session.flush()  # the order and its lines in one go; the number needs the id
    order.number = f"SO{now:%Y%m%d}-{order.id:06d}"
    order.delivery_note_no = f"DN{now:%Y%m%d}-{order.id:06d}"
    announce_status(order, None)
    return order


def announce_status(order: Order, previous: OrderStatus | None) -> None:
    """The `order.status_changed` webhook (crm.integrations), in the transaction of the change."""
    publish("order.status_changed", {
        "order_id": order.id, "number": order.number, "customer_id": order.customer_id, "owner_id": order.owner_id,
        "status": order.status.value, "previous_status": previous.value if previous is not None else None,
        "payment_mode": order.payment_mode.value, "total": order.total, "paid_amount": order.paid_amount,
        "carrier": order.carrier, "tracking_no": order.tracking_no,
    }, store_id=order.store_id)


def _move(order: Order, new: OrderStatus) -> None:
    """The order's status, announced when it changes."""
    previous = order.status
    order.status = new
    if previous != new:
        announce_status(order, previous)


def receipt_days() -> int:
    days = current_app.config.get("ORDER_RECEIPT_DAYS", DEFAULT_RECEIPT_DAYS)
    try:
        return max(1, int(days))
    except (TypeError, ValueError):
        return DEFAULT_RECEIPT_DAYS


def process_data(order: Order) -> dict[str, Any]:
    """What `order_pipeline` starts with (money as text: task data is JSON)."""
    return {
        "order_id": order.id, "order_number": order.number, "owner_id": order.owner_id,
        "customer_name": order.customer.name, "total": f"{order.total:,.2f}",
        # The delivery task shows where the goods go (its instructions name consignee, phone and address).
        "ship_name": order.ship_name, "ship_phone": order.ship_phone, "ship_address": order.ship_address,
        "payment_mode": order.payment_mode.value, "receipt_days": receipt_days(), "payment": None,
        "picked": [{"product": f"{ln.product.name} · {ln.product.sku}", "ordered": ln.quantity, "quantity": ln.quantity}
                   for ln in order.lines],
    }


def _start(order: Order, actor: User) -> Order:
    """Start the pipeline. Its operators change this same (identity-mapped) order, so nothing is re-read;
    the creation itself is in the operation log through the audit of the new row."""
    with db.session.no_autoflush:  # the order's number is written with the first step, not on its own
        data = process_data(order)
    runtime.start(PROCESS_KEY, object_type=OBJECT_TYPE, object_id=order.id, store_id=order.store_id,
                  data=data, actor_id=actor.id)
    return order


def create_from_quote(quote_id: Any, data: dict[str, Any], *, actor: User) -> Order:
    """A contracting order from an approved quote in the actor's scope: its lines and prices, the quote's
    owner as salesperson. The quote is converted (locked) in the same transaction."""
    _require(actor, "order.create", _l("You may not create orders."))
    try:
        quote = quote_services.get_quote(quote_id, actor)
    except NotFound:
        raise ValidationFailed({"quote_id": _l("Choose one of your approved quotes.")}) from None
    errors: dict[str, str] = {}
    customer = quote.customer
    fields = _common(data, customer, errors)
    if errors:
        raise ValidationFailed(errors)
    quote = quote_services.convert_quote(quote.id, actor=actor)  # locks it; refuses anything but approved
    lines = [{"product_id": ln.product_id, "quantity": ln.quantity, "list_price": ln.list_price,
              "unit_price": ln.unit_price, "cost_price": ln.cost_price} for ln in quote.lines]
    order = _new_order(customer, quote.owner_id, fields, lines, actor, quote_id=quote.id)
    return _start(order, actor)


def _direct_lines(raw: Any, errors: dict[str, str], audit: DiscountAudit) -> list[dict[str, Any]]:
    lines = quote_services.parse_lines(raw, errors)  # the quotes' validation: products on shelf, quantities
    out = []
    for i, line in enumerate(lines):
        product: Product | None = line["product"]
        if product is None or line["unit_price"] is None or not line["quantity"]:
            continue
        line_rate = rate(line["unit_price"], product.list_price)
        if line_rate is not None and audit.needs(line_rate):
            errors[f"lines.{i}.unit_price"] = audit.message()
        out.append({"product_id": product.id, "quantity": line["quantity"], "list_price": product.list_price,
                    "unit_price": line["unit_price"], "cost_price": product.cost_price})
    return out


@dataclass(frozen=True)
class DiscountAudit:
    """The quote approval diagram's rule for the discount audit (the condition on the flow that sends a
    quote to it), read once per order and asked per line and for the whole order."""

    condition: str | None

    def needs(self, line_rate: Decimal) -> bool:
        return deploy.evaluate_condition(self.condition, {"min_rate": float(line_rate)})

    @property
    def threshold(self) -> Decimal | None:
        """The rate under which the audit applies, when the condition says it plainly (`min_rate < 0.90`);
        None for any other condition (`needs` still asks the diagram)."""
        try:
            node = ast.parse(self.condition or "", mode="eval").body
        except SyntaxError:
            return None
        if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "min_rate"
                and len(node.ops) == 1 and isinstance(node.ops[0], ast.Lt)
                and isinstance(node.comparators[0], ast.Constant)
                and isinstance(node.comparators[0].value, (int, float))):
            return Decimal(str(node.comparators[0].value))
        return None

    def message(self) -> str:
        threshold = self.threshold
        if threshold is None:
            return str(_l("This discount needs the discount audit: make a quote and have it approved."))
        return str(_l("Under %(rate)s of the list price a discount audit is needed: make a quote and have it "
                      "approved.", rate=f"{threshold:.0%}".replace("%", " %")))


def discount_audit() -> DiscountAudit:
    return DiscountAudit(deploy.flow_condition(*DISCOUNT_AUDIT))


def audit_threshold() -> Decimal | None:
    """The current diagram's audit threshold, when it states one (see `DiscountAudit.threshold`)."""
    return discount_audit().threshold


def create_direct(data: dict[str, Any], *, actor: User) -> Order:
    """An order without a quote, at a rate the quote approval lets through without the discount audit
    (per line and overall): the diagram's condition decides."""
    _require(actor, "order.create", _l("You may not create orders."))
    errors: dict[str, str] = {}
    try:
        customer: Customer | None = get_visible(Customer, as_id(data.get("customer_id")), actor)
    except NotFound:
        customer = None
        errors["customer_id"] = str(_l("Choose one of your customers."))
    fields = _common(data, customer, errors)
    audit = discount_audit()
    lines = _direct_lines(data.get("lines"), errors, audit)
    if lines and not errors:
        total = sum(((ln["unit_price"] * ln["quantity"]) for ln in lines), Decimal("0"))
        list_total = sum(((ln["list_price"] * ln["quantity"]) for ln in lines), Decimal("0"))
        overall = rate(total, list_total)
        if overall is not None and audit.needs(overall):
            errors["lines"] = audit.message()
    if errors:
        raise ValidationFailed(errors)
    assert customer is not None
    owner_id = customer.owner_id or actor.id
    return _start(_new_order(customer, owner_id, fields, lines, actor), actor)


def lock_order(order_id: Any, actor: User | None) -> tuple[Order, list[Any]]:
    """The order (in the actor's scope, 404 otherwise; any order inside a process step, `actor` None)
    and its pipeline instances, all locked (PostgreSQL): the instances first, then the order, in the order
    every step takes them (a step locks its instance, then its operators write the order), so a
    collection's verification or a cancellation and a task completion of the same order queue up
    instead of deadlocking. The order is read once, under its lock."""
    key = as_id(order_id)
    instances = locks.lock_instances_of(OBJECT_TYPE, key)
    stmt = select(Order).where(Order.id == key)
    if actor is not None:
        stmt = visible(stmt, actor, Order)
    order = db.session.scalar(stmt.with_for_update(of=Order).execution_options(populate_existing=True))
    if order is None:
        raise NotFound()
    return order, instances


def cancel_order(order_id: Any, data: dict[str, Any], *, actor: User) -> Order:
    """Cancel with a reason while the pipeline still allows it (before outbound is confirmed)."""
    _require(actor, "order.cancel", _l("You may not cancel orders."))
    order, instances = lock_order(order_id, actor)
    errors: dict[str, str] = {}
    reason = check_text(data.get("reason"), errors, "reason", max_length=500)
    if errors:
        raise ValidationFailed(errors)
    if not runtime.waits_for(instances, "order_cancelled"):
        raise InvalidTransition(_l("This order can no longer be cancelled: the goods have left the warehouse "
                                   "(request an after-sales return instead)."))
    order.cancel_reason = reason
    db.session.flush()
    record_event(db.session, order, "cancel_requested", actor_id=actor.id, note=reason)
    runtime.send_message("order_cancelled", OBJECT_TYPE, order.id, {"reason": reason, "by": actor.id},
                         actor_id=actor.id, store_id=order.store_id)
    return order


# The pipeline's writes (called by the operators, in the step's transaction) --------------------------------
# They do not flush: the step flushes once when it saves the instance, so the operators of one step make
# one UPDATE of the order and one operation-log entry with every field they changed.
def order_of_step(order_id: int | None) -> Order:
    """The order a pipeline step writes to, held for the rest of the transaction: the identity map keeps
    only weak references, so a step's next operator (the signature, then the status) would read it again."""
    root = db.session().get_transaction()
    held = db.session.info.get("crm_step_orders")
    if held is None or held[0] is not root:
        held = (root, {})
        db.session.info["crm_step_orders"] = held
    order = held[1].get(order_id)
    if order is None or order not in db.session:
        order = db.session.get(Order, order_id) if order_id else None
    if order is None:
        raise NotFound(_l("The order no longer exists."))
    held[1][order_id] = order
    return order


def apply_status(order_id: int | None, status: str) -> Order:
    order = order_of_step(order_id)
    new = OrderStatus(status)
    if new == OrderStatus.COMPLETED:
        order.completed_at = utcnow()
    _move(order, new)
    return order


def apply_delivery_note(order_id: int | None, status: str) -> Order:
    """The delivery note's number is given with the order; a diagram may issue it later."""
    order = order_of_step(order_id)
    order.delivery_note_no = order.delivery_note_no or f"DN{order.number[2:]}"
    return apply_status(order_id, status)


def apply_signature(order_id: int | None, data: dict[str, Any]) -> Order:
    """The customer signed: the order now counts as a transaction (its lines become price history)."""
    order = order_of_step(order_id)
    now = utcnow()
    order.signed_at = now
    order.contract_no = (str(data.get("contract_no") or "").strip() or None)
    # Not autoflushed: the step's one flush writes the order (with its status) and one log entry.
    db.session.execute(update(OrderLine).where(OrderLine.order_id == order.id).values(signed_at=now)
                       .execution_options(autoflush=False, synchronize_session=False))
    return order


def apply_outbound(order_id: int | None, data: dict[str, Any]) -> Order:
    """The warehouse's picked quantities, by the delivery note's line order (a short pick is recorded as
    such and shows on the order; the form holds one row per line, refused otherwise)."""
    order = order_of_step(order_id)
    rows = data.get("picked") if isinstance(data.get("picked"), list) else []
    if len(rows) != len(order.lines):
        # Rows are matched to lines by position: a missing row (a quantity left empty on the page) would
        # shift every later quantity onto the wrong product. Refused; the task stays open to correct.
        raise ValueError(f"picked quantities: one row per delivery-note line ({len(order.lines)} expected, "
                         f"{len(rows)} given)")
    for line, row in zip(order.lines, rows, strict=True):
        try:
            line.picked_quantity = max(0, int(row.get("quantity")))  # type: ignore[union-attr,arg-type]
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"picked quantity of line {line.position + 1} is not a whole number") from None
    order.outbound_at = utcnow()
    _move(order, OrderStatus.PENDING_DELIVERY)
    return order


def apply_shipment(order_id: int | None, data: dict[str, Any]) -> Order:
    order = order_of_step(order_id)
    order.carrier = str(data.get("carrier") or "").strip()[:100] or None
    order.tracking_no = str(data.get("tracking_no") or "").strip()[:100] or None
    order.shipped_at = utcnow()
    _move(order, OrderStatus.PENDING_RECEIPT)
    return order


def apply_receipt(order_id: int | None, data: dict[str, Any], *, auto: bool) -> Order:
    order = order_of_step(order_id)
    order.received_at = utcnow()
    order.receipt_auto = auto
    if not auto:
        try:
            rating = int(data.get("rating"))  # type: ignore[arg-type]
            order.rating = rating if 1 <= rating <= 5 else None
        except (TypeError, ValueError):
            order.rating = None
        order.rating_comment = str(data.get("rating_comment") or "").strip() or None
    return order


def apply_cancelled(order_id: int | None, data: dict[str, Any]) -> Order:
    """Cancelled: no longer a transaction, so its lines leave the price history."""
    order = order_of_step(order_id)
    cancellation = data.get("cancellation") if isinstance(data.get("cancellation"), dict) else {}
    order.cancel_reason = order.cancel_reason or str(cancellation.get("reason") or "")[:500] or None
    order.cancelled_at = utcnow()
    _move(order, OrderStatus.CANCELLED)
    db.session.execute(update(OrderLine).where(OrderLine.order_id == order.id).values(signed_at=None))
    return order


# Customers' registries -----------------------------------------------------------------------------------
def on_customers_merged(source: Customer, target: Customer, actor: User) -> None:
    """Orders (and their lines' price history) follow the merged customer."""
    db.session.execute(update(Order).where(Order.customer_id == source.id).values(customer_id=target.id))
    db.session.execute(update(OrderLine).where(OrderLine.customer_id == source.id).values(customer_id=target.id))
