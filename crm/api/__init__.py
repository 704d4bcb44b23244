"""REST API v1 (flask-smorest). OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs.

One module per resource; `common` holds the blueprint class, token authentication and pagination."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    """Called by `create_app` after `api.init_app`."""
    from crm.api import approvals
    from crm.api import customers
    from crm.api import highseas
    from crm.api import leads
    from crm.api import me
    from crm.api import notifications
    from crm.api import opportunities
    from crm.api import orders
    from crm.api import org_units
    from crm.api import processes
    from crm.api import products
    from crm.api import quotes
    from crm.api import roles
    from crm.api import tasks
    from crm.api import tokens
    from crm.api import users
    from crm.api.common import document_problem_responses
    from crm.extensions import api
    from crm.extensions import csrf

    document_problem_responses(api)
    for module in (me, org_units, users, roles, tokens, tasks, products, approvals, notifications, processes,
                   customers, leads, quotes, opportunities, highseas, orders):
        # The API authenticates with bearer tokens only, never cookies, so CSRF does not apply.
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
