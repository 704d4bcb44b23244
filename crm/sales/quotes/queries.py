"""Reads about quotes: the scoped list and the price history shown beside each line.

The history only ever reads rows of the quote's own store (`OrderLine.store_id`, copied from the order),
so a salesperson never sees what another store charged. A "transaction price" is the unit price of a
line of a signed contracting order: `OrderLine.signed_at` is set when the customer signs and cleared
when the order is cancelled (an approved quote alone is an offer, not a transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.db import where_equal
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.customers.models import Customer
from crm.extensions import db
from crm.org.models import User
from crm.sales.quotes.models import Quote
from crm.sales.quotes.models import QuoteStatus


def list_quotes(actor: User, *, status: str | None = None, customer_id: int | None = None,
                cursor: str | None = None, limit: int = 50) -> Page[Quote]:
    stmt: Select[Any] = where_equal(visible(select(Quote), actor, Quote), {
        Quote.status: QuoteStatus(status) if status else None, Quote.customer_id: customer_id,
    })
    return keyset_page(db.session, stmt, [SortKey(Quote.created_at, True), SortKey(Quote.id, True)],
                       cursor=cursor, limit=limit)






# Sections other contexts add to the quote page (finance: its invoices), in registration order: a function
# of the quote giving the section's HTML for the current reader ("" to show nothing).
_sections: dict[str, Callable[[Quote], Any]] = {}


def register_quote_section(key: str, render: Callable[[Quote], Any]) -> None:
    _sections[key] = render


def quote_sections(quote: Quote) -> list[Any]:
    return [render(quote) for render in _sections.values()]


def versions(quote: Quote) -> list[Quote]:
    return list(db.session.scalars(select(Quote).where(Quote.number == quote.number, Quote.store_id == quote.store_id)
                                   .order_by(Quote.version)))


def labels(ids: set[int], actor: User, *, customer: bool = True) -> dict[int, str]:
    """"Q… v2 · customer" (or "Q… v2" alone) of these quotes, those in the actor's scope, for pages and lists
    that only hold references to them (a task, process instances). One query."""
    if not ids:
        return {}
    rows = db.session.execute(visible(select(Quote.id, Quote.number, Quote.version, Customer.name).join(
        Customer, Customer.id == Quote.customer_id).where(Quote.id.in_(sorted(ids))), actor, Quote))
    return {row.id: f"{row.number} v{row.version}" + (f" · {row.name}" if customer else "") for row in rows}


def numbers(ids: set[int], actor: User) -> dict[int, str]:
    """"Q… v2" of these quotes, those in the actor's scope (a history names earlier versions)."""
    if not ids:
        return {}
    rows = db.session.execute(visible(select(Quote.id, Quote.number, Quote.version).where(Quote.id.in_(ids)), actor,
                                      Quote))
    return {row.id: f"{row.number} v{row.version}" for row in rows}



def awaiting_approval(user: User) -> int:
    """How many of the user's own quotes wait for the discount audit."""
    from sqlalchemy import func

    return int(db.session.scalar(select(func.count()).select_from(Quote).where(
        Quote.owner_id == user.id, Quote.status == QuoteStatus.PENDING_APPROVAL)) or 0)
