"""The customers context's wiring: customer and lead pages (and the public lead form), their API, the
follow-up reminder and import jobs, the navigation, and the link from tasks to a customer's page."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def _due_badge(user: Any) -> int | None:
    from crm.customers.queries import due_count

    return due_count(user) or None


def init_app(app: Flask) -> None:
    from flask_login import current_user

    import crm.customers.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.core.objects import register_object_page
    from crm.customers import api
    from crm.customers import queries
    from crm.customers.jobs import follow_up_reminders
    from crm.customers.jobs import run_imports
    from crm.customers.leads import api as leads_api
    from crm.customers.views import bp
    from crm.customers.views import public
    from crm.extensions import csrf

    app.register_blueprint(bp)
    app.register_blueprint(public)
    # The public lead form is posted from other sites: no session, no CSRF cookie (honeypot and rate limit).
    csrf.exempt(public)
    add_resource(api.blp, order=110)
    add_resource(leads_api.blp, order=120)
    every = int(app.config["SCHEDULER_INTERVAL_SECONDS"])
    register_job("customers.follow_up_reminders", follow_up_reminders, "interval", minutes=1)
    register_job("customers.run_imports", run_imports, "interval", seconds=every)
    add_nav(NavItem("main", "customers.index", _l("Customers"), "person-vcard", "customer.view", order=20))
    add_nav(NavItem("main", "customers.leads", _l("Leads"), "funnel", "customer.view", order=22))
    add_nav(NavItem("main", "customers.to_follow_up", _l("To follow up"), "telephone-forward", "customer.view",
                    order=25, badge=_due_badge))
    # Tasks and process instances only hold an object reference; this is the page they link to, showing
    # the customer's name as the reader may see it (their scope), else "#id".
    register_object_page("customer", "customers.detail", "customer_id", _l("Customer"),
                         names=lambda ids: queries.names_of(ids, current_user),
                         # The business status the high-seas claim process reports on its customer.
                         statuses={"waiting_visit": _l("Waiting for the return visit")})
