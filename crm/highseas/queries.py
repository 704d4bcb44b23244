"""Reads of the high seas: the pool list (keyset), claim applications (mine / audit), move history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.clock import utcnow
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import INTO_POOL
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasMove
from crm.highseas.models import HighSeasPool
from crm.org.models import OrgUnit
from crm.org.models import User


def pool_stores(actor: User) -> list[OrgUnit]:
    """Stores whose pool the actor may open (member or admin)."""
    ids = scope_context(actor).selectable_stores()
    stores = list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.name, OrgUnit.id))) \
        if ids else []
    return [s for s in stores if rules.role_in(rules.pool_for(s.id), actor) is not None]


@dataclass
class PoolFilters:
    q: str | None = None
    level: CustomerLevel | None = None


def pool_page(store_id: int, filters: PoolFilters, *, cursor: str | None = None, limit: int = 50) -> Page[Any]:
    """Pool customers of one store, newest first, with how long each has been in the pool and the former
    owner (one extra query for the page, never one per row). Access is checked by the caller."""
    stmt = select(Customer).where(Customer.owner_id.is_(None), Customer.store_id == store_id)
    if filters.q:
        stmt = stmt.where(Customer.name.like(f"%{filters.q.replace('%', '').replace('_', '')}%"))
    if filters.level is not None:
        stmt = stmt.where(Customer.level == filters.level)
    page = keyset_page(db.session, stmt, [SortKey(Customer.created_at, True), SortKey(Customer.id, True)],
                       cursor=cursor, limit=limit)
    ids = [c.id for c in page.items]
    entered: dict[int, tuple[datetime, int | None, str]] = {}
    if ids:
        # The last move into the pool per customer, as a correlated subquery per page row (an index probe
        # each): a GROUP BY over `customer_id IN (…)` lets PostgreSQL scan the whole table when its
        # statistics lag behind a big sweep night (80 ms instead of 1 at 1 M customers).
        inner = HighSeasMove.__table__.alias("m")
        last_id = (select(func.max(inner.c.id)).where(inner.c.customer_id == Customer.id,
                                                      inner.c.kind.in_([k.value for k in INTO_POOL]))
                   .scalar_subquery())
        last = [mid for mid in db.session.scalars(select(last_id).where(Customer.id.in_(ids))) if mid]
        for move in db.session.scalars(select(HighSeasMove).where(HighSeasMove.id.in_(last))) if last else []:
            entered[move.customer_id] = (move.at, move.from_owner_id, move.reason)
        pending = set(db.session.scalars(select(HighSeasClaim.customer_id).where(
            HighSeasClaim.customer_id.in_(ids), HighSeasClaim.status == ClaimStatus.PENDING)))
    else:
        pending = set()
    now = utcnow()
    names = _names({e[1] for e in entered.values() if e[1]})
    page.extra = {
        "entered": {cid: {"at": at, "days": max((now - at).days, 0), "former": names.get(former or 0),
                          "reason": reason} for cid, (at, former, reason) in entered.items()},
        "pending": pending,
    }
    return page


# Export -------------------------------------------------------------------------------------------------
def export_titles() -> list[str]:
    from flask_babel import gettext as _

    return [_("ID"), _("Name"), _("Company"), _("Mobile number"), _("WeChat ID"), _("E-mail"), _("Province"),
            _("City"), _("Level"), _("Industry"), _("Tags"), _("In the pool"), _("Former owner"), _("Why"),
            _("Created")]


def export_rows(store_id: int, filters: PoolFilters, *, batch: int = 1000) -> Iterator[list[Any]]:
    """Every pool customer of the store matching the filters, in the pool list's order, as table rows:
    read in keyset pages (`pool_page`, so the same filters and the same per-page extra queries)."""
    cursor = None
    while True:
        page = pool_page(store_id, filters, cursor=cursor, limit=batch)
        entered = page.extra["entered"]
        for c in page.items:
            e = entered.get(c.id) or {}
            yield [c.id, c.name, c.company or "", c.mobile or "", c.chat_id or "", c.email or "", c.province or "",
                   c.city or "", c.level.value if c.level else "", c.industry or "", ", ".join(c.tags or []),
                   e.get("days", ""), e.get("former") or "", e.get("reason") or "",
                   c.created_at.isoformat(timespec="minutes")]
        if not page.has_next:
            return
        cursor = page.next_cursor


def export_file(store_id: int, filters: PoolFilters, fmt: str) -> tuple[bytes, str, str]:
    """(body, file name, MIME type) of the pool export, CSV or XLSX (crm.core.tabular)."""
    from crm.core.tabular import write_table

    body = write_table(export_titles(), export_rows(store_id, filters), fmt, sheet="high seas")
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return body, f"high-seas-{store_id}-{utcnow():%Y%m%d-%H%M}.{fmt}", mimetype


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {uid: name for uid, name in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def my_claims(actor: User, *, cursor: str | None = None, limit: int = 50) -> Page[Any]:
    stmt = select(HighSeasClaim).where(HighSeasClaim.applicant_id == actor.id)
    return _claims_page(stmt, cursor, limit)


def audit_claims(actor: User, status: ClaimStatus | None = None, *, cursor: str | None = None,
                 limit: int = 50) -> Page[Any]:
    """Claims in the supervisor's scope (their team's applications: the claim's owner is the applicant)."""
    stmt = visible(select(HighSeasClaim), actor, HighSeasClaim)
    if status is not None:
        stmt = stmt.where(HighSeasClaim.status == status)
    return _claims_page(stmt, cursor, limit)


