"""The integrations context's wiring: the webhook admin pages and API, the sending job, navigation, and the
inbox signals that announce process tasks."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core import signals
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
    from crm.integrations.webhooks.services import on_task_completed
    from crm.integrations.webhooks.services import on_task_created

    app.register_blueprint(bp)
    add_resource(webhooks_api.blp, order=95)
    register_job("integrations.send_webhooks", send_webhooks, "interval",
                 seconds=int(app.config["WEBHOOK_INTERVAL_SECONDS"]))
    signals.task_created.connect(on_task_created)
    signals.task_completed.connect(on_task_completed)
    add_nav(NavItem("admin", "integrations.webhooks", _l("Webhooks"), "broadcast", permission=PERMISSION, order=80))
