"""The work pages' blueprint (`work`, under /work)."""

from __future__ import annotations

from flask import Blueprint

# import_name is the package so that `templates/` resolves to crm/work/tasks/templates.
bp = Blueprint("work", "crm.work.tasks", template_folder="templates", url_prefix="/work")
