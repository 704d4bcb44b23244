"""The auth context's wiring: log-in and account pages, the API (me, roles, tokens), the throttle purge."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.jobs import register_job
from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    import crm.auth.models  # noqa: F401  (the mappers)
    from crm.auth import api
    from crm.auth.jobs import purge_idempotency_keys
    from crm.auth.jobs import purge_login_throttle
    from crm.auth.rest import add_resource
    from crm.auth.views import bp

    app.register_blueprint(bp)
    add_resource(api.me_blp, order=10)
    add_resource(api.roles_blp, order=40)
    add_resource(api.tokens_blp, order=50)
    register_job("auth.purge_login_throttle", purge_login_throttle, "interval", hours=1)
    register_job("auth.purge_idempotency_keys", purge_idempotency_keys, "interval", hours=1)
    add_nav(NavItem("admin", "auth.roles", _l("Roles and permissions"), "shield-lock", "role.manage", order=30))
