"""REST API v1 (flask-smorest). OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from crm.extensions import csrf

    # The API authenticates with bearer tokens only, never cookies, so CSRF does not apply.
    csrf.exempt("crm.api")
