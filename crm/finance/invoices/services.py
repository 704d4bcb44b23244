"""Invoices. Functions take the acting user, validate everything before writing, flush and never commit.

- `request_for_order` / `request_for_quote`: a salesperson asks finance for an invoice of an order, or of
  an approved quote that has no order yet (one that has is invoiced as its order); it starts
  `invoice_request` (object `invoice`). At most what can still be invoiced (`invoiceable`).
- `apply_issued` / `apply_rejected` / `apply_mailed`: the process's writes, called by its operators inside
  the step (`bpmn.py`).
- `void_invoice`: finance red-letters an issued invoice with a reason; its amount can be invoiced again.

What can still be invoiced: for an order, what it owes (`payments.services.amount_due`) less its invoices
that count (requested, issued, mailed) — those requested on its quote before it became an order
included; for a quote without an order, its total less its invoices. Every writer that changes it holds
the order's lock (`sales.orders.services.lock_order`: its pipeline instances, then the row) or, for a
quote without an order, the quote's row; two requests at once queue there and the second reads the
first's invoice. Locks, in the order every path takes them: the invoice's process instance (a step),
the quote row, the order's pipeline instances, the order row."""

from __future__ import annotations

from decimal import Decimal
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.core import files
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
from crm.finance.invoices.models import OBJECT_TYPE
from crm.finance.invoices.models import TYPE_LABELS
from crm.finance.invoices.models import Invoice
from crm.finance.invoices.models import InvoiceStatus
from crm.finance.invoices.queries import Target
from crm.finance.invoices.queries import invoiced
from crm.finance.invoices.queries import order_of_quote
from crm.finance.invoices.schemas import InvoiceRequestInputSchema
from crm.finance.invoices.schemas import IssueInputSchema
from crm.finance.invoices.schemas import MailingInputSchema
from crm.finance.invoices.schemas import RejectInputSchema
from crm.finance.invoices.schemas import VoidInputSchema
from crm.finance.invoices.schemas import contact_errors
from crm.finance.payments.services import amount_due
from crm.integrations.webhooks.services import publish
from crm.notify.services import notify
from crm.org.models import User
from crm.sales.orders import services as order_services
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.sales.quotes import services as quote_services
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus
from crm.workflow import locks
from crm.workflow import runtime
from crm.workflow.models import TaskAttachment

PROCESS_KEY = "invoice_request"
CLOSED_ORDERS = (OrderStatus.CANCELLED, OrderStatus.PENDING_REFUND)  # cancelled (a refund first, perhaps)
FILE_TYPES = (".pdf", ".png", ".jpg", ".jpeg")  # an e-invoice's PDF, a paper invoice's scan
Upload = tuple[Any, IO[bytes]]


def get_invoice(invoice_id: Any, actor: User) -> Invoice:
    return get_visible(Invoice, invoice_id, actor)


# What can still be invoiced ------------------------------------------------------------------------------
def target_of_order(order: Order) -> Target:
    """An order may be invoiced up to what it owes in all (`payments.services.amount_due`)."""
    return Target(order, order.quote_id, amount_due(order))


def target_of_quote(quote: Quote) -> Target:
    """A quote without an order may be invoiced up to its total."""
    return Target(None, quote.id, quote.total)


def invoiceable(target: Target, *, excluding: int | None = None) -> Decimal:
    """What can still be invoiced (never below zero: an order whose total shrank shows nothing left)."""
    return max(target.total - invoiced(target, excluding=excluding), Decimal("0.00"))


def target_for_quote_page(quote: Quote) -> Target | None:
    """The quote's target on its page: its order's once it has one; None if it cannot be invoiced."""
    order = order_of_quote(quote.id)
    if order is not None:
        return target_of_order(order)
    return target_of_quote(quote) if quote.status == QuoteStatus.APPROVED else None


def _over_invoicing(target: Target, amount: Decimal, *, excluding: int | None = None) -> Any:
    left = invoiceable(target, excluding=excluding)
    if amount <= left:
        return None
    return _l("At most ¥%(left)s can still be invoiced.", left=f"{left:,.2f}")


def _lock_quote(quote_id: int) -> Quote:
    quote: Quote = locked_row(db.session, Quote, quote_id)
    return quote


def _lock_target(order_id: int | None, quote_id: int | None, actor: User | None) -> Target:
    """The target locked for a change of what it has invoiced (see the module's lock order). `actor` None:
    inside a process step, whatever the scope."""
    if order_id is None and quote_id is not None:
        quote = _lock_quote(quote_id)
        order = order_of_quote(quote.id)
        if order is None:
            return target_of_quote(quote)
        order_id = order.id
    order, _instances = order_services.lock_order(order_id, actor)
    return target_of_order(order)


