"""The ledger and the receivables as XLSX or CSV through the shared safe writer (formula-looking cells are
neutralised)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from crm.core import tabular
from crm.finance.ledger import queries
from crm.finance.ledger import receivables
from crm.finance.ledger.queries import LedgerFilters
from crm.finance.ledger.receivables import BUCKET_LABELS
from crm.finance.ledger.receivables import ReceivableFilters
from crm.finance.payments.models import DIRECTION_LABELS
from crm.finance.payments.models import KIND_LABELS
from crm.finance.payments.models import METHOD_LABELS
from crm.finance.payments.models import STATUS_LABELS
from crm.org.models import User

TITLES = [_l("Number"), _l("Direction"), _l("Kind"), _l("Status"), _l("Amount"), _l("Method"), _l("Paid on"),
          _l("Order"), _l("Customer"), _l("Store"), _l("Salesperson"), _l("Payer"), _l("Reference"), _l("Recorded by"),
          _l("Recorded"), _l("Decided by"), _l("Decided"), _l("Reason"), _l("Vouchers")]


def ledger_file(actor: User, filters: LedgerFilters, fmt: str) -> tuple[bytes, str, str]:
    """(body, mimetype, file name) of the filtered ledger in the actor's scope."""
    rows = list(queries.ledger_rows(actor, filters))
    names = queries.labels(rows)

    def line(p: Any) -> list[Any]:
        return [p.id, str(DIRECTION_LABELS[p.direction]), str(KIND_LABELS[p.kind]), str(STATUS_LABELS[p.status]),
                p.amount, str(METHOD_LABELS[p.method]), p.paid_on, names["orders"].get(p.order_id, ""),
                names["customers"].get(p.customer_id, ""), names["stores"].get(p.store_id, ""),
                names["people"].get(p.owner_id, ""), p.payer or "", p.reference or "",
                names["people"].get(p.recorded_by_id, ""), p.recorded_at,
                names["people"].get(p.decided_by_id, ""), p.decided_at,
                p.reason or "", len(p.all_vouchers)]

    body = tabular.write_table([str(t) for t in TITLES], (line(p) for p in rows), fmt, sheet="ledger")
    return body, tabular.MIMETYPES[fmt], f"ledger.{fmt}"


RECEIVABLE_TITLES = [_l("Order"), _l("Customer"), _l("Store"), _l("Salesperson"), _l("Total"), _l("Collected"),
                     _l("Still due"), _l("Next due date"), _l("Ageing")]


def receivables_file(actor: User, filters: ReceivableFilters, fmt: str) -> tuple[bytes, str, str]:
    """(body, mimetype, file name) of the filtered receivables in the actor's scope, ageing as of today."""
    def line(r: Any) -> list[Any]:
        return [r.order.number, r.customer, r.store, r.owner, r.total, r.collected, r.still_due, r.next_due,
                str(BUCKET_LABELS[r.bucket])]

    # Read first, then write: a refused query must not fail inside the half-written workbook.
    rows = list(receivables.receivable_rows(actor, filters))
    body = tabular.write_table([str(t) for t in RECEIVABLE_TITLES], (line(r) for r in rows), fmt, sheet="receivables")
    return body, tabular.MIMETYPES[fmt], f"receivables.{fmt}"
