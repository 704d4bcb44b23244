"""Demo data for the high seas: each demo pool customer gets the move that put it there, with a reason."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from crm.core.clock import utcnow
from crm.customers.models import Customer
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
    return made