# Requesting ----------------------------------------------------------------------------------------------
def _require_request(actor: User) -> None:
    if not actor.can("finance.invoice.request"):
        raise PermissionDenied(_l("You may not request invoices."))


def request_for_order(order_id: Any, data: dict[str, Any] | Loaded, *, actor: User) -> Invoice:
    """Ask finance for an invoice of an order in the actor's scope (not a cancelled one)."""
    _require_request(actor)
    order, _instances = order_services.lock_order(order_id, actor)
    return _request(target_of_order(order), data, actor)


def request_for_quote(quote_id: Any, data: dict[str, Any] | Loaded, *, actor: User) -> Invoice:
    """Ask finance for an invoice of an approved quote in the actor's scope; a quote that became an order
    is invoiced as that order."""
    _require_request(actor)
    quote = quote_services.get_quote(quote_id, actor)
    order = order_of_quote(quote.id)
    if order is not None:
        return request_for_order(order.id, data, actor=actor)
    quote = _lock_quote(quote.id)
    order = order_of_quote(quote.id)  # made while we waited for the lock
    if order is not None:
        order, _instances = order_services.lock_order(order.id, actor)
        return _request(target_of_order(order), data, actor)
    if quote.status != QuoteStatus.APPROVED:
        raise InvalidTransition(_l("An invoice can be requested for an approved quote or an order only."))
    return _request(target_of_quote(quote), data, actor)


def _request(target: Target, data: dict[str, Any] | Loaded, actor: User) -> Invoice:
    order = target.order
    if order is not None and order.status in CLOSED_ORDERS:
        raise InvalidTransition(_l("This order was cancelled: it cannot be invoiced."))
    loaded = load_input(InvoiceRequestInputSchema(), data)
    values = loaded.values
    errors: dict[str, Any] = dict(loaded.errors)
    for field, message in contact_errors(values).items():
        errors.setdefault(field, message)
    if "amount" not in errors and values.get("amount") is not None:
        error = _over_invoicing(target, values["amount"])
        if error is not None:
            errors["amount"] = error
    if errors:
        raise ValidationFailed(errors)
    source: Any = order if order is not None else db.session.get(Quote, target.quote_id)
    invoice = Invoice(
        store_id=source.store_id, order_id=order.id if order is not None else None, quote_id=target.quote_id,
        customer_id=source.customer_id, owner_id=source.owner_id, requested_by_id=actor.id, type=values["type"],
        status=InvoiceStatus.REQUESTED, title=values["title"], taxpayer_no=values["taxpayer_no"],
        amount=values["amount"], email=values["email"], mailing_address=values["mailing_address"],
        note=values["note"], requested_at=utcnow())
    db.session.add(invoice)
    db.session.flush()
    record_event(db.session, source, "invoice_requested", actor_id=actor.id,
                 details={"amount": invoice.amount, "invoice": invoice.id})
    runtime.start(PROCESS_KEY, object_type=OBJECT_TYPE, object_id=invoice.id, store_id=invoice.store_id,
                  data={"invoice_id": invoice.id, "invoice_type": invoice.type.value, "title": invoice.title,
                        "amount": f"{invoice.amount:,.2f}", "reference": reference(invoice),
                        "requested_by_id": actor.id, "owner_id": invoice.owner_id,
                        # The issue form starts from what was asked.
                        "issue": {"amount": f"{invoice.amount:.2f}", "issued_on": local_today().isoformat()}},
                  actor_id=actor.id)
    _tell(invoice, "invoice_requested", _l("An invoice of ¥%(amount)s was requested for %(ref)s",
                                           amount=f"{invoice.amount:,.2f}", ref=reference(invoice)), actor)
    return invoice


def reference(invoice: Invoice) -> str:
    """The order's number, else the quote's ("Q… v2"), for titles and messages."""
    if invoice.order_id is not None:
        number = db.session.scalar(select(Order.number).where(Order.id == invoice.order_id))
        return number or f"#{invoice.order_id}"
    row = db.session.execute(select(Quote.number, Quote.version).where(Quote.id == invoice.quote_id)).first()
    return f"{row.number} v{row.version}" if row is not None else f"#{invoice.quote_id}"


def _tell(invoice: Invoice, kind: str, title: Any, actor: User | None, body: Any = None) -> None:
    """The requester and the salesperson learn of each step (not whoever took it)."""
    people = {invoice.requested_by_id or 0, invoice.owner_id} - {actor.id if actor is not None else 0}
    notify(people, kind, title, body=body, url=f"/finance/invoices/{invoice.id}", store_id=invoice.store_id)


# The process's writes (operators, inside the step) ---------------------------------------------------------
def invoice_of_step(invoice_id: int | None) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
    if invoice is None:
        raise NotFound(_l("The invoice no longer exists."))
    return invoice


def _finance(actor: User | None, permission: str, message: Any) -> User:
    if actor is None or not actor.can(permission):
        raise PermissionDenied(message)
    return actor


