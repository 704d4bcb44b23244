"""Pools, membership, the recycle rules (pure computation) and the exemption registry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.auth.scopes import scope_context
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.extensions import db
from crm.highseas.models import HighSeasPool
from crm.highseas.models import HighSeasPoolMember
from crm.highseas.models import PoolRole
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

Errors = dict[str, str]

# Exemptions other contexts fill: name -> callable(store_id) returning a SELECT of customer ids that the
# sweep must leave alone (e.g. sales: customers with an open opportunity). Checked only when the pool's
# `exempt_open_opportunity` is on for the "opportunity" kind; every other registered kind always applies.
Exemption = Callable[[int], Select[Any]]
_exemptions: dict[str, tuple[str, Exemption]] = {}


def register_exemption(name: str, select_ids: Exemption, *, kind: str = "opportunity") -> None:
    _exemptions[name] = (kind, select_ids)


def unregister_exemption(name: str) -> None:
    _exemptions.pop(name, None)


def exemption_selects(pool: HighSeasPool) -> list[Select[Any]]:
    """The SELECTs of exempt customer ids that apply to this pool (the sweep uses them as NOT IN)."""
    return [fn(pool.store_id) for kind, fn in list(_exemptions.values())
            if kind != "opportunity" or pool.exempt_open_opportunity]


def exempt_ids(pool: HighSeasPool) -> set[int]:
    ids: set[int] = set()
    for stmt in exemption_selects(pool):
        ids.update(db.session.scalars(stmt))
    return ids


# Pools --------------------------------------------------------------------------------------------------
def pool_for(store_id: int) -> HighSeasPool:
    """The pool of a store, created with the default rules the first time anyone needs it."""
    pool = db.session.scalar(select(HighSeasPool).where(HighSeasPool.store_id == store_id))
    if pool is not None:
        return pool
    store = db.session.get(OrgUnit, store_id)
    if store is None or store.kind != UnitKind.STORE:
        raise NotFound()
    try:
        with db.session.begin_nested():
            pool = HighSeasPool(store_id=store_id, name=f"{store.name}", level_days={})
            db.session.add(pool)
    except IntegrityError:  # created concurrently
        pool = db.session.scalar(select(HighSeasPool).where(HighSeasPool.store_id == store_id))
    assert pool is not None
    return pool


def members(pool: HighSeasPool) -> list[HighSeasPoolMember]:
    return list(db.session.scalars(select(HighSeasPoolMember).where(HighSeasPoolMember.pool_id == pool.id)
                                   .order_by(HighSeasPoolMember.id)))


def role_in(pool: HighSeasPool, user: User) -> PoolRole | None:
    """ADMIN: pool admins and people with `highseas.assign` or `highseas.configure` in scope of the store
    (managers and the admin role, whose scope covers many stores); MEMBER: the store's people when the pool
    lists nobody, else the listed members."""
    if user.is_super_admin:
        return PoolRole.ADMIN
    if pool.store_id not in scope_context(user).selectable_stores():
        return None
    row = db.session.scalar(select(HighSeasPoolMember).where(HighSeasPoolMember.pool_id == pool.id,
                                                             HighSeasPoolMember.user_id == user.id))
    if user.can("highseas.assign") or user.can("highseas.configure") or (row is not None and row.role == PoolRole.ADMIN):
        return PoolRole.ADMIN
    if not user.can("highseas.view"):
        return None
    if row is not None:
        return PoolRole.MEMBER
    has_members = db.session.scalar(select(HighSeasPoolMember.id).where(HighSeasPoolMember.pool_id == pool.id)
                                    .limit(1))
    if has_members is None and user.store_id == pool.store_id:
        return PoolRole.MEMBER
    return None


def member_ids(pool: HighSeasPool) -> list[int] | None:
    """User ids whose customers the rules recycle; None: everybody of the store."""
    rows = members(pool)
    return [m.user_id for m in rows] if rows else None


def check_member(pool: HighSeasPool, user: User) -> PoolRole:
    role = role_in(pool, user)
    if role is None:
        raise NotFound()
    return role


def check_admin(pool: HighSeasPool, user: User) -> None:
    if check_member(pool, user) != PoolRole.ADMIN:
        raise PermissionDenied()


def _int(raw: Any, errors: Errors, field: str, *, low: int, high: int, optional: bool = True) -> int | None:
    if raw in (None, ""):
        if optional:
            return None
        errors[field] = str(_l("This field is required."))
        return None
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors[field] = str(_l("Enter a whole number."))
        return None
    if not low <= value <= high:
        errors[field] = str(_l("Enter a number from %(low)d to %(high)d.", low=low, high=high))
        return None
    return value


def _bool(raw: Any) -> bool:
    return raw not in (None, "", False, "0", "false", "off", 0)


def update_pool(pool: HighSeasPool, data: dict[str, Any], *, actor: User, lock_version: Any = None) -> HighSeasPool:
    check_admin(pool, actor)
    if not actor.can("highseas.configure"):
        raise PermissionDenied()
    if lock_version not in (None, ""):
        try:
            if int(lock_version) != pool.lock_version:
                from crm.core.errors import Conflict

                raise Conflict()
        except (TypeError, ValueError):
            raise ValidationFailed({"lock_version": _l("Invalid version; reload the page.")}) from None
    errors: Errors = {}
    raw_name = data.get("name")
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    if not name:
        errors["name"] = str(_l("This field is required."))
    elif len(name) > 100:
        errors["name"] = str(_l("At most %(n)d characters.", n=100))
    values: dict[str, Any] = {
        "follow_up_days": _int(data.get("follow_up_days"), errors, "follow_up_days", low=1, high=3650),
        "deal_days": _int(data.get("deal_days"), errors, "deal_days", low=1, high=3650),
        "remind_days": _int(data.get("remind_days"), errors, "remind_days", low=1, high=365),
        "cooldown_days": _int(data.get("cooldown_days") or 0, errors, "cooldown_days", low=0, high=3650,
                              optional=False),
        "daily_claim_quota": _int(data.get("daily_claim_quota"), errors, "daily_claim_quota", low=1, high=10000),
        "max_owned": _int(data.get("max_owned"), errors, "max_owned", low=1, high=1000000),
        "max_locked": _int(data.get("max_locked"), errors, "max_locked", low=0, high=1000000),
        "return_visit_days": _int(data.get("return_visit_days"), errors, "return_visit_days", low=1, high=365,
                                  optional=False),
    }
    level_days: dict[str, int] = {}
    for level in CustomerLevel:
        field = f"level_days_{level.value}"
        raw = data.get(field)
        if raw in (None, "") and isinstance(data.get("level_days"), dict):
            raw = data["level_days"].get(level.value)
        value = _int(raw, errors, field, low=1, high=3650)
        if value is not None:
            level_days[level.value] = value
    if errors:
        raise ValidationFailed(errors)
    pool.name = name
    for key, value in values.items():
        setattr(pool, key, value)
    pool.level_days = level_days
    for flag in ("auto_recycle", "exempt_won", "exempt_open_opportunity", "won_counts"):
        setattr(pool, flag, _bool(data.get(flag)))
    db.session.flush()
    return pool


def set_member(pool: HighSeasPool, user_id: Any, role: Any, *, actor: User) -> HighSeasPoolMember | None:
    """Add or change a member (role "member" / "admin"), or remove them (role "")."""
    check_admin(pool, actor)
    if not actor.can("highseas.configure"):
        raise PermissionDenied()
    try:
        key = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"user_id": _l("Choose a person from the list.")}) from None
    user = db.session.get(User, key) if 0 < key < 2**31 else None
    if user is None or user.store_id != pool.store_id:
        raise ValidationFailed({"user_id": _l("Choose an active person of the pool's store.")})
    if role in (None, "", "remove"):
        db.session.execute(delete(HighSeasPoolMember).where(HighSeasPoolMember.pool_id == pool.id,
                                                            HighSeasPoolMember.user_id == user.id))
        db.session.flush()
        return None
    try:
        level = PoolRole(str(role))
    except ValueError:
        raise ValidationFailed({"role": _l("Choose member or admin.")}) from None
    row = db.session.scalar(select(HighSeasPoolMember).where(HighSeasPoolMember.pool_id == pool.id,
                                                             HighSeasPoolMember.user_id == user.id))
    if row is None:
        row = HighSeasPoolMember(store_id=pool.store_id, pool_id=pool.id, user_id=user.id)
        db.session.add(row)
    row.role = level
    db.session.flush()
    return row


# Rules --------------------------------------------------------------------------------------------------
RULE_REASONS = {
    "follow_up": _l("No follow-up for %(days)d days: recycled to the high seas automatically"),
    "deal": _l("No deal for %(days)d days: recycled to the high seas automatically"),
}


def _since(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def follow_up_limit(pool: HighSeasPool, level: Any) -> int | None:
    key = level.value if isinstance(level, CustomerLevel) else (level or "")
    override = (pool.level_days or {}).get(key)
    return int(override) if override else pool.follow_up_days


def recycle_due(pool: HighSeasPool, customer: Customer) -> tuple[datetime, str, int] | None:
    """When the rules send this owned customer back to the pool: (time, rule, days), the earliest rule;
    None when no rule applies (pool off, locked, won and exempt, no rule set). Exemptions by registry are
    checked by the sweep. The clock restarts when the current owner received the customer."""
    if not pool.auto_recycle or customer.owner_id is None or customer.locked:
        return None
    if customer.won and pool.exempt_won:
        return None
    start = customer.owned_since or customer.created_at
    found: list[tuple[datetime, str, int]] = []
    days = follow_up_limit(pool, customer.level)
    if days:
        base = _since(customer.last_follow_up_at, start)
        if base is not None:
            found.append((base + timedelta(days=days), "follow_up", days))
    if pool.deal_days:
        base = _since(customer.last_deal_at, start)
        if base is not None:
            found.append((base + timedelta(days=pool.deal_days), "deal", pool.deal_days))
    return min(found, key=lambda f: f[0]) if found else None


def min_days(pool: HighSeasPool) -> int | None:
    values = [v for v in [pool.follow_up_days, pool.deal_days, *[int(x) for x in (pool.level_days or {}).values()]]
              if v]
    return min(values) if values else None
