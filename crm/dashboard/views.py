"""Home page: who I am, where I sit, what I can reach."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import render_template
from flask_login import current_user
from flask_login import login_required

from crm.auth.permissions import SCOPE_LABELS
from crm.auth.scopes import scope_context
from crm.core import nav
from crm.finance.ledger import queries as ledger_queries
from crm.finance.ledger import receivables
from crm.sales.orders import queries as order_queries

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
    return render_template(
        "dashboard/home.html",
        overdue=overdue,
        scope_labels=[str(SCOPE_LABELS[s]) for s in sorted(ctx.scopes)],
        shortcuts=shortcuts,
        collections=collections,
        to_verify=to_verify,
    )