def _task_file(file_id: int | None, instance_id: int) -> TaskAttachment | None:
    attachment = db.session.get(TaskAttachment, file_id) if file_id else None
    return attachment if attachment is not None and attachment.instance_id == instance_id else None


def apply_issued(invoice_id: int | None, data: dict[str, Any], file_id: Any, actor: User | None, *,
                 instance_id: int) -> Invoice:
    """Finance issued the invoice (the issue form's group `issue`: number, date, amount; `invoice_file`: the
    id of the file uploaded to the task). The amount may differ from the request, never beyond what can
    still be invoiced."""
    invoice = invoice_of_step(invoice_id)
    actor = _finance(actor, "finance.invoice.issue", _l("Only finance issues invoices."))
    if invoice.status != InvoiceStatus.REQUESTED:
        raise InvalidTransition(_l("This invoice was already decided."))
    target = _lock_target(invoice.order_id, invoice.quote_id, None)
    loaded = load_input(IssueInputSchema(), {**{k: data.get(k) for k in ("invoice_no", "issued_on", "amount")},
                                             "file": file_id})
    values = loaded.values
    errors: dict[str, Any] = {"invoice_file" if k == "file" else f"issue.{k}": v for k, v in loaded.errors.items()}
    number, amount = values.get("invoice_no"), values.get("amount")
    if amount is not None:
        error = _over_invoicing(target, amount, excluding=invoice.id)
        if error is not None:
            errors["issue.amount"] = error
    if number and db.session.scalar(select(Invoice.id).where(
            Invoice.store_id == invoice.store_id, Invoice.invoice_no == number, Invoice.id != invoice.id,
            Invoice.status != InvoiceStatus.VOIDED).limit(1)) is not None:
        errors["issue.invoice_no"] = _l("Invoice number %(no)s is already used in this store.", no=number)
    attachment = _task_file(values.get("file"), instance_id)
    if attachment is None:
        errors.setdefault("invoice_file", _l("Attach the invoice's file (a PDF or a picture)."))
    if errors:
        raise ValidationFailed(errors)
    assert attachment is not None and amount is not None
    with open(files.stored_path(attachment.stored_name), "rb") as stream:
        stored = files.store_upload(attachment.original_name, stream, accept=FILE_TYPES, error_field="invoice_file",
                                    folder="finance")
    now = utcnow()
    invoice.status, invoice.invoice_no, invoice.amount = InvoiceStatus.ISSUED, number, amount
    invoice.issued_on = values["issued_on"]
    invoice.file_stored_name, invoice.file_original_name = stored.relative, stored.name
    invoice.file_content_type = stored.content_type
    invoice.decided_by_id, invoice.decided_at = actor.id, now
    db.session.flush()
    publish("invoice.issued", {
        "invoice_id": invoice.id, "order_id": invoice.order_id, "quote_id": invoice.quote_id,
        "customer_id": invoice.customer_id, "type": invoice.type.value, "invoice_no": invoice.invoice_no,
        "issued_on": invoice.issued_on, "amount": invoice.amount, "title": invoice.title,
        "taxpayer_no": invoice.taxpayer_no,
    }, store_id=invoice.store_id)
    _tell(invoice, "invoice_issued", _l("Invoice %(no)s of ¥%(amount)s was issued for %(ref)s", no=number,
                                        amount=f"{amount:,.2f}", ref=reference(invoice)), actor,
          body=TYPE_LABELS[invoice.type])
    return invoice


def apply_rejected(invoice_id: int | None, data: dict[str, Any], actor: User | None) -> Invoice:
    """Finance refused the request with a reason: its amount is free again; the requester is told why."""
    invoice = invoice_of_step(invoice_id)
    actor = _finance(actor, "finance.invoice.issue", _l("Only finance issues invoices."))
    if invoice.status != InvoiceStatus.REQUESTED:
        raise InvalidTransition(_l("This invoice was already decided."))
    loaded = load_input(RejectInputSchema(), {"reason": data.get("reason")})
    if loaded.errors:
        raise ValidationFailed({f"issue.{k}": v for k, v in loaded.errors.items()})
    reason = loaded.values["reason"]
    invoice.status, invoice.reject_reason = InvoiceStatus.REJECTED, reason
    invoice.decided_by_id, invoice.decided_at = actor.id, utcnow()
    db.session.flush()
    _tell(invoice, "invoice_rejected", _l("The invoice of ¥%(amount)s for %(ref)s was rejected",
                                          amount=f"{invoice.amount:,.2f}", ref=reference(invoice)), actor, body=reason)
    return invoice


