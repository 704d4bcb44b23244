"""Home page: who I am, where I sit, what I can reach, and my work today."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import render_template
from flask import request
from flask_babel import get_timezone
from flask_login import current_user
from flask_login import login_required

from crm.auth.permissions import SCOPE_LABELS
from crm.auth.scopes import scope_context
from crm.core import nav
from crm.core.clock import local_today
from crm.core.clock import utcnow
from crm.customers import queries as customer_queries
from crm.dashboard.kanban import views as kanban_views
from crm.finance.ledger import queries as ledger_queries
from crm.finance.ledger import receivables
from crm.highseas import queries as highseas_queries
from crm.sales.orders import queries as order_queries
from crm.sales.quotes import queries as quote_queries
from crm.work.reports import queries as report_queries
from crm.work.reports import services as report_services
from crm.work.reports.models import ReportKind
from crm.work.tasks import queries as work_task_queries
from crm.workflow.tasks import queries as task_queries

bp = Blueprint("dashboard", __name__, template_folder="templates")



@bp.route("/")
@login_required
def home() -> Any:
    ctx = scope_context(current_user)
    shortcuts = [item for item in nav.nav_for(current_user, "admin")]
    # Collections are recorded on the order page (the pipeline waits for the money, no task asks for it);
    # their verification is a task, and the home page says how much waits for it.
    collections = (order_queries.awaiting_collection(current_user)
                   if current_user.can("finance.collection.record") else None)
    to_verify = (ledger_queries.waiting_for_verification(current_user)
                 if current_user.can("finance.collection.verify") else None)
    overdue = receivables.overdue(current_user) if current_user.can("finance.view") else None
    # The managers' home shows the data kanban (a salesperson with kanban.view: their own figures).
    kanban = ({**kanban_views.page_context(current_user, request.args), **kanban_views.filter_choices(current_user)}
              if current_user.can("kanban.view") else None)
    return render_template(
        "dashboard/home.html",
        kanban=kanban,
        overdue=overdue,
        scope_labels=[str(SCOPE_LABELS[s]) for s in sorted(ctx.scopes)],
        shortcuts=shortcuts,
        collections=collections,
        to_verify=to_verify,
        work=my_work_today(current_user),
        sales=my_sales_today(current_user),
    )


def my_sales_today(user: Any) -> dict[str, Any] | None:
    """A salesperson's part of "My work today" (people who own customers): my process tasks, follow-ups
    due, my quotes in the discount audit, this month's orders and amount, my customers about to be
    recycled to the high seas. A fixed number of small queries on the owner's indexes."""
    if not user.can("customer.edit") or not user.can("quote.edit"):
        return None
    tz = get_timezone()
    today = utcnow().astimezone(tz).date()
    day_end = datetime.combine(today + timedelta(days=1), time.min, tz).astimezone(UTC)
    month_start = datetime.combine(today.replace(day=1), time.min, tz).astimezone(UTC)
    overdue_fu, today_fu = customer_queries.follow_ups_due(user, day_end)
    recycle_count, recycle = highseas_queries.about_to_recycle(user) if user.can("highseas.view") else (0, [])
    orders, amount = order_queries.month_of(user, month_start)
    return {"tasks": task_queries.inbox_counts(user), "follow_ups_overdue": overdue_fu, "follow_ups_today": today_fu,
            "quotes_pending": quote_queries.awaiting_approval(user), "orders": orders, "amount": amount,
            "recycle_count": recycle_count, "recycle": recycle}


def my_work_today(user: Any) -> dict[str, Any]:
    """The "My work today" panel (issue 23, until the kanban exists): my work tasks overdue and due later
    today, my daily report of today (False: I file none; None: not filed yet), and how many of my people
    have not filed theirs (None: I review none). A fixed number of statements, whatever the data."""
    today = local_today()
    overdue, due_today = work_task_queries.due_counts(user, utcnow(), get_timezone())
    return {
        "overdue": overdue, "today": due_today, "day": today,
        "report_id": report_queries.filed(user, ReportKind.DAILY, today) if user.can(report_services.FILE) else False,
        "missing": (report_queries.missing_count(user, ReportKind.DAILY, today)
                    if user.can(report_services.REVIEW) else None),
    }