def _claims_page(stmt: Any, cursor: str | None, limit: int) -> Page[Any]:
    page = keyset_page(db.session, stmt, [SortKey(HighSeasClaim.created_at, True), SortKey(HighSeasClaim.id, True)],
                       cursor=cursor, limit=limit)
    cids = {c.customer_id for c in page.items}
    customers = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(cids)))} if cids else {}
    page.extra = {"customers": customers,
                  "users": _names({c.applicant_id for c in page.items} | {c.former_owner_id for c in page.items
                                                                           if c.former_owner_id})}
    return page


def get_claim(claim_id: Any, actor: User) -> HighSeasClaim:
    from crm.auth.scopes import get_visible

    return get_visible(HighSeasClaim, claim_id, actor)


def history(customer_id: int, limit: int = 100) -> list[HighSeasMove]:
    return list(db.session.scalars(select(HighSeasMove).where(HighSeasMove.customer_id == customer_id)
                                   .order_by(HighSeasMove.at.desc(), HighSeasMove.id.desc()).limit(limit)))


def store_people(store_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.store_id == store_id, User.active.is_(True))
                                   .order_by(User.name, User.id)))



def about_to_recycle(user: User, *, days: int = 7, limit: int = 5) -> tuple[int, list[tuple[int, str, int]]]:
    """The user's own customers the store's recycle rules send back to the high seas within `days` (or the
    pool's reminder window, if longer): (how many, the first `limit` as (id, name, whole days left)),
    soonest first. Computed by the sweep's own rules (`rules.recycle_due`) on the few rows the SQL window
    finds; nothing when the store recycles nothing."""
    from datetime import timedelta

    from crm.highseas.rules import sql as rules_sql

    if user.store_id is None:
        return 0, []
    # Read, never created here (a page view writes nothing); the nightly sweep creates every store's pool.
    pool = db.session.scalar(select(HighSeasPool).where(HighSeasPool.store_id == user.store_id))
    if pool is None or not pool.auto_recycle or rules.min_days(pool) is None:
        return 0, []
    now = utcnow()
    sql = rules_sql.PoolRules(pool, db.engine.dialect.name)
    ahead = now + timedelta(days=max(days, pool.remind_days or 0))
    columns = (Customer.id, Customer.store_id, Customer.name, Customer.owner_id, Customer.level, Customer.won,
               Customer.locked, Customer.owned_since, Customer.created_at, Customer.last_follow_up_at,
               Customer.last_deal_at)
    rows = db.session.execute(select(*columns).where(*sql.eligible(), sql.due(ahead), Customer.owner_id == user.id)
                              .limit(500))
    exempt = rules.exempt_ids(pool)
    found = []
    for row in rows:
        due = rules.recycle_due(pool, row)  # type: ignore[arg-type]
        if due is None or row.id in exempt:
            continue
        when = due[0] if due[0].tzinfo else due[0].replace(tzinfo=now.tzinfo)
        found.append((row.id, row.name, max((when - now).days, 0)))
    found.sort(key=lambda r: (r[2], r[1]))
    return len(found), found[:limit]
