"""High-seas pages (filled in below)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("highseas", __name__, template_folder="templates", url_prefix="/high-seas")
