"""State changes of the high seas: the recycle sweep and its reminders, manual moves, assignment, and
claim applications (the process does the rest: crm/highseas/bpmn.py). Every service takes the actor
explicitly, flushes, never commits. Every move records a HighSeasMove row and an operation-log event on the
customer with its reason.

Concurrency: every change of a customer's owner takes the customer row (FOR UPDATE on PostgreSQL) and
re-checks the owner it expects; the sweep takes its rows with SKIP LOCKED, so a claim or an assignment in
flight is simply left for the next run, never doubled."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.db import locked_row
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.customers.services.profile import announce
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import INTO_POOL
from crm.highseas.models import OPEN_CLAIM
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasMove
from crm.highseas.models import HighSeasPool
from crm.highseas.models import MoveKind
from crm.highseas.models import PoolRole
from crm.notify.services import notify
from crm.org.models import User

LOCAL = ZoneInfo("Asia/Shanghai")
CLAIM_PROCESS = "high_seas_claim"
CLAIM_CHAIN = "high_seas_claim"


def _pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock_customer(customer_id: int) -> Customer | None:
    return locked_row(db.session, Customer, customer_id)


def _url(customer: Customer) -> str:
    return f"/customers/{customer.id}"


def _set_owner(customer: Customer, owner_id: int | None, kind: MoveKind, reason: str, *, actor_id: int | None,
               rule: str | None = None) -> HighSeasMove:
    old = customer.owner_id
    now = utcnow()
    customer.owner_id = owner_id
    customer.owned_since = now if owner_id is not None else None
    for contact in db.session.scalars(select(Contact).where(Contact.customer_id == customer.id)):
        contact.owner_id = owner_id
    move = HighSeasMove(store_id=customer.store_id, customer_id=customer.id, kind=kind, from_owner_id=old,
                        to_owner_id=owner_id, reason=reason[:500], rule=rule, actor_id=actor_id, at=now)
    db.session.add(move)
    db.session.flush()
    record_event(db.session, customer, f"high_seas_{kind.value}", actor_id=actor_id, note=reason[:300],
                 details={"owner_id_old": old, "owner_id_new": owner_id, "rule": rule})
    if old != owner_id:
        announce(customer, "customer.assigned", previous_owner_id=old)
    return move


def _supervisor_of(user_id: int | None) -> int | None:
    if not user_id:
        return None
    user = db.session.get(User, user_id)
    return user.supervisor_id if user is not None else None


# Manual moves ------------------------------------------------------------------------------------------
def move_to_pool(customers: Iterable[Customer], reason: Any, *, actor: User) -> int:
    """Manual "move to the high seas": the customers context's release, which records our move."""
    from crm.customers import services as customer_services

    return customer_services.release_to_pool(list(customers), str(reason or ""), actor=actor)


def on_customer_released(sender: Any, *, customer: Customer, old_owner_id: int | None, reason: str,
                         actor: User) -> None:
    """Receiver of `customer_released`: the release is a high-seas move with its reason."""
    db.session.add(HighSeasMove(store_id=customer.store_id, customer_id=customer.id, kind=MoveKind.RELEASED,
                                from_owner_id=old_owner_id, to_owner_id=None, reason=reason[:500],
                                actor_id=actor.id, at=utcnow()))
    db.session.flush()


def on_customer_locking(sender: Any, *, customer: Customer, actor: User) -> None:
    """Receiver of `customer_locking`: the pool's cap on locked customers of the owner."""
    if customer.owner_id is None:
        raise ValidationFailed({"locked": _l("A customer in the high seas cannot be locked.")})
    pool = rules.pool_for(customer.store_id)
    if pool.max_locked is None:
        return
    count = db.session.scalar(select(func.count(Customer.id)).where(
        Customer.owner_id == customer.owner_id, Customer.locked.is_(True), Customer.store_id == customer.store_id))
    if (count or 0) >= pool.max_locked:
        raise ValidationFailed({"locked": _l("The owner already has %(n)d locked customers, the most allowed.",
                                             n=pool.max_locked)})


# Caps, cooldown, quota ---------------------------------------------------------------------------------
def owned_count(pool: HighSeasPool, user_id: int) -> int:
    stmt = select(func.count(Customer.id)).where(Customer.owner_id == user_id, Customer.store_id == pool.store_id)
    if not pool.won_counts:
        stmt = stmt.where(Customer.won.is_(False))
    pending = select(func.count(HighSeasClaim.id)).where(HighSeasClaim.applicant_id == user_id,
                                                         HighSeasClaim.status == ClaimStatus.PENDING)
    return int(db.session.scalar(stmt) or 0) + int(db.session.scalar(pending) or 0)


