"""Reading an order's plan: its instalments with their status as of today (Asia/Shanghai), for the order
page, the plan form, the collection form and the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from crm.core.clock import local_today
from crm.extensions import db
from crm.finance.payments.services import amount_due
from crm.finance.plans.models import Instalment
from crm.finance.plans.models import ReceivablePlan
from crm.finance.plans.models import instalment_status
from crm.finance.plans.models import plan_status
from crm.sales.orders.models import Order


def plan_of(order_id: int) -> ReceivablePlan | None:
    return db.session.scalar(select(ReceivablePlan).where(ReceivablePlan.order_id == order_id))


def instalment_data(instalment: Instalment, today: date) -> dict[str, Any]:
    return {"id": instalment.id, "number": instalment.number, "amount": instalment.amount,
            "due_on": instalment.due_on, "method": instalment.method, "remind_days": instalment.remind_days,
            "collected": instalment.collected, "open_amount": instalment.open_amount,
            "status": instalment_status(instalment, today), "reminded_at": instalment.reminded_at,
            "overdue_sent_at": instalment.overdue_sent_at}


def plan_data(order: Order, plan: ReceivablePlan | None = None, today: date | None = None) -> dict[str, Any] | None:
    """The plan as the page and the API show it, None when the order has none."""
    plan = plan if plan is not None else plan_of(order.id)
    if plan is None:
        return None
    today = today or local_today()
    return {"id": plan.id, "order_id": plan.order_id, "store_id": plan.store_id, "owner_id": plan.owner_id,
            "note": plan.note, "total": plan.total, "amount_due": amount_due(order),
            "status": plan_status(plan.instalments, today), "lock_version": plan.lock_version,
            "created_at": plan.created_at, "updated_at": plan.updated_at,
            "instalments": [instalment_data(i, today) for i in plan.instalments]}


def open_instalments(order_id: int) -> list[Instalment]:
    """The instalments a new collection may name: not collected in full, first due first."""
    return list(db.session.scalars(select(Instalment).where(
        Instalment.order_id == order_id, Instalment.amount > Instalment.collected)
        .order_by(Instalment.due_on, Instalment.number)))
