"""Which part of an order's verified collections each instalment of its plan has received.

Recomputed from the verified collections, never incremented, so it is the same whatever order the
verifications came in: first every collection that names an instalment goes to it (what exceeds the
instalment joins the rest), then the rest fills the instalments in due-date order (then number). Called
under the order's lock (`sales.orders.services.lock_order`) by the verification and by the plan's
edit, which both hold it. Imports models only: `payments.services` calls it inside a verification."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm.extensions import db
from crm.finance.payments.models import Payment
from crm.finance.payments.models import PaymentKind
from crm.finance.payments.models import PaymentStatus
from crm.finance.plans.models import Instalment

ZERO = Decimal("0.00")


def shares(instalments: list[Instalment], collections: list[tuple[int | None, Decimal]]) -> dict[int, Decimal]:
    """instalment id -> collected, for the verified collections given as (named instalment id or None,
    amount). Pure: the instalments' `collected` is not touched."""
    ordered = sorted(instalments, key=lambda i: (i.due_on, i.number, i.id))
    taken = {i.id: ZERO for i in ordered}
    room = {i.id: i.amount for i in ordered}
    pool = ZERO
    for named, amount in collections:
        if named in room:
            part = min(amount, room[named] - taken[named])
            taken[named] += part
            pool += amount - part
        else:
            pool += amount
    for instalment in ordered:
        if pool <= 0:
            break
        part = min(pool, room[instalment.id] - taken[instalment.id])
        taken[instalment.id] += part
        pool -= part
    return taken


def verified_collections(order_id: int) -> list[tuple[int | None, Decimal]]:
    return [(named, Decimal(amount)) for named, amount in db.session.execute(
        select(Payment.instalment_id, Payment.amount).where(
            Payment.order_id == order_id, Payment.kind == PaymentKind.COLLECTION,
            Payment.status == PaymentStatus.VERIFIED).order_by(Payment.id))]


def allocate(order_id: int) -> list[Instalment]:
    """Set `collected` on the order's instalments (none without a plan) from its verified collections."""
    instalments = list(db.session.scalars(select(Instalment).where(Instalment.order_id == order_id)))
    if not instalments:
        return []
    taken = shares(instalments, verified_collections(order_id))
    for instalment in instalments:
        if instalment.collected != taken[instalment.id]:
            instalment.collected = taken[instalment.id]
    return instalments