def day_start(now: datetime | None = None) -> datetime:
    local = (now or utcnow()).astimezone(LOCAL)
    return datetime.combine(local.date(), time(0), tzinfo=LOCAL)


def claims_today(user_id: int) -> int:
    return int(db.session.scalar(select(func.count(HighSeasClaim.id)).where(
        HighSeasClaim.applicant_id == user_id, HighSeasClaim.created_at >= day_start())) or 0)


def cooldown_until(pool: HighSeasPool, customer: Customer, user_id: int) -> datetime | None:
    """The former owner may not take the customer back before this time (None: free)."""
    if not pool.cooldown_days:
        return None
    last = db.session.scalar(select(func.max(HighSeasMove.at)).where(
        HighSeasMove.customer_id == customer.id, HighSeasMove.from_owner_id == user_id,
        HighSeasMove.kind.in_(INTO_POOL)))
    if last is None:
        return None
    if last.tzinfo is None:
        from datetime import UTC

        last = last.replace(tzinfo=UTC)
    until = last + timedelta(days=pool.cooldown_days)
    return until if until > utcnow() else None


def check_can_own(pool: HighSeasPool, customer: Customer, user: User, *, claim: bool, field: str) -> None:
    """The rules every claim (and assignment, for the cap and cooldown) obeys, with a clear answer."""
    until = cooldown_until(pool, customer, user.id)
    if until is not None:
        raise ValidationFailed({field: _l(
            "%(name)s owned this customer until recently and may take it back after %(when)s.",
            name=user.name, when=until.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M"))})
    if claim and pool.daily_claim_quota is not None and claims_today(user.id) >= pool.daily_claim_quota:
        raise ValidationFailed({field: _l("You reached today's claim quota (%(n)d). Try again tomorrow.",
                                          n=pool.daily_claim_quota)})
    if pool.max_owned is not None and owned_count(pool, user.id) >= pool.max_owned:
        raise ValidationFailed({field: _l(
            "%(name)s already owns %(n)d customers (pending claims included), the most allowed.",
            name=user.name, n=pool.max_owned)})


# Assignment ---------------------------------------------------------------------------------------------
def _pool_customer(customer_id: Any) -> Customer:
    try:
        key = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    customer = lock_customer(key) if 0 < key < 2**31 else None
    if customer is None:
        raise NotFound()
    return customer


def get_pool_customer(customer_id: Any, actor: User) -> tuple[HighSeasPool, Customer]:
    """A customer of a pool the actor belongs to (404 otherwise, including customers of other stores)."""
    try:
        key = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    customer = db.session.get(Customer, key) if 0 < key < 2**31 else None
    if customer is None:
        raise NotFound()
    pool = rules.pool_for(customer.store_id)
    rules.check_member(pool, actor)
    return pool, customer


def assign(customer_ids: Iterable[Any], to_user_id: Any, reason: Any = "", *, actor: User) -> int:
    """A supervisor or pool admin gives pool customers to someone of the store (single or batch). All or
    nothing: the first refusal names the customer and nothing is written."""
    reason_text = check_text(str(reason or ""), {}, "reason", max_length=500, required=False)
    ids = []
    for raw in customer_ids:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            raise ValidationFailed({"customer_ids": _l("Choose customers from the list.")}) from None
    if not ids:
        raise ValidationFailed({"customer_ids": _l("Choose at least one customer.")})
    if len(ids) > 200:
        raise ValidationFailed({"customer_ids": _l("Assign at most %(n)d customers at once.", n=200)})
    moved = 0
    with db.session.begin_nested():
        for key in sorted(set(ids)):
            try:
                pool, customer = get_pool_customer(key, actor)
            except NotFound:  # an id in the body, not the URL's object: a field error, as for any store's
                raise ValidationFailed({"customer_ids": _l("Choose customers from the list.")}) from None
            rules.check_admin(pool, actor)
            customer = _pool_customer(key)
            if customer.owner_id is not None:
                raise Conflict(_l("%(name)s is no longer in the high seas.", name=customer.name))
            if _open_claim(customer.id) is not None:
                raise Conflict(_l("%(name)s has a claim application in progress.", name=customer.name))
            from crm.customers.services import store_user

            target = store_user(to_user_id, customer.store_id, "owner_id")
            check_can_own(pool, customer, target, claim=False, field="owner_id")
            _set_owner(customer, target.id, MoveKind.ASSIGNED, reason_text or str(_l("Assigned from the high seas")),
                       actor_id=actor.id)
            moved += 1
            notify([target.id], "highseas_moved", _l("A customer was assigned to you: %(name)s", name=customer.name),
                   body=reason_text or None, url=_url(customer), store_id=customer.store_id)
    return moved


# Claims -------------------------------------------------------------------------------------------------
def _open_claim(customer_id: int) -> HighSeasClaim | None:
    return db.session.scalar(select(HighSeasClaim).where(HighSeasClaim.customer_id == customer_id,
                                                         HighSeasClaim.status.in_(OPEN_CLAIM)))


def apply_claim(customer_id: Any, reason: Any, *, actor: User) -> HighSeasClaim:
    """A salesperson's claim: checked against every rule, then `high_seas_claim` starts (approval chain,
    owner set, return-visit deadline). One open claim per customer: the second of two concurrent
    applications waits for the first's row lock and is told someone else applied first."""
    errors: dict[str, str] = {}
    reason_text = check_text(str(reason or ""), errors, "reason", max_length=500)
    if errors:
        raise ValidationFailed(errors)
    pool, _ = get_pool_customer(customer_id, actor)
    customer = _pool_customer(customer_id)  # locked from here to the end of the transaction
    if not actor.can("highseas.view"):
        raise PermissionDenied()
    if customer.owner_id is not None:  # an approved claim (still in its return-visit time) included
        raise Conflict(_l("%(name)s now has an owner and is no longer in the high seas.", name=customer.name))
    existing = _open_claim(customer.id)
    if existing is not None:
        who = existing.applicant.name if existing.applicant_id != actor.id else str(_l("You"))
        raise Conflict(_l("%(who)s already applied for %(name)s; wait for that application to be decided.",
                          who=who, name=customer.name))
    check_can_own(pool, customer, actor, claim=True, field="reason")
    former = db.session.scalar(select(HighSeasMove.from_owner_id).where(
        HighSeasMove.customer_id == customer.id, HighSeasMove.kind.in_(INTO_POOL))
        .order_by(HighSeasMove.at.desc(), HighSeasMove.id.desc()).limit(1))
    claim = HighSeasClaim(store_id=customer.store_id, customer_id=customer.id, applicant_id=actor.id,
                          former_owner_id=former, reason=reason_text, status=ClaimStatus.PENDING, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(claim)
    except IntegrityError:
        raise Conflict(_l("Someone else applied for %(name)s first; wait for that application to be decided.",
                          name=customer.name)) from None
    record_event(db.session, customer, "high_seas_claim_applied", actor_id=actor.id, note=reason_text[:300],
                 details={"claim_id": claim.id})
    from crm.workflow import runtime

    instance = runtime.start(CLAIM_PROCESS, object_type="customer", object_id=customer.id,
                             store_id=customer.store_id, actor_id=actor.id, data={
                                 "approval_chain": CLAIM_CHAIN, "claim_id": claim.id,
                                 "return_visit_days": int(pool.return_visit_days),
                                 "customer_name": customer.name})
    claim.instance_id = instance.id
    db.session.flush()
    return claim


def _claim(claim_id: int) -> HighSeasClaim:
    claim = locked_row(db.session, HighSeasClaim, claim_id)
    if claim is None:
        raise NotFound()
    return claim


def claim_approved(claim_id: int, actor: User | None) -> dict[str, Any]:
    """The approval chain said yes: the applicant owns the customer, the visit deadline starts."""
    claim = _claim(claim_id)
    customer = lock_customer(claim.customer_id)
    assert customer is not None
    pool = rules.pool_for(customer.store_id)
    now = utcnow()
    claim.decided_at = now
    if customer.owner_id is not None and customer.owner_id != claim.applicant_id:
        # Someone assigned it meanwhile (should not happen: assignment refuses customers with open claims).
        claim.status = ClaimStatus.REJECTED
        claim.closed_at = now
        db.session.flush()
        notify([claim.applicant_id], "highseas_claim", _l("Your claim of %(name)s could not be completed",
                                                             name=customer.name),
               body=_l("The customer was given to someone else meanwhile."), url=_url(customer),
               store_id=customer.store_id)
        return {"owner_set": False}
    if customer.owner_id is None:
        _set_owner(customer, claim.applicant_id, MoveKind.CLAIMED, claim.reason,
                   actor_id=actor.id if actor else None)
    claim.status = ClaimStatus.VISITING
    claim.visit_due_at = now + timedelta(days=pool.return_visit_days)
    db.session.flush()
    due = claim.visit_due_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    notify([claim.applicant_id], "highseas_claim", _l("Your claim of %(name)s was approved", name=customer.name),
           body=_l("Record a visit before %(due)s or the customer returns to the high seas.", due=due),
           url=_url(customer), store_id=customer.store_id)
    others = {_supervisor_of(claim.applicant_id), claim.former_owner_id} - {None, claim.applicant_id}
    notify([u for u in others if u], "highseas_claim",
           _l("%(who)s claimed %(name)s from the high seas", who=claim.applicant.name, name=customer.name),
           url=_url(customer), store_id=customer.store_id)
    return {"owner_set": True, "visit_due_at": claim.visit_due_at.isoformat()}


def claim_rejected(claim_id: int) -> dict[str, Any]:
    claim = _claim(claim_id)
    customer = db.session.get(Customer, claim.customer_id)
    assert customer is not None
    claim.status = ClaimStatus.REJECTED
    claim.decided_at = claim.closed_at = utcnow()
    db.session.flush()
    record_event(db.session, customer, "high_seas_claim_rejected", actor_id=None, details={"claim_id": claim.id})
    notify([claim.applicant_id], "highseas_claim", _l("Your claim of %(name)s was rejected", name=customer.name),
           body=_l("The customer stays in the high seas."), url="/high-seas/claims", store_id=customer.store_id)
    return {"status": "rejected"}


def claim_visited(claim_id: int) -> dict[str, Any]:
    claim = _claim(claim_id)
    customer = db.session.get(Customer, claim.customer_id)
    assert customer is not None
    claim.status = ClaimStatus.KEPT
    claim.closed_at = utcnow()
    db.session.flush()
    notify([u for u in {claim.applicant_id, _supervisor_of(claim.applicant_id)} if u], "highseas_claim",
           _l("%(name)s was visited in time and stays with %(who)s", name=customer.name, who=claim.applicant.name),
           url=_url(customer), store_id=customer.store_id)
    return {"status": "kept"}


def claim_reminder(claim_id: int, hours_before: int) -> dict[str, Any]:
    """The claim diagram's reminder, `hours_before` (N, from the diagram) ahead of the return-visit deadline:
    the claimant is told to record a visit in time. Nothing when the claim is no longer waiting for it."""
    claim = _claim(claim_id)
    if claim.status != ClaimStatus.VISITING:
        return {"reminded": False}
    customer = db.session.get(Customer, claim.customer_id)
    assert customer is not None
    notify([claim.applicant_id], "highseas_claim",
           _l("Record a visit to %(name)s within %(n)d hours, or the customer returns to the high seas",
              name=customer.name, n=int(hours_before)), url=_url(customer), store_id=customer.store_id)
    return {"reminded": True}


def claim_expired(claim_id: int) -> dict[str, Any]:
    """No visit in time: back to the pool (only if the applicant still owns it), everyone told."""
    claim = _claim(claim_id)
    customer = lock_customer(claim.customer_id)
    assert customer is not None
    pool = rules.pool_for(customer.store_id)
    claim.status = ClaimStatus.RETURNED
    claim.closed_at = utcnow()
    returned = False
    if customer.owner_id == claim.applicant_id and not customer.locked:
        reason = str(_l("No visit within %(n)d days of the claim: returned to the high seas automatically",
                        n=pool.return_visit_days))
        _set_owner(customer, None, MoveKind.RETURNED, reason, actor_id=None, rule="return_visit")
        returned = True
    db.session.flush()
    if returned:
        people = {claim.applicant_id, _supervisor_of(claim.applicant_id), claim.former_owner_id}
        notify([u for u in people if u], "highseas_moved",
               _l("%(name)s returned to the high seas: no visit in time", name=customer.name),
               url=_url(customer), store_id=customer.store_id)
    return {"status": "returned", "returned": returned}


def role(pool: HighSeasPool, actor: User) -> PoolRole | None:
    return rules.role_in(pool, actor)
