"""High-seas test support: a clock to travel with, pools with test settings, customers, a claim chain."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from itertools import count
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from crm.approvals import chains as approval_chains
from crm.customers import services as customers
from crm.extensions import db
from crm.highseas import rules
from crm.highseas.models import HighSeasMove
from crm.notify.models import Notification
from crm.workflow.deploy import PROCESS_DIR
from crm.workflow.deploy import deploy_directory

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
_seq = count(1)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def make_customer(actor: Any, **fields: Any) -> Any:
    n = next(_seq)
    data = {"name": f"HS Customer {n}", "mobile": f"136{n:08d}"}
    data.update(fields)
    customer = customers.create_customer(data, actor=actor)
    db.session.commit()
    return customer


def set_pool(store: Any, **values: Any) -> Any:
    pool = rules.pool_for(store.id)
    defaults = {"follow_up_days": 30, "deal_days": None, "level_days": {}, "exempt_won": True,
                "exempt_open_opportunity": True, "remind_days": 3, "cooldown_days": 7, "daily_claim_quota": 5,
                "max_owned": None, "max_locked": None, "won_counts": False, "return_visit_days": 3,
                "auto_recycle": True}
    defaults.update(values)
    for key, value in defaults.items():
        setattr(pool, key, value)
    db.session.commit()
    return pool


def moves(customer: Any) -> list[tuple[str, Any, Any, str]]:
    return [(m.kind.value, m.from_owner_id, m.to_owner_id, m.reason) for m in db.session.scalars(
        select(HighSeasMove).where(HighSeasMove.customer_id == customer.id).order_by(HighSeasMove.id))]


def notes(user: Any, kind: str | None = None) -> list[str]:
    stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return [n.title for n in db.session.scalars(stmt)]


@pytest.fixture
def claim_process(app, org):
    deploy_directory(PROCESS_DIR)
    db.session.commit()


@pytest.fixture
def supervisor_chain(org, claim_process):
    chain = approval_chains.create_chain({"key": "high_seas_claim", "steps": [
        {"title": "Supervisor", "rule": "supervisor", "mode": "single"}]}, actor=org.hq_admin)
    db.session.commit()
    return chain
