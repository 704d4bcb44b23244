"""The finance pages (blueprint `finance`, under /finance): the ledger, the receivables, collections and
refunds, receivable plans, make-ups, invoices."""

from __future__ import annotations

from flask import Blueprint

# import_name is the package, so that `templates/` resolves to crm/finance/templates.
bp = Blueprint("finance", "crm.finance", template_folder="templates", url_prefix="/finance")

from crm.finance.invoices import views as invoices  # noqa: E402,F401  — registers the routes on bp
from crm.finance.ledger import views as ledger  # noqa: E402,F401
from crm.finance.makeups import views as makeups  # noqa: E402,F401
from crm.finance.payments import views as payments  # noqa: E402,F401
from crm.finance.plans import views as plans  # noqa: E402,F401
from crm.finance.settlements import views as settlements  # noqa: E402,F401
