"""The home page's wiring."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav


def init_app(app: Flask) -> None:
    from crm.dashboard.kanban import wiring as kanban_wiring
    from crm.dashboard.views import bp

    app.register_blueprint(bp)
    kanban_wiring.init_app(app)
    add_nav(NavItem("main", "dashboard.home", _l("Home"), "house", order=0))
