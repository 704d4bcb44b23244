"""Demo data for the high seas: each demo pool customer gets the move that put it there, with a reason; every
store has its pool, and each salesperson one customer the recycle rules send back in two days (the home
page's "about to go back to the high seas" is never empty in the demo, and tonight's sweep leaves it)."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from crm.core.clock import utcnow
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.customers.models import FollowUpKind
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import HighSeasMove
from crm.highseas.models import MoveKind

REASONS = ["超过30天无新建跟进记录，自动进入公海", "客户长期未接电话", "客户已转向其他供应商", "销售离职交接放入公海"]


def seed(seed_value: int = 2026) -> int:
    rnd = random.Random(seed_value)
    now = utcnow()
    made = 0
    for customer in db.session.scalars(select(Customer).where(Customer.owner_id.is_(None)).order_by(Customer.id)):
        rules.pool_for(customer.store_id)
        reason = rnd.choice(REASONS)
        db.session.add(HighSeasMove(
            store_id=customer.store_id, customer_id=customer.id,
            kind=MoveKind.RECYCLED if reason.startswith("超过") else MoveKind.RELEASED, reason=reason,
            rule="follow_up" if reason.startswith("超过") else None,
            at=max(customer.created_at, now - timedelta(days=rnd.randint(1, 40)))))
        made += 1
    db.session.flush()
    due_soon(now)
    return made


DUE_IN_DAYS = 2


def due_soon(now: datetime, days_left: int = DUE_IN_DAYS) -> list[int]:
    """For each salesperson, one of their customers (not won, not locked, not exempt, last followed up
    before) whose last follow-up is dated so that the store's follow-up rule sends it back to the high seas
    in `days_left` days; every store with owned customers gets its pool. Returns the customers' ids."""
    chosen: list[int] = []
    owned = db.session.scalars(select(Customer).where(Customer.owner_id.is_not(None), Customer.won.is_(False),
                                                      Customer.locked.is_(False)).order_by(Customer.id))
    by_owner: dict[int, list[Customer]] = {}
    for customer in owned:
        by_owner.setdefault(customer.owner_id or 0, []).append(customer)
    exempt: dict[int, set[int]] = {}
    for _owner, customers in sorted(by_owner.items()):
        for customer in customers:
            pool = rules.pool_for(customer.store_id)
            days = rules.follow_up_limit(pool, customer.level)
            if not pool.auto_recycle or not days:
                continue
            if customer.store_id not in exempt:
                exempt[customer.store_id] = rules.exempt_ids(pool)
            when = now - timedelta(days=days - days_left) + timedelta(hours=12)  # "in 2 days" for half a day
            start = customer.owned_since or customer.created_at
            if (customer.id in exempt[customer.store_id] or start > when
                    or (customer.last_follow_up_at is not None and customer.last_follow_up_at > when)):
                continue
            db.session.add(FollowUp(store_id=customer.store_id, customer_id=customer.id, author_id=customer.owner_id,
                                    kind=FollowUpKind.PHONE, content="电话沟通，客户暂无采购计划", occurred_at=when))
            customer.last_follow_up_at = when
            customer.next_follow_up_at = None
            customer.last_activity_at = max(customer.last_activity_at or when, when)
            chosen.append(customer.id)
            break
    db.session.flush()
    return chosen
