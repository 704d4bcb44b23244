"""The org context's wiring: its pages, its API (org units, users) and its navigation."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    import crm.org.models  # noqa: F401  (the mappers)
    from crm.auth.rest import add_resource
    from crm.org import api
    from crm.org.views import bp

    app.register_blueprint(bp)
    add_resource(api.org_units_blp, order=20)
    add_resource(api.users_blp, order=30)
    add_nav(NavItem("admin", "org.units", _l("Org units"), "diagram-3", "org.view", order=10))
    add_nav(NavItem("admin", "org.users", _l("Users"), "people", "user.view", order=20))
