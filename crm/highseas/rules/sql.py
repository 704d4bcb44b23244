"""The recycle rules of `rules.recycle_due` as SQL expressions over the customer table, so the sweep can
decide in the database (and the customer list can show days until recycle for a page in one query).

Portable: every expression is plain Core that PostgreSQL and SQLite both run. Cut-offs ("the clock must
have started before X") are computed in Python per customer level and compared with the columns, so no
date arithmetic is needed to decide; only choosing between two rules that are both due and computing the
days left need a number of seconds, for which `epoch()` has one spelling per dialect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select

from crm.core.db import UTCDateTime
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.highseas import rules
from crm.highseas.models import OPEN_CLAIM
from crm.highseas.models import HighSeasClaim
from crm.highseas.models import HighSeasPool

C = Customer.__table__.c


def epoch(value: Any, dialect: str) -> ColumnElement[Any]:
    """Seconds since 1970 of a timestamp column (PostgreSQL: extract; SQLite: julianday)."""
    if dialect == "postgresql":
        return func.extract("epoch", value)
    return (func.julianday(value) - 2440587.5) * 86400.0


def _base(column: Any) -> ColumnElement[Any]:
    """The later of a rule's last event and when the current owner got the customer (`rules._since`)."""
    start = func.coalesce(C.owned_since, C.created_at)
    return case((and_(column.is_not(None), column > start), column), else_=start)


def _at(moment: datetime) -> ColumnElement[Any]:
    return literal(moment, type_=UTCDateTime())


@dataclass
class PoolRules:
    """One pool's rules as SQL: `due(at)` (some rule has run out by `at`), `rule` and `reason` (the earliest
    rule that ran out, as `recycle_due` picks it), `due_epoch` (when the earliest rule runs out)."""

    pool: HighSeasPool
    dialect: str

    def __post_init__(self) -> None:
        pool = self.pool
        self.fu_by_level = {lvl: rules.follow_up_limit(pool, lvl) for lvl in CustomerLevel}
        self.fu_default = rules.follow_up_limit(pool, None)  # no level: the pool's days (or a "" override)
        self.has_fu = bool(self.fu_default) or any(self.fu_by_level.values())
        self.deal_days = pool.deal_days or None
        self.fu_base = _base(C.last_follow_up_at)
        self.deal_base = _base(C.last_deal_at)

    def _by_level(self, value: Any) -> ColumnElement[Any]:
        """CASE over the level: value(days) for each level whose follow-up days differ from the default."""
        whens = [(C.level == lvl.value, value(days)) for lvl, days in self.fu_by_level.items()
                 if days != self.fu_default]
        default = value(self.fu_default)
        return case(*whens, else_=default) if whens else default

    def fu_days(self) -> ColumnElement[Any]:
        return self._by_level(lambda d: literal(d) if d else null())

    def fu_due(self, at: datetime) -> ColumnElement[Any]:
        if not self.has_fu:
            return false()
        return self.fu_base <= self._by_level(lambda d: _at(at - timedelta(days=d)) if d else null())

    def deal_due(self, at: datetime) -> ColumnElement[Any]:
        if not self.deal_days:
            return false()
        return self.deal_base <= _at(at - timedelta(days=self.deal_days))

    def due(self, at: datetime) -> ColumnElement[Any]:
        return or_(self.fu_due(at), self.deal_due(at))

    def fu_epoch(self) -> ColumnElement[Any]:
        return epoch(self.fu_base, self.dialect) + self.fu_days() * 86400

    def deal_epoch(self) -> ColumnElement[Any]:
        return epoch(self.deal_base, self.dialect) + literal(self.deal_days or 0) * 86400

    def rule(self, at: datetime) -> ColumnElement[Any]:
        """For rows that are due at `at`: "follow_up" or "deal", the earlier one (follow-up on a tie)."""
        if not self.deal_days:
            return literal("follow_up")
        if not self.has_fu:
            return literal("deal")
        return case((and_(self.fu_due(at), or_(~self.deal_due(at), self.fu_epoch() <= self.deal_epoch())), "follow_up"),
                    else_="deal")

    def reason(self, at: datetime) -> ColumnElement[Any]:
        def text(rule: str, days: int | None) -> Any:
            return literal(str(rules.RULE_REASONS[rule] % {"days": days})) if days else null()

        fu_reason = self._by_level(lambda d: text("follow_up", d))
        if not self.deal_days:
            return fu_reason
        return case((self.rule(at) == "deal", text("deal", self.deal_days)), else_=fu_reason)

    def due_epoch(self) -> ColumnElement[Any]:
        """When the earliest rule runs out, in epoch seconds (NULL when no rule applies)."""
        fu = self.fu_epoch()
        if not self.has_fu:
            return self.deal_epoch()
        if not self.deal_days:
            return fu
        deal = self.deal_epoch()
        return case((fu.is_(None), deal), (fu <= deal, fu), else_=deal)

    def eligible(self) -> list[ColumnElement[Any]]:
        """Owned customers of the pool's store the rules apply to at all: not locked, not won (when won
        customers are exempt), of a member (when the pool lists members), without an open claim, and not
        exempted by another context (e.g. an open opportunity)."""
        pool = self.pool
        conds: list[ColumnElement[Any]] = [C.store_id == pool.store_id, C.owner_id.is_not(None),
                                           C.locked.is_(False)]
        if pool.exempt_won:
            conds.append(C.won.is_(False))
        owners = rules.member_ids(pool)
        if owners is not None:
            conds.append(C.owner_id.in_(owners))
        conds.append(C.id.not_in(select(HighSeasClaim.customer_id).where(
            HighSeasClaim.store_id == pool.store_id, HighSeasClaim.status.in_(OPEN_CLAIM))))
        for stmt in rules.exemption_selects(pool):
            sub = stmt.subquery()
            first = list(sub.c)[0]
            conds.append(C.id.not_in(select(first).where(first.is_not(None))))
        return conds
