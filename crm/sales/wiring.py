"""The sales context's wiring: the `sales` pages of its four rooms, their API, the quote and order
operators and approvable, the quote expiry job, the navigation, the links from tasks to quotes and
orders, and its registrations with customers (opportunities follow a transferred customer; opportunities,
quotes and orders follow a merged one) and with the high seas (an open opportunity spares a customer)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    from flask_login import current_user

    import crm.sales.catalog.models  # noqa: F401  (the mappers)
    import crm.sales.opportunities.models  # noqa: F401
    import crm.sales.orders.bpmn  # noqa: F401  (the operators, before any diagram is validated)
    import crm.sales.orders.models  # noqa: F401
    import crm.sales.quotes.bpmn  # noqa: F401  (the operator and the discount-audit approvable)
    import crm.sales.quotes.models  # noqa: F401
    from crm.auth.rest import add_resource
    from crm.core.objects import register_object_page
    from crm.customers.services.merge import register_merge_handler
    from crm.customers.services.owners import register_transfer_handler
    from crm.highseas.rules import register_exemption
    from crm.sales.blueprint import bp
    from crm.sales.catalog import api as catalog_api
    from crm.sales.opportunities import api as opportunities_api
    from crm.sales.opportunities import services as opportunity_services
    from crm.sales.opportunities.queries import open_opportunity_customer_ids
    from crm.sales.orders import api as orders_api
    from crm.sales.orders import queries as order_queries
    from crm.sales.orders import services as order_services
    from crm.sales.orders.models import ORDER_STATUS_LABELS
    from crm.sales.quotes import api as quotes_api
    from crm.sales.quotes import queries as quote_queries
    from crm.sales.quotes import services as quote_services
    from crm.sales.quotes.jobs import expire_quotes

    app.register_blueprint(bp)
    add_resource(catalog_api.blp, order=70)
    add_resource(quotes_api.blp, order=130)
    add_resource(opportunities_api.blp, order=140)
    add_resource(orders_api.blp, order=160)
    register_job("sales.expire_quotes", expire_quotes, "interval", minutes=10)
    add_nav(NavItem("main", "sales.products", _l("Products"), "box-seam", order=40))
    add_nav(NavItem("main", "sales.opportunities", _l("Opportunities"), "kanban", order=39,
                    permission="opportunity.view"))
    add_nav(NavItem("main", "sales.quotes", _l("Quotes"), "file-earmark-text", order=41, permission="quote.view"))
    add_nav(NavItem("main", "sales.orders", _l("Orders"), "bag-check", order=42, permission="order.view",
                    group="sales"))
    add_nav(NavItem("admin", "sales.pipelines", _l("Pipelines"), "kanban", order=45, permission="pipeline.manage"))
    # One object's page (a task's) names it by number; a list of references adds the customer.
    register_object_page("quote", "sales.quote_detail", "quote_id", _l("Quote"),
                         lambda oid: quote_queries.labels({oid}, current_user, customer=False).get(oid),
                         names=lambda ids: quote_queries.labels(ids, current_user))
    register_object_page("order", "sales.order_detail", "order_id", _l("Order"),
                         lambda oid: order_queries.labels({oid}, current_user, customer=False).get(oid),
                         statuses=ORDER_STATUS_LABELS, names=lambda ids: order_queries.labels(ids, current_user))
    register_transfer_handler("sales.opportunities", opportunity_services.on_customer_transferred)
    register_merge_handler("sales.opportunities", opportunity_services.on_customers_merged)
    register_merge_handler("sales.quotes", quote_services.on_customers_merged)
    register_merge_handler("sales.orders", order_services.on_customers_merged)
    # The recycle sweep spares customers with an open opportunity (when the pool says so).
    register_exemption("open_opportunity", open_opportunity_customer_ids)
