"""The after-sales pages (blueprint `aftersales`, under /after-sales): the case list, a case's page, the
form that opens a case from an order."""

from __future__ import annotations

from flask import Blueprint

# import_name is the package, so that `templates/` resolves to crm/aftersales/templates.
bp = Blueprint("aftersales", "crm.aftersales", template_folder="templates", url_prefix="/after-sales")

from crm.aftersales.cases import views as cases  # noqa: E402,F401  — registers the routes on bp


@bp.app_context_processor
def customer_after_sales_context() -> dict[str, object]:
    """`customer_after_sales(customer)` for the customer page (crm/customers knows nothing of after-sales)."""
    return {"customer_after_sales": cases.customer_link}
