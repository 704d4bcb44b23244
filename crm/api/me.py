"""GET /api/v1/me — the user the token belongs to."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm.api.common import ApiBlueprint
from crm.auth.schemas import MeSchema

blp = ApiBlueprint("Me", __name__, url_prefix="/api/v1/me", description="The user the API token belongs to.")


@blp.route("", endpoint="me")
@blp.response(200, MeSchema)
def me() -> Any:
    """The token's user, with roles, permissions, data scopes and org unit"""
    return current_user._get_current_object()
