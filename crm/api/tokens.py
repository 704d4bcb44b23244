"""/api/v1/tokens — the caller's own API tokens. The token itself is shown once, when it is created on
the account page; the API lists tokens by name and prefix and can revoke them."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from crm.api.common import ApiBlueprint
from crm.api.common import PageArgsSchema
from crm.api.common import page_schema
from crm.auth import queries
from crm.auth import services
from crm.auth.models import ApiToken
from crm.auth.schemas import TokenSchema
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db

blp = ApiBlueprint("Tokens", __name__, url_prefix="/api/v1/tokens", description="The caller's own API tokens.")

TokenPageSchema = page_schema(TokenSchema, "TokenPage")


@blp.route("")
class Tokens(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, TokenPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the caller's tokens, newest first"""
        stmt = select(ApiToken).where(ApiToken.user_id == current_user.id)
        keys = [SortKey(ApiToken.id, descending=True)]
        return keyset_page(db.session, stmt, keys, cursor=args["cursor"], limit=args["limit"])


@blp.route("/<int:token_id>")
class TokenItem(MethodView):
    @blp.errors(404)
    @blp.response(204)
    def delete(self, token_id: int) -> Any:
        """Revoke one of the caller's tokens (revoking a revoked token changes nothing)"""
        token = queries.get_own_token(current_user, token_id)
        services.revoke_token(token, actor=current_user)
        return None
