"""The integrations context's wiring: the webhook admin pages and API, the sending job, navigation."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    import crm.integrations.webhooks.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.integrations.blueprint import bp
    from crm.integrations.webhooks import api as webhooks_api
    from crm.integrations.webhooks.jobs import send_webhooks
    from crm.integrations.webhooks.services import PERMISSION

    app.register_blueprint(bp)
    add_resource(webhooks_api.blp, order=95)
    register_job("integrations.send_webhooks", send_webhooks, "interval",
                 seconds=int(app.config["WEBHOOK_INTERVAL_SECONDS"]))
    add_nav(NavItem("admin", "integrations.webhooks", _l("Webhooks"), "broadcast", permission=PERMISSION, order=80))
