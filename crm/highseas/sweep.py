"""The recycle sweep of the high seas: the daily job that moves customers whose rules ran out back to
the pool (with the reason), and reminds owners before it happens; `days_until_recycle` for the badge."""

from __future__ import annotations

from datetime import datetime
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
from crm.core.clock import utcnow
from crm.customers.models import Contact
from crm.customers.models import Customer
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import OPEN_CLAIM
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasMove
from crm.highseas.models import HighSeasPool
from crm.highseas.models import HighSeasReminder
from crm.highseas.models import MoveKind
from crm.highseas.services import LOCAL
from crm.highseas.services import _pg  # the package's own helpers
from crm.highseas.services import _url
from crm.notify.services import notify
from crm.org.models import User

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
