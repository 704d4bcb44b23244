"""Changes to quotes. Every function takes the acting user, validates everything before writing anything
(all field errors at once, named `customer_id`, `valid_until`, `lines.2.unit_price` …), flushes and never
commits. Submitting starts the `quote_approval` process, which decides — in the diagram — whether the
quote needs the `discount_audit` approval chain; the status column is its projection
(`set_quote_status`, called by the `sales.set_quote_status` operator in the step's transaction)."""

from __future__ import annotations

import secrets
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import IO
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from crm.auth.scopes import get_visible
from crm.core import files
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.db import locked_row
from crm.core.errors import Conflict
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import check_text
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import User
from crm.sales.catalog.models import Product
from crm.sales.opportunities.models import Opportunity
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteLine
from crm.sales.quotes.models import QuoteStatus
from crm.workflow import runtime

PROCESS_KEY = "quote_approval"
MAX_LINES = 100
MAX_QUANTITY = 1_000_000
DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 366


def _require_edit(actor: User) -> None:
    if not actor.can("quote.edit"):
        raise PermissionDenied(_l("You may not create or change quotes."))


def get_quote(quote_id: Any, actor: User) -> Quote:
    """A quote in the actor's scope (404 otherwise)."""
    return get_visible(Quote, as_id(quote_id), actor)


def _today() -> date:
    return utcnow().date()


