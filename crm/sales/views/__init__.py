"""The sales pages (blueprint `sales`): the product catalogue, opportunities (board, forecast, pipeline
settings) and quotes; orders join them."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from crm.core.nav import NavItem
from crm.core.nav import add_nav

# import_name is the package, so that `templates/` resolves to crm/sales/templates.
bp = Blueprint("sales", "crm.sales", template_folder="templates")

from crm.sales.views import opportunities  # noqa: E402,F401
from crm.sales.views import products  # noqa: E402,F401  — registers the routes on bp
from crm.sales.views import quotes  # noqa: E402,F401

add_nav(NavItem("main", "sales.products", _l("Products"), "box-seam", order=40))
add_nav(NavItem("main", "sales.opportunities", _l("Opportunities"), "kanban", order=39, permission="opportunity.view"))
add_nav(NavItem("main", "sales.quotes", _l("Quotes"), "file-earmark-text", order=41, permission="quote.view"))
add_nav(NavItem("admin", "sales.pipelines", _l("Pipelines"), "kanban", order=45, permission="pipeline.manage"))
