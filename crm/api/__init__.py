"""REST API v1 (flask-smorest). OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs.

One module per resource; `common` holds the blueprint class, token authentication and pagination."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    """Called by `create_app` after `api.init_app`."""
    from crm.approvals import api as approvals
    from crm.auth import api as auth_api
    from crm.auth.rest import document_problem_responses
    from crm.customers import api as customers
    from crm.customers.leads import api as leads
    from crm.extensions import api
    from crm.extensions import csrf
    from crm.highseas import api as highseas
    from crm.inbox import api as tasks
    from crm.notify import api as notifications
    from crm.org import api as org_api
    from crm.processes import api as processes
    from crm.sales.catalog import api as products
    from crm.sales.opportunities import api as opportunities
    from crm.sales.orders import api as orders
    from crm.sales.quotes import api as quotes

    document_problem_responses(api)
    # The order is the OpenAPI document's order of tags and paths.
    for blp in (auth_api.me_blp, org_api.org_units_blp, org_api.users_blp, auth_api.roles_blp, auth_api.tokens_blp,
                tasks.blp, products.blp, approvals.blp, notifications.blp, processes.blp, customers.blp, leads.blp,
                quotes.blp, opportunities.blp, highseas.blp, orders.blp):
        # The API authenticates with bearer tokens only, never cookies, so CSRF does not apply.
        csrf.exempt(blp)
        api.register_blueprint(blp)
