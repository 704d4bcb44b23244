"""The sales pages (blueprint `sales`): the product catalogue, opportunities (board, forecast, pipeline
settings) quotes and contracting orders."""

from __future__ import annotations

from flask import Blueprint

# import_name is the package, so that `templates/` resolves to crm/sales/templates.
bp = Blueprint("sales", "crm.sales", template_folder="templates")

from crm.sales.catalog import views as products  # noqa: E402,F401  — registers the routes on bp
from crm.sales.opportunities import views as opportunities  # noqa: E402,F401
from crm.sales.orders import views as orders  # noqa: E402,F401
from crm.sales.quotes import views as quotes  # noqa: E402,F401


@bp.app_context_processor
def customer_sales_context() -> dict[str, object]:
    """`customer_sales(customer)` for the customer page (crm/customers knows nothing of sales): the
    customer's opportunities, quotes and orders the user may see, and links to start new ones."""
    from flask import render_template
    from flask_login import current_user
    from markupsafe import Markup

    from crm.sales.opportunities import queries as opportunity_queries
    from crm.sales.opportunities.models import OPPORTUNITY_STATUS_LABELS
    from crm.sales.orders import queries as order_queries
    from crm.sales.orders.models import ORDER_STATUS_LABELS
    from crm.sales.quotes import queries as quote_queries
    from crm.sales.quotes.models import QUOTE_STATUS_LABELS

    def customer_sales(customer: object) -> Markup:
        if not current_user.is_authenticated:
            return Markup("")
        can_quotes, can_opps = current_user.can("quote.view"), current_user.can("opportunity.view")
        customer_id = customer.id  # type: ignore[attr-defined]
        return Markup(render_template(
            "sales/_customer_sales.html", customer=customer,
            quotes=quote_queries.list_quotes(current_user, customer_id=customer_id, limit=10).items if can_quotes else None,
            opportunities=opportunity_queries.of_customer(current_user, customer_id) if can_opps else None,
            orders=order_queries.of_customer(current_user, customer_id) if current_user.can("order.view") else None,
            quote_labels=QUOTE_STATUS_LABELS, opportunity_labels=OPPORTUNITY_STATUS_LABELS,
            order_labels=ORDER_STATUS_LABELS,
        ))

    return {"customer_sales": customer_sales}