def apply_mailed(invoice_id: int | None, data: dict[str, Any], actor: User | None) -> Invoice:
    """Finance or logistics sent the paper invoice (the mailing form's group `mailing`)."""
    invoice = invoice_of_step(invoice_id)
    if actor is None or not (actor.can("finance.invoice.mail") or actor.can("finance.invoice.issue")):
        raise PermissionDenied(_l("Only finance or logistics record how an invoice was mailed."))
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvalidTransition(_l("Only an issued invoice can be mailed."))
    loaded = load_input(MailingInputSchema(), {k: data.get(k) for k in ("carrier", "tracking_no")})
    if loaded.errors:
        raise ValidationFailed({f"mailing.{k}": v for k, v in loaded.errors.items()})
    carrier, tracking_no = loaded.values["carrier"], loaded.values["tracking_no"]
    invoice.status, invoice.carrier, invoice.tracking_no = InvoiceStatus.MAILED, carrier, tracking_no
    invoice.mailed_by_id, invoice.mailed_at = actor.id, utcnow()
    db.session.flush()
    _tell(invoice, "invoice_mailed", _l("Invoice %(no)s was mailed: %(carrier)s %(tracking)s", no=invoice.invoice_no,
                                        carrier=carrier, tracking=tracking_no), actor)
    return invoice


# Voiding -------------------------------------------------------------------------------------------------
def _lock_invoice(invoice_id: Any, actor: User) -> tuple[Invoice, list[Any]]:
    """The invoice in the actor's scope and its process instances, locked: the instances first, as a step
    of the process takes them, then the row."""
    invoice = get_invoice(invoice_id, actor)
    instances = locks.lock_instances_of(OBJECT_TYPE, invoice.id)
    return locked_row(db.session, Invoice, invoice.id), instances


def void_invoice(invoice_id: Any, data: dict[str, Any] | Loaded, *, actor: User) -> Invoice:
    """Red-letter an issued (or mailed) invoice with a reason: it no longer counts, so its amount can be
    invoiced again. A paper invoice still waiting for its mailing leaves the mailing task (message
    `invoice_voided`)."""
    if not actor.can("finance.invoice.issue"):
        raise PermissionDenied(_l("Only finance voids invoices."))
    invoice, instances = _lock_invoice(invoice_id, actor)
    loaded = load_input(VoidInputSchema(), data)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.MAILED):
        raise InvalidTransition(_l("Only an issued invoice can be voided."))
    if loaded.errors:
        raise ValidationFailed(loaded.errors)
    reason = loaded.values["reason"]
    invoice.status, invoice.void_reason = InvoiceStatus.VOIDED, reason
    invoice.voided_by_id, invoice.voided_at = actor.id, utcnow()
    db.session.flush()
    if runtime.waits_for(instances, "invoice_voided"):
        runtime.send_message("invoice_voided", OBJECT_TYPE, invoice.id, {"reason": reason, "by": actor.id},
                             actor_id=actor.id, store_id=invoice.store_id)
    _tell(invoice, "invoice_voided", _l("Invoice %(no)s of ¥%(amount)s was voided", no=invoice.invoice_no,
                                        amount=f"{invoice.amount:,.2f}"), actor, body=reason)
    return invoice


def reissue_for_order(order_id: int, reason: str, less: Decimal, *, actor: User) -> tuple[list[Invoice], Invoice | None]:
    """Another context's case changed what the order is worth (an after-sales refund): finance voids the
    order's issued (or mailed) invoices with `reason` and requests one new invoice with the data of the
    last of them, for their sum less `less` (at most what can still be invoiced), which then runs
    `invoice_request` like any other (finance issues it from the inbox). Nothing issued: nothing to do."""
    if not actor.can("finance.invoice.issue"):
        raise PermissionDenied(_l("Only finance voids invoices."))
    order, _instances = order_services.lock_order(order_id, None)
    issued = list(db.session.scalars(select(Invoice).where(
        Invoice.order_id == order.id, Invoice.status.in_((InvoiceStatus.ISSUED, InvoiceStatus.MAILED)))
        .order_by(Invoice.id)))
    if not issued:
        return [], None
    voided = [void_invoice(invoice.id, {"reason": reason[:500]}, actor=actor) for invoice in issued]
    last = voided[-1]
    amount = min(sum((i.amount for i in voided), Decimal("0.00")) - less, invoiceable(target_of_order(order)))
    if amount <= 0:
        return voided, None
    data = {"type": last.type.value, "title": last.title, "taxpayer_no": last.taxpayer_no, "amount": f"{amount:.2f}",
            "email": last.email, "mailing_address": last.mailing_address, "note": reason[:500]}
    return voided, _request(target_of_order(order), data, actor)


def invoice_file(invoice_id: Any, actor: User) -> tuple[Invoice, Any]:
    invoice = get_invoice(invoice_id, actor)
    if not invoice.file_stored_name:
        raise NotFound()
    return invoice, files.stored_path(invoice.file_stored_name)

