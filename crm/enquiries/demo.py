"""Demo data for the enquiry statistics: four weeks of platform figures for every store and of daily
figures for every salesperson (one of them has not entered yesterday's yet, so the reminder has someone
to remind)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crm.auth.models import Role
from crm.auth.models import user_role
from crm.enquiries.models import EnquiryDaily
from crm.enquiries.models import EnquirySalespersonDaily
from crm.enquiries.queries import local_today
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

DAYS = 28


def seed(users: dict[str, Any] | None = None, seed_value: int = 2026) -> int:
    rnd = random.Random(seed_value)
    today = local_today()
    days = [today - timedelta(days=i) for i in range(1, DAYS + 1)]
    made = 0
    stores = list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == UnitKind.STORE).order_by(OrgUnit.id)))
    for store in stores:
        base = rnd.randint(30, 90)
        for day in days:
            enquiries = max(0, base + rnd.randint(-15, 15) - (10 if day.weekday() >= 5 else 0))
            db.session.add(EnquiryDaily(store_id=store.id, day=day, enquiries=enquiries,
                                        new_enquiries=rnd.randint(enquiries // 3, max(enquiries // 3, enquiries * 2 // 3))))
            made += 1
    sellers = db.session.scalars(
        select(User).join(user_role, user_role.c.user_id == User.id).join(Role, Role.id == user_role.c.role_id)
        .where(Role.key == "salesperson", User.store_id.is_not(None)).order_by(User.id)).unique()
    for n, person in enumerate(sellers):
        for day in days:
            if n == 0 and day == days[0]:
                continue  # yesterday's figures still missing: the 10:00 reminder goes to this person
            adds = rnd.randint(2, 12)
            db.session.add(EnquirySalespersonDaily(store_id=person.store_id, user_id=person.id, day=day,
                                                   wechat_adds=adds, contacts=adds + rnd.randint(0, 8),
                                                   entered_by_id=person.id))
            made += 1
    db.session.flush()
    return made
