"""The API of auth: /api/v1/me (the token's user), /api/v1/roles (roles with their function permissions
and data scope) and /api/v1/tokens (the caller's own API tokens). The plumbing every API module
uses (token auth, problem+json, the page schema) is `crm.auth.rest`."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from crm.auth import defaults
from crm.auth import queries
from crm.auth import services
from crm.auth.models import ApiToken
from crm.auth.models import Role
from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.auth.schemas import ApplyDefaultsSchema
from crm.auth.schemas import MeSchema
from crm.auth.schemas import PendingDefaultsSchema
from crm.auth.schemas import RoleSchema
from crm.auth.schemas import RoleUpdateSchema
from crm.auth.schemas import TokenSchema
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db

# GET /api/v1/me — the user the token belongs to.
me_blp = ApiBlueprint("Me", __name__, url_prefix="/api/v1/me", description="The user the API token belongs to.")


@me_blp.route("", endpoint="me")
@me_blp.response(200, MeSchema)
def me() -> Any:
    """The token's user, with roles, permissions, data scopes and org unit"""
    return current_user._get_current_object()


# /api/v1/roles — roles with their function permissions and data scope. Reading needs `role.manage` or
# `user.view` (to choose roles for users); changing needs `role.manage`. The super admin role is fixed.
roles_blp = ApiBlueprint(
    "Roles", __name__, url_prefix="/api/v1/roles",
    description="Roles grant function permissions and one data scope.",
)

RolePageSchema = page_schema(RoleSchema, "RolePage")


@roles_blp.route("")
class Roles(MethodView):
    @roles_blp.requires("role.manage", "user.view", any_of=True)
    @roles_blp.arguments(PageArgsSchema, location="query")
    @roles_blp.response(200, RolePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the roles"""
        return keyset_page(db.session, select(Role), [SortKey(Role.id)], cursor=args["cursor"], limit=args["limit"])


@roles_blp.route("/defaults")
class RoleDefaults(MethodView):
    @roles_blp.requires("role.manage")
    @roles_blp.response(200, PendingDefaultsSchema)
    def get(self) -> Any:
        """What this version adds to the built-in roles: missing default roles, and default permissions
        existing built-in roles were never offered"""
        return {"pending": defaults.pending_defaults()}

    @roles_blp.requires("role.manage")
    @roles_blp.arguments(ApplyDefaultsSchema)
    @roles_blp.response(200, PendingDefaultsSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Grant or decline what is pending (each permission is offered once; an admin's other changes stay);
        answers with what was pending"""
        return {"pending": defaults.apply_defaults(grant=data["grant"], actor=current_user)}


@roles_blp.route("/<int:role_id>")
class RoleItem(MethodView):
    @roles_blp.requires("role.manage", "user.view", any_of=True)
    @roles_blp.errors(404)
    @roles_blp.response(200, RoleSchema)
    def get(self, role_id: int) -> Any:
        """One role"""
        return queries.get_role(role_id)

    @roles_blp.requires("role.manage")
    @roles_blp.errors(404)
    @roles_blp.arguments(RoleUpdateSchema)
    @roles_blp.response(200, RoleSchema)
    def patch(self, data: dict[str, Any], role_id: int) -> Any:
        """Change a role's name, description, data scope or permissions (not the super admin role)"""
        role = queries.get_role(role_id)
        current = {
            "name": role.name,
            "description": role.description,
            "data_scope": role.data_scope.value,
            "permissions": role.permission_list,
        }
        return services.save_role(role, {**current, **data}, actor=current_user)


# /api/v1/tokens — the caller's own API tokens. The token itself is shown once, when it is created on
# the account page; the API lists tokens by name and prefix and can revoke them.
tokens_blp = ApiBlueprint("Tokens", __name__, url_prefix="/api/v1/tokens", description="The caller's own API tokens.")

TokenPageSchema = page_schema(TokenSchema, "TokenPage")


@tokens_blp.route("")
class Tokens(MethodView):
    @tokens_blp.arguments(PageArgsSchema, location="query")
    @tokens_blp.response(200, TokenPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the caller's tokens, newest first"""
        stmt = select(ApiToken).where(ApiToken.user_id == current_user.id)
        keys = [SortKey(ApiToken.id, descending=True)]
        return keyset_page(db.session, stmt, keys, cursor=args["cursor"], limit=args["limit"])


@tokens_blp.route("/<int:token_id>")
class TokenItem(MethodView):
    @tokens_blp.errors(404)
    @tokens_blp.response(204)
    def delete(self, token_id: int) -> Any:
        """Revoke one of the caller's tokens (revoking a revoked token changes nothing)"""
        token = queries.get_own_token(current_user, token_id)
        services.revoke_token(token, actor=current_user)
        return None
