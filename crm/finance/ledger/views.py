"""The finance centre's ledger page (every receipt and payment in scope with filters, the filter's totals,
keyset pages and the export) and the receivables page (what orders still owe, ageing buckets, sums per
store and salesperson, keyset pages and the export)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask import request
from flask_login import current_user

from crm.auth.decorators import permission_required
from crm.core import tabular
from crm.core.web import download
from crm.finance.blueprint import bp
from crm.finance.ledger import export
from crm.finance.ledger import queries
from crm.finance.ledger import receivables
from crm.finance.ledger.queries import LedgerFilters
from crm.finance.ledger.receivables import BUCKET_LABELS
from crm.finance.ledger.receivables import ReceivableFilters
from crm.finance.payments.models import DIRECTION_LABELS
from crm.finance.payments.models import KIND_LABELS
from crm.finance.payments.models import METHOD_LABELS
from crm.finance.payments.models import STATUS_LABELS
from crm.sales.orders import queries as order_queries
from crm.workflow.tasks import queries as task_queries


@bp.route("/ledger")
@permission_required("finance.view")
def ledger() -> Any:
    filters = LedgerFilters.from_args(request.args)
    page = queries.ledger_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template(
        "finance/ledger.html", page=page, filters=filters,
        names=queries.labels(page.items), direction_labels=DIRECTION_LABELS, kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS, method_labels=METHOD_LABELS, owners=order_queries.owner_choices(current_user),
        stores=task_queries.store_choices(current_user),
        formats=tabular.FORMATS)


@bp.route("/ledger/totals")
@permission_required("finance.view")
def ledger_totals() -> Any:
    """The filter's totals, a fragment the ledger page loads after drawing its first page (summing a
    filter over the whole ledger takes longer than reading a page of it)."""
    totals = queries.totals(current_user, LedgerFilters.from_args(request.args))
    return render_template("finance/_ledger_totals.html", totals=totals)


@bp.route("/ledger/export")
@permission_required("finance.view", "finance.export")
def ledger_export() -> Any:
    fmt = request.args.get("format", "xlsx")
    if fmt not in tabular.FORMATS:
        fmt = "xlsx"
    body, mimetype, name = export.ledger_file(current_user, LedgerFilters.from_args(request.args), fmt)
    return download(body, mimetype, name)


# Rows of the per-store and per-salesperson sums on the page (largest first); the API and the export
# give them all.
GROUP_ROWS = 20


@bp.route("/receivables", endpoint="receivables")
@permission_required("finance.view")
def receivables_page() -> Any:
    filters = ReceivableFilters.from_args(request.args)
    page = receivables.receivables_page(current_user, filters, cursor=request.args.get("cursor") or None)
    return render_template(
        "finance/receivables.html", page=page, filters=filters, summary=receivables.summary(current_user, filters),
        bucket_labels=BUCKET_LABELS, group_rows=GROUP_ROWS, owners=order_queries.owner_choices(current_user),
        stores=task_queries.store_choices(current_user), formats=tabular.FORMATS)


@bp.route("/receivables/export")
@permission_required("finance.view", "finance.export")
def receivables_export() -> Any:
    fmt = request.args.get("format", "xlsx")
    if fmt not in tabular.FORMATS:
        fmt = "xlsx"
    body, mimetype, name = export.receivables_file(current_user, ReceivableFilters.from_args(request.args), fmt)
    return download(body, mimetype, name)
