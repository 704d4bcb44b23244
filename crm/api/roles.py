"""/api/v1/roles — roles with their function permissions and data scope. Reading needs `role.manage` or
`user.view` (to choose roles for users); changing needs `role.manage`. The super admin role is fixed."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from crm.api.common import ApiBlueprint
from crm.api.common import PageArgsSchema
from crm.api.common import page_schema
from crm.auth import defaults
from crm.auth import queries
from crm.auth import services
from crm.auth.models import Role
from crm.auth.schemas import ApplyDefaultsSchema
from crm.auth.schemas import PendingDefaultsSchema
from crm.auth.schemas import RoleSchema
from crm.auth.schemas import RoleUpdateSchema
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db

blp = ApiBlueprint(
    "Roles", __name__, url_prefix="/api/v1/roles",
    description="Roles grant function permissions and one data scope.",
)

RolePageSchema = page_schema(RoleSchema, "RolePage")


@blp.route("")
class Roles(MethodView):
    @blp.requires("role.manage", "user.view", any_of=True)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, RolePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the roles"""
        return keyset_page(db.session, select(Role), [SortKey(Role.id)], cursor=args["cursor"], limit=args["limit"])


@blp.route("/defaults")
class RoleDefaults(MethodView):
    @blp.requires("role.manage")
    @blp.response(200, PendingDefaultsSchema)
    def get(self) -> Any:
        """What this version adds to the built-in roles: missing default roles, and default permissions
        existing built-in roles were never offered"""
        return {"pending": defaults.pending_defaults()}

    @blp.requires("role.manage")
    @blp.arguments(ApplyDefaultsSchema)
    @blp.response(200, PendingDefaultsSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Grant or decline what is pending (each permission is offered once; an admin's other changes stay);
        answers with what was pending"""
        return {"pending": defaults.apply_defaults(grant=data["grant"], actor=current_user)}


@blp.route("/<int:role_id>")
class RoleItem(MethodView):
    @blp.requires("role.manage", "user.view", any_of=True)
    @blp.errors(404)
    @blp.response(200, RoleSchema)
    def get(self, role_id: int) -> Any:
        """One role"""
        return queries.get_role(role_id)

    @blp.requires("role.manage")
    @blp.errors(404)
    @blp.arguments(RoleUpdateSchema)
    @blp.response(200, RoleSchema)
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
