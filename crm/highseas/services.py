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
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from crm.core.audit import OperationLog
from crm.core.audit import record_event
from crm.core.clock import utcnow
from crm.core.errors import Conflict
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import check_text
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import INTO_POOL
from crm.highseas.models import OPEN_CLAIM
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasMove
from crm.highseas.models import HighSeasPool
from crm.highseas.models import HighSeasReminder
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
    stmt = select(Customer).where(Customer.id == customer_id).execution_options(populate_existing=True)
    if _pg():
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


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
            pool, customer = get_pool_customer(key, actor)
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
            notify([target.id], "highseas_moved", str(_l("A customer was assigned to you: %(name)s", name=customer.name)),
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
    existing = _open_claim(customer.id)
    if existing is not None:
        who = existing.applicant.name if existing.applicant_id != actor.id else str(_l("You"))
        raise Conflict(_l("%(who)s already applied for %(name)s; wait for that application to be decided.",
                          who=who, name=customer.name))
    if customer.owner_id is not None:
        raise Conflict(_l("%(name)s is no longer in the high seas.", name=customer.name))
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
    stmt = select(HighSeasClaim).where(HighSeasClaim.id == claim_id).execution_options(populate_existing=True)
    if _pg():
        stmt = stmt.with_for_update()
    claim = db.session.scalar(stmt)
    if claim is None:
        raise NotFound()
    return claim


def claim_approved(claim_id: int, actor_id: int | None) -> dict[str, Any]:
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
        notify([claim.applicant_id], "highseas_claim", str(_l("Your claim of %(name)s could not be completed",
                                                                 name=customer.name)),
               body=str(_l("The customer was given to someone else meanwhile.")), url=_url(customer),
               store_id=customer.store_id)
        return {"owner_set": False}
    if customer.owner_id is None:
        _set_owner(customer, claim.applicant_id, MoveKind.CLAIMED, claim.reason, actor_id=actor_id)
    claim.status = ClaimStatus.VISITING
    claim.visit_due_at = now + timedelta(days=pool.return_visit_days)
    db.session.flush()
    due = claim.visit_due_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    notify([claim.applicant_id], "highseas_claim", str(_l("Your claim of %(name)s was approved", name=customer.name)),
           body=str(_l("Record a visit before %(due)s or the customer returns to the high seas.", due=due)),
           url=_url(customer), store_id=customer.store_id)
    others = {_supervisor_of(claim.applicant_id), claim.former_owner_id} - {None, claim.applicant_id}
    notify([u for u in others if u], "highseas_claim",
           str(_l("%(who)s claimed %(name)s from the high seas", who=claim.applicant.name, name=customer.name)),
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
    notify([claim.applicant_id], "highseas_claim", str(_l("Your claim of %(name)s was rejected", name=customer.name)),
           body=str(_l("The customer stays in the high seas.")), url="/high-seas/claims", store_id=customer.store_id)
    return {"status": "rejected"}


def claim_visited(claim_id: int) -> dict[str, Any]:
    claim = _claim(claim_id)
    customer = db.session.get(Customer, claim.customer_id)
    assert customer is not None
    claim.status = ClaimStatus.KEPT
    claim.closed_at = utcnow()
    db.session.flush()
    notify([u for u in {claim.applicant_id, _supervisor_of(claim.applicant_id)} if u], "highseas_claim",
           str(_l("%(name)s was visited in time and stays with %(who)s", name=customer.name, who=claim.applicant.name)),
           url=_url(customer), store_id=customer.store_id)
    return {"status": "kept"}


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
               str(_l("%(name)s returned to the high seas: no visit in time", name=customer.name)),
               url=_url(customer), store_id=customer.store_id)
    return {"status": "returned", "returned": returned}


# The sweep ----------------------------------------------------------------------------------------------
# Set-based: candidate rows are read as plain tuples (no ORM objects), taken with FOR UPDATE SKIP LOCKED on
# PostgreSQL (a customer in the middle of a claim or an assignment is left for the next run), decided by
# `rules.recycle_due`, and each batch is written with one UPDATE of the customers, one of their contacts,
# one multi-row INSERT of the moves and one of the operation-log events. Owners and supervisors get one
# notification per run, not one per customer.
_SWEEP_COLUMNS = (Customer.id, Customer.store_id, Customer.name, Customer.owner_id, Customer.level, Customer.won, Customer.locked,
                  Customer.owned_since, Customer.created_at, Customer.last_follow_up_at, Customer.last_deal_at)


def _candidates(pool: HighSeasPool, now: datetime, horizon_days: int, limit: int, after_id: int) -> list[Any]:
    """Owned, unlocked customers of the pool's store whose rule clocks are old enough to matter now (or
    within the reminder horizon); the precise decision is `rules.recycle_due`."""
    days = rules.min_days(pool)
    assert days is not None
    cutoff = now - timedelta(days=max(days - horizon_days, 0))
    stmt = select(*_SWEEP_COLUMNS).where(
        Customer.store_id == pool.store_id, Customer.owner_id.is_not(None), Customer.locked.is_(False),
        Customer.id > after_id,
        or_(Customer.owned_since.is_(None), Customer.owned_since <= cutoff),
        or_(Customer.last_follow_up_at.is_(None), Customer.last_follow_up_at <= cutoff,
            Customer.last_deal_at.is_(None), Customer.last_deal_at <= cutoff),
    )
    if pool.exempt_won:
        stmt = stmt.where(Customer.won.is_(False))
    owners = rules.member_ids(pool)
    if owners is not None:
        stmt = stmt.where(Customer.owner_id.in_(owners))
    stmt = stmt.order_by(Customer.id).limit(limit)
    if _pg():
        stmt = stmt.with_for_update(skip_locked=True, of=Customer.__table__)
    return list(db.session.execute(stmt))


def _json_object(*pairs: Any) -> Any:
    """A JSON object built by the database (json_build_object / json_object)."""
    if _pg():
        from sqlalchemy.dialects.postgresql import JSONB

        return cast(func.json_build_object(*pairs), JSONB)
    return func.json_object(*pairs)


def _recycle_many(store_id: int, items: list[tuple[Any, str, str]], now: datetime) -> None:
    """Write one batch of recycles: items are (row, rule, reason); rows are locked by the caller. The moves
    and the operation-log events are INSERT … SELECT from the customers (one per distinct reason), before
    the UPDATE that clears the owners."""
    table = Customer.__table__
    groups: dict[tuple[str, str], list[int]] = {}
    for row, rule, reason in items:
        groups.setdefault((rule, reason), []).append(row.id)
    moves = HighSeasMove.__table__
    log = OperationLog.__table__
    for (rule, reason), ids in groups.items():
        chosen = select(table.c.id).where(table.c.id.in_(ids), table.c.owner_id.is_not(None))
        db.session.execute(insert(moves).from_select(
            ["store_id", "customer_id", "kind", "from_owner_id", "to_owner_id", "reason", "rule", "actor_id", "at"],
            select(table.c.store_id, table.c.id, literal(MoveKind.RECYCLED.value), table.c.owner_id,
                   null(), literal(reason[:500]), literal(rule), null(), literal(now, type_=moves.c.at.type))
            .where(table.c.id.in_(chosen))))
        owner_change = _json_object(literal("type"), literal("int"), literal("old"), null(),
                                    literal("new"), table.c.owner_id)
        nothing = _json_object(literal("type"), literal("null"), literal("old"), null(), literal("new"), null())
        rule_change = _json_object(literal("type"), literal("str"), literal("old"), null(), literal("new"),
                                   literal(rule))
        db.session.execute(insert(log).from_select(
            ["occurred_at", "actor_id", "object_type", "object_id", "store_id", "action", "changes", "note"],
            select(literal(now, type_=log.c.occurred_at.type), null(), literal("customer"), table.c.id,
                   table.c.store_id, literal("high_seas_recycled"),
                   _json_object(literal("owner_id_old"), owner_change, literal("owner_id_new"), nothing,
                                literal("rule"), rule_change),
                   literal(reason[:300]))
            .where(table.c.id.in_(chosen))))
    ids = [row.id for row, _, _ in items]
    db.session.execute(update(table).where(table.c.id.in_(ids), table.c.owner_id.is_not(None)).values(
        owner_id=None, owned_since=None, lock_version=table.c.lock_version + 1, updated_at=now))
    contacts = Contact.__table__
    db.session.execute(update(contacts).where(contacts.c.customer_id.in_(ids)).values(owner_id=None))


def _tell_recycled(store_id: int, recycled: dict[int, list[tuple[int, str]]]) -> None:
    """One notification per owner and one per supervisor for the whole run."""
    by_person: dict[int, list[tuple[int, str]]] = {}
    supervisors = {uid: sup for uid, sup in db.session.execute(
        select(User.id, User.supervisor_id).where(User.id.in_(list(recycled))))}
    for owner_id, customers in recycled.items():
        for person in {owner_id, supervisors.get(owner_id)} - {None}:
            by_person.setdefault(int(person), []).extend(customers)  # type: ignore[arg-type]
    for person, customers in by_person.items():
        if len(customers) == 1:
            cid, name = customers[0]
            notify([person], "highseas_moved", str(_l("%(name)s was recycled to the high seas", name=name)),
                   url=f"/customers/{cid}", store_id=store_id)
        else:
            names = ", ".join(name for _, name in customers[:10]) + ("…" if len(customers) > 10 else "")
            notify([person], "highseas_moved",
                   str(_l("%(n)d customers were recycled to the high seas", n=len(customers))), body=names,
                   url="/high-seas/", store_id=store_id)


def sweep_pool(pool: HighSeasPool, *, batch: int = 2000) -> dict[str, int]:
    result = {"recycled": 0, "reminded": 0}
    if not pool.auto_recycle or rules.min_days(pool) is None:
        return result
    now = utcnow()
    exempt = rules.exempt_ids(pool)
    open_claims = set(db.session.scalars(select(HighSeasClaim.customer_id).where(
        HighSeasClaim.store_id == pool.store_id, HighSeasClaim.status.in_(OPEN_CLAIM))))
    horizon = pool.remind_days or 0
    recycled: dict[int, list[tuple[int, str]]] = {}
    after = 0
    while True:
        rows = _candidates(pool, now, horizon, batch, after)
        if not rows:
            break
        after = rows[-1].id
        todo: list[tuple[Any, str, str]] = []
        for row in rows:
            if row.id in exempt or row.id in open_claims:
                continue
            due = rules.recycle_due(pool, row)  # type: ignore[arg-type]
            if due is None:
                continue
            when, rule, days = due
            if when <= now:
                todo.append((row, rule, str(rules.RULE_REASONS[rule] % {"days": days})))
                recycled.setdefault(row.owner_id, []).append((row.id, row.name))
            elif horizon and when - timedelta(days=horizon) <= now and _remind(row, when):
                result["reminded"] += 1
        if todo:
            _recycle_many(pool.store_id, todo, now)
            result["recycled"] += len(todo)
    if recycled:
        db.session.expire_all()  # customers loaded in this session are stale now
        _tell_recycled(pool.store_id, recycled)
    db.session.flush()
    return result


def _remind(customer: Any, when: datetime) -> bool:
    due_on = when.astimezone(LOCAL).date().isoformat()
    assert customer.owner_id is not None
    try:
        with db.session.begin_nested():
            db.session.add(HighSeasReminder(store_id=customer.store_id, customer_id=customer.id,
                                            owner_id=customer.owner_id, due_on=due_on, sent_at=utcnow()))
    except IntegrityError:
        return False
    notify([customer.owner_id], "highseas_reminder",
           str(_l("%(name)s goes back to the high seas on %(day)s", name=customer.name, day=due_on)),
           body=str(_l("Record a follow-up to keep the customer.")), url=_url(customer), store_id=customer.store_id)
    return True


def sweep(store_id: int | None = None) -> dict[str, int]:
    """The daily recycle job: every store's pool (created on demand), each customer moved with its reason."""
    from crm.org.models import OrgUnit
    from crm.org.models import UnitKind

    stmt = select(OrgUnit.id).where(OrgUnit.kind == UnitKind.STORE).order_by(OrgUnit.id)
    if store_id is not None:
        stmt = stmt.where(OrgUnit.id == store_id)
    total = {"recycled": 0, "reminded": 0}
    for sid in list(db.session.scalars(stmt)):
        pool = rules.pool_for(sid)
        for key, value in sweep_pool(pool).items():
            total[key] += value
    return total


def days_until_recycle(customer: Customer) -> int | None:
    """For the badge on owned customers: whole days left (0 = goes tonight), None when exempt."""
    if customer.owner_id is None:
        return None
    pool = rules.pool_for(customer.store_id)
    if customer.id in rules.exempt_ids(pool):
        return None
    due = rules.recycle_due(pool, customer)
    if due is None:
        return None
    when = due[0] if due[0].tzinfo else due[0].replace(tzinfo=ZoneInfo("UTC"))
    return max((when - utcnow()).days, 0)


def role(pool: HighSeasPool, actor: User) -> PoolRole | None:
    return rules.role_in(pool, actor)
