"""The process admin's wiring: definition, editor and instance pages, their API, the navigation."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    from crm.auth.rest import add_resource
    from crm.processes import api
    from crm.processes.views import bp

    app.register_blueprint(bp)
    add_resource(api.blp, order=100)
    add_nav(NavItem("main", "processes.instances", _l("Processes"), "diagram-3", order=40))
    add_nav(NavItem("admin", "processes.definitions", _l("Process definitions"), "diagram-2",
                    permission="process.deploy", order=60))
    add_nav(NavItem("admin", "processes.unmatched", _l("Unmatched messages"), "envelope-exclamation",
                    permission="process.admin", order=61))
