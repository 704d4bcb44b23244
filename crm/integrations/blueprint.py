"""The integrations pages (blueprint `integrations`, under /integrations): webhook endpoints and deliveries."""

from __future__ import annotations

from flask import Blueprint

# import_name is the package, so that `templates/` resolves to crm/integrations/templates.
bp = Blueprint("integrations", "crm.integrations", template_folder="templates", url_prefix="/integrations")

from crm.integrations.webhooks import views as webhooks  # noqa: E402,F401  — registers the routes on bp
