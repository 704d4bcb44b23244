"""The figures a work report is pre-filled with: what the system recorded of its author in the period —
follow-ups recorded, new customers, quotes, orders signed (cancelled ones left out) and their amount, work
tasks completed. One statement: each figure an aggregate subquery through `visible()` as the author."""

from __future__ import annotations

import calendar
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import visible
from crm.core.clock import LOCAL_ZONE
from crm.customers.models import Customer
from crm.customers.models import FollowUp
from crm.extensions import db
from crm.sales.orders.models import Order
from crm.sales.orders.models import OrderStatus
from crm.sales.quotes.models import Quote
from crm.work.reports.models import ReportKind
from crm.work.tasks.models import WorkStatus
from crm.work.tasks.models import WorkTask


def period(kind: ReportKind, day: date) -> tuple[date, date]:
    """The first and last day of the report's period that holds `day` (a week runs Monday to Sunday)."""
    if kind == ReportKind.DAILY:
        return day, day
    if kind == ReportKind.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def window(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's days in the company's calendar (Asia/Shanghai) as UTC moments [from, to)."""
    lo = datetime.combine(start, time(0), tzinfo=LOCAL_ZONE).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=LOCAL_ZONE).astimezone(UTC)
    return lo, hi


def figures(author: Any, start: date, end: date) -> dict[str, Any]:
    """{follow_ups, new_customers, quotes, orders_signed, orders_amount ("1,234.00" as "1234.00"),
    tasks_completed} of `author` in the period."""
    lo, hi = window(start, end)
    uid = author.id
    follow_ups = visible(select(func.count(FollowUp.id)).join(Customer, Customer.id == FollowUp.customer_id)
                         .where(FollowUp.author_id == uid, FollowUp.occurred_at >= lo, FollowUp.occurred_at < hi),
                         author, Customer)
    customers = visible(select(func.count(Customer.id)).where(
        Customer.created_by_id == uid, Customer.created_at >= lo, Customer.created_at < hi), author, Customer)
    quotes = visible(select(func.count(Quote.id)).where(
        Quote.owner_id == uid, Quote.created_at >= lo, Quote.created_at < hi), author, Quote)
    signed = (Order.owner_id == uid, Order.signed_at >= lo, Order.signed_at < hi, Order.status != OrderStatus.CANCELLED)
    orders = visible(select(func.count(Order.id)).where(*signed), author, Order)
    amount = visible(select(func.coalesce(func.sum(Order.total), 0)).where(*signed), author, Order)
    tasks = visible(select(func.count(WorkTask.id)).where(
        WorkTask.completed_by_id == uid, WorkTask.status == WorkStatus.DONE, WorkTask.completed_at >= lo,
        WorkTask.completed_at < hi), author, WorkTask)
    row = db.session.execute(select(*(s.scalar_subquery() for s in (
        follow_ups, customers, quotes, orders, amount, tasks)))).one()
    return {"follow_ups": int(row[0] or 0), "new_customers": int(row[1] or 0), "quotes": int(row[2] or 0),
            "orders_signed": int(row[3] or 0), "orders_amount": f"{Decimal(row[4] or 0):.2f}",
            "tasks_completed": int(row[5] or 0)}