def _valid_until(raw: Any, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return _today() + timedelta(days=DEFAULT_VALID_DAYS)
    if isinstance(raw, date):
        value = raw
    else:
        try:
            value = date.fromisoformat(str(raw).strip())
        except ValueError:
            errors["valid_until"] = str(_l("Enter a date such as 2026-12-31."))
            return None
    if value < _today():
        errors["valid_until"] = str(_l("The validity date cannot be in the past."))
    elif value > _today() + timedelta(days=MAX_VALID_DAYS):
        errors["valid_until"] = str(_l("A quote can be valid for at most one year."))
    return value


def _quantity(raw: Any, errors: dict[str, str], field: str) -> int:
    try:
        value = int(str(raw).strip())
        if not 1 <= value <= MAX_QUANTITY:
            raise ValueError
        return value
    except (TypeError, ValueError):
        errors[field] = str(_l("Enter a whole number between 1 and %(max)d.", max=MAX_QUANTITY))
        return 0


def parse_lines(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Validated lines: on-shelf products, quantities, unit prices (Decimal); empty rows are skipped."""
    if not isinstance(raw, list | tuple):
        errors["lines"] = str(_l("Add at least one line."))
        return []
    rows = [r for r in raw if isinstance(r, dict) and any(str(r.get(k) or "").strip()
                                                            for k in ("product_id", "quantity", "unit_price"))]
    if not rows:
        errors["lines"] = str(_l("Add at least one line."))
        return []
    if len(rows) > MAX_LINES:
        errors["lines"] = str(_l("A quote has at most %(n)d lines.", n=MAX_LINES))
        return []
    ids = {as_id(r.get("product_id")) for r in rows}
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    out = []
    for i, row in enumerate(rows):
        prefix = f"lines.{i}"
        product = products.get(as_id(row.get("product_id")))
        if product is None:
            errors[f"{prefix}.product_id"] = str(_l("Choose a product."))
        elif not product.on_shelf:
            errors[f"{prefix}.product_id"] = str(_l("%(name)s is off the shelf and cannot be quoted.",
                                                    name=product.name))
        quantity = _quantity(row.get("quantity"), errors, f"{prefix}.quantity")
        unit_price = check_money(row.get("unit_price"), errors, f"{prefix}.unit_price", minimum=Decimal("0.01"))
        out.append({"product": product, "quantity": quantity, "unit_price": unit_price})
    return out


def _customer(raw: Any, actor: User, errors: dict[str, str]) -> Customer | None:
    try:
        return get_visible(Customer, as_id(raw), actor)
    except NotFound:
        errors["customer_id"] = str(_l("Choose one of your customers."))
        return None


def _write_lines(quote: Quote, lines: list[dict[str, Any]]) -> None:
    quote.lines.clear()
    db.session.flush()
    for position, line in enumerate(lines):
        product: Product = line["product"]
        quote.lines.append(QuoteLine(
            store_id=quote.store_id, customer_id=quote.customer_id, product_id=product.id, position=position,
            quantity=line["quantity"], list_price=product.list_price, unit_price=line["unit_price"],
            cost_price=product.cost_price,
        ))
    _totals(quote)


def _totals(quote: Quote) -> None:
    quote.total = sum((line.amount for line in quote.lines), Decimal("0.00"))
    quote.list_total = sum((line.list_amount for line in quote.lines), Decimal("0.00"))


def create_quote(data: dict[str, Any], *, actor: User) -> Quote:
    """A draft quote for a customer in the actor's scope (or for an opportunity's customer, linked to the
    opportunity); its store is the customer's."""
    _require_edit(actor)
    errors: dict[str, str] = {}
    opportunity = None
    if data.get("opportunity_id") not in (None, ""):
        try:
            opportunity = get_visible(Opportunity, as_id(data.get("opportunity_id")), actor)
        except NotFound:
            errors["opportunity_id"] = str(_l("Choose one of your opportunities."))
        if opportunity is not None and data.get("customer_id") in (None, ""):
            data = {**data, "customer_id": opportunity.customer_id}
    customer = _customer(data.get("customer_id"), actor, errors)
    if opportunity is not None and customer is not None and opportunity.customer_id != customer.id:
        errors["opportunity_id"] = str(_l("The opportunity is of another customer."))
    valid_until = _valid_until(data.get("valid_until"), errors)
    note = check_text(data.get("note"), errors, "note", max_length=2000, required=False) or None
    lines = parse_lines(data.get("lines"), errors)
    if errors:
        raise ValidationFailed(errors)
    assert customer is not None and valid_until is not None
    now = utcnow()
    quote = Quote(store_id=customer.store_id, owner_id=actor.id, customer_id=customer.id,
                  opportunity_id=opportunity.id if opportunity is not None else None, number=f"tmp-{secrets.token_hex(12)}", version=1, status=QuoteStatus.DRAFT,
                  valid_until=valid_until, note=note, created_by_id=actor.id)
    db.session.add(quote)
    db.session.flush()
    quote.number = f"Q{now:%Y%m%d}-{quote.id:05d}"
    _write_lines(quote, lines)
    db.session.flush()
    return quote


def update_quote(quote_id: Any, data: dict[str, Any], *, actor: User, lock_version: Any = None,
                 partial: bool = False) -> Quote:
    """Replace a draft's validity, note and lines. `lock_version` (from the form) refuses stale edits. With
    `partial` (the API's PATCH) only the fields sent change; the page's form sends them all."""
    _require_edit(actor)
    quote = get_quote(quote_id, actor)
    if lock_version not in (None, "") and str(lock_version) != str(quote.lock_version):
        raise Conflict(_l("Someone else changed this quote meanwhile. Reload it and try again."))
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidTransition(_l("Only a draft can be edited; revise the quote to change it."))

    def sent(name: str) -> bool:
        return not partial or name in data

    errors: dict[str, str] = {}
    valid_until = _valid_until(data.get("valid_until"), errors) if sent("valid_until") else quote.valid_until
    note = (check_text(data.get("note"), errors, "note", max_length=2000, required=False) or None
            if sent("note") else quote.note)
    lines = parse_lines(data.get("lines"), errors) if sent("lines") else None
    if errors:
        raise ValidationFailed(errors)
    assert valid_until is not None
    quote.valid_until = valid_until
    quote.note = note
    if lines is not None:
        _write_lines(quote, lines)
    db.session.flush()
    return quote


def _lock(quote: Quote) -> Quote:
    """Re-read the quote FOR UPDATE (PostgreSQL) so two submits of one draft cannot both start a process."""
    locked: Quote = locked_row(db.session, Quote, quote.id)
    return locked


def process_data(quote: Quote) -> dict[str, Any]:
    """What `quote_approval` starts with. The rates are floats for the diagram's comparison only (rounded
    DOWN to 6 places, so a rate under the threshold never rounds up to it); money stays Decimal."""
    rates = [line.discount_rate for line in quote.lines if line.discount_rate is not None]
    overall = quote.discount_rate
    candidates = [r for r in [*rates, overall] if r is not None]
    return {
        "min_rate": float(min(candidates)) if candidates else 1.0,
        "overall_rate": float(overall) if overall is not None else 1.0,
        "line_rates": [float(r) for r in rates],
        "quote_number": quote.number,
    }


def submit_quote(quote_id: Any, *, actor: User) -> Quote:
    _require_edit(actor)
    quote = _lock(get_quote(quote_id, actor))
    if quote.status != QuoteStatus.DRAFT:
        raise InvalidTransition(_l("This quote was already submitted."))
    errors: dict[str, str] = {}
    if not quote.lines:
        errors["lines"] = str(_l("Add at least one line."))
    if quote.valid_until < _today():
        errors["valid_until"] = str(_l("The validity date cannot be in the past."))
    for i, line in enumerate(quote.lines):
        if not line.product.on_shelf:
            errors[f"lines.{i}.product_id"] = str(_l("%(name)s is off the shelf and cannot be quoted.",
                                                     name=line.product.name))
    if errors:
        raise ValidationFailed(errors)
    quote.submitted_at = utcnow()
    quote.decision_comment = None
    db.session.flush()
    record_event(db.session, quote, "submitted", actor_id=actor.id)
    runtime.start(PROCESS_KEY, object_type="quote", object_id=quote.id, store_id=quote.store_id,
                  data=process_data(quote), actor_id=actor.id)
    db.session.refresh(quote)
    return quote


def set_quote_status(quote_id: int, status: str, *, comment: str | None = None) -> Quote:
    """The projection of the process onto the quote (the operator's side; no permission check: the
    process decided)."""
    quote = db.session.get(Quote, quote_id)
    if quote is None:
        raise NotFound(_l("The quote no longer exists."))
    new = QuoteStatus(status)
    quote.status = new
    now = utcnow()
    if new in (QuoteStatus.APPROVED, QuoteStatus.REJECTED):
        quote.decided_at = now
        quote.decision_comment = comment or None
    if new == QuoteStatus.APPROVED:
        for line in quote.lines:  # these prices now count as the store's and the customer's history
            line.priced_at = now
    db.session.flush()
    return quote


def revise_quote(quote_id: Any, *, actor: User) -> Quote:
    """A new draft version of a rejected (or expired) quote: same number, next version, the lines copied
    with today's list prices."""
    _require_edit(actor)
    old = _lock(get_quote(quote_id, actor))
    if old.status not in (QuoteStatus.REJECTED, QuoteStatus.EXPIRED):
        raise InvalidTransition(_l("Only a rejected or expired quote can be revised."))
    newer = db.session.scalar(select(Quote.id).where(Quote.number == old.number, Quote.version > old.version))
    if newer is not None:
        raise Conflict(_l("This quote was already revised; open the newest version."))
    quote = Quote(store_id=old.store_id, owner_id=old.owner_id, customer_id=old.customer_id,
                  opportunity_id=old.opportunity_id, number=old.number,
                  version=old.version + 1, previous_id=old.id, status=QuoteStatus.DRAFT,
                  valid_until=max(old.valid_until, _today() + timedelta(days=DEFAULT_VALID_DAYS))
                  if old.status == QuoteStatus.EXPIRED else max(old.valid_until, _today()),
                  note=old.note, created_by_id=actor.id)
    db.session.add(quote)
    db.session.flush()
    for line in old.lines:
        quote.lines.append(QuoteLine(
            store_id=quote.store_id, customer_id=quote.customer_id, product_id=line.product_id,
            position=line.position, quantity=line.quantity, list_price=line.product.list_price,
            unit_price=line.unit_price, cost_price=line.product.cost_price))
    _totals(quote)
    db.session.flush()
    record_event(db.session, quote, "revised", actor_id=actor.id, details={"from_version": old.version})
    return quote


def convert_quote(quote_id: Any, *, actor: User) -> Quote:
    """The hook the orders context calls when it makes a contracting order from an approved quote."""
    quote = _lock(get_quote(quote_id, actor))
    if quote.status != QuoteStatus.APPROVED:
        raise InvalidTransition(_l("Only an approved quote can become an order."))
    if quote.valid_until < _today():
        raise InvalidTransition(_l("This quote has expired."))
    quote.status = QuoteStatus.CONVERTED
    db.session.flush()
    return quote


def expire_quotes(today: date | None = None, limit: int = 500) -> int:
    """The scheduled job's work: drafts and approved quotes past their validity date become expired."""
    today = today or _today()
    quotes = db.session.scalars(select(Quote).where(
        Quote.status.in_([QuoteStatus.DRAFT, QuoteStatus.APPROVED]), Quote.valid_until < today)
        .order_by(Quote.id).limit(limit).with_for_update(skip_locked=True)).all()
    for quote in quotes:
        quote.status = QuoteStatus.EXPIRED
        record_event(db.session, quote, "expired", actor_id=None)
    db.session.flush()
    return len(quotes)


# A customer-supplied invoice file (invoices themselves are finance's: crm/finance/invoices) ---------------
INVOICE_TYPES = (".pdf", ".png", ".jpg", ".jpeg")


def attach_invoice(quote_id: Any, filename: Any, stream: IO[bytes], *, actor: User) -> Quote:
    _require_edit(actor)
    quote = get_quote(quote_id, actor)
    stored = files.store_upload(filename, stream, accept=INVOICE_TYPES, error_field="invoice", folder="quotes")
    if quote.invoice_stored_name:
        files.remove_stored(quote.invoice_stored_name)
    quote.invoice_stored_name = stored.relative
    quote.invoice_original_name = stored.name
    quote.invoice_content_type = stored.content_type
    db.session.flush()
    record_event(db.session, quote, "invoice_attached", actor_id=actor.id, details={"file": stored.name})
    return quote


# Customer registries ----------------------------------------------------------------------------------------
def on_customers_merged(source: Customer, target: Customer, actor: User) -> None:
    """Quotes (with their lines' price history) follow the merged customer."""
    db.session.execute(update(Quote).where(Quote.customer_id == source.id).values(customer_id=target.id))
    db.session.execute(update(QuoteLine).where(QuoteLine.customer_id == source.id).values(customer_id=target.id))
