"""Admin pages of the org tree and users (filled in below)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("org", __name__, template_folder="templates", url_prefix="/admin")
