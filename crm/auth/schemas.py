"""marshmallow schemas of roles, API tokens and the signed-in user at the edges (the REST API).

Input schemas check types only; `crm.auth.services` validates the values."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from crm.auth.permissions import DataScope
from crm.auth.permissions import all_permissions
from crm.auth.scopes import scope_context
from crm.core.clock import utcnow
from crm.org.schemas import OrgUnitRefSchema
from crm.org.schemas import UserBaseSchema

_STRINGS = {"type": "array", "items": {"type": "string"}}


class RoleRefSchema(ma.Schema):
    id = fields.Int()
    key = fields.Str()
    name = fields.Str(attribute="display_name")


class RoleSchema(ma.Schema):
    id = fields.Int()
    key = fields.Str()
    name = fields.Str(attribute="display_name", metadata={"description": "In the request's language for default roles."})
    description = fields.Str(allow_none=True)
    data_scope = fields.Enum(DataScope, by_value=True)
    permissions = fields.List(fields.Str(), attribute="permission_list")
    is_system = fields.Bool(metadata={"description": "System roles (super admin) cannot be changed."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RoleUpdateSchema(ma.Schema):
    """Only the fields sent change."""

    name = fields.Str()
    description = fields.Str(allow_none=True)
    data_scope = fields.Str(metadata={"enum": [s.value for s in DataScope]})
    permissions = fields.List(fields.Str(), metadata={"description": "The full list; replaces the current one."})


class PendingDefaultSchema(ma.Schema):
    key = fields.Str(metadata={"description": "The built-in role's key."})
    name = fields.Str(attribute="label")
    role_id = fields.Function(lambda item: item.role.id if item.role is not None else None,
                              metadata={"type": "integer", "nullable": True,
                                        "description": "Null when the role does not exist yet and will be created."})
    permissions = fields.List(fields.Str(), metadata={
        "description": "The default permissions offered: a new role's list, or those an existing role was never offered."})


class PendingDefaultsSchema(ma.Schema):
    pending = fields.List(fields.Nested(PendingDefaultSchema))


class ApplyDefaultsSchema(ma.Schema):
    grant = fields.Bool(required=True, metadata={
        "description": "true grants the offered permissions, false declines them; either way they are not offered "
                       "again, and missing default roles are created."})


class UserSchema(UserBaseSchema):
    roles = fields.List(fields.Nested(RoleRefSchema))


def _permissions(user: Any) -> list[str]:
    return sorted(all_permissions() if user.is_super_admin else user.permissions)


def _data_scopes(user: Any) -> list[str]:
    return [scope.value for scope in sorted(scope_context(user).scopes)]


class MeSchema(UserSchema):
    store = fields.Nested(OrgUnitRefSchema, allow_none=True)
    is_super_admin = fields.Bool()
    permissions = fields.Function(_permissions, metadata=_STRINGS)
    data_scopes = fields.Function(
        _data_scopes,
        metadata={**_STRINGS, "description": "The union of the roles' data scopes, bounded by the user's place."},
    )


class TokenSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    prefix = fields.Str(metadata={"description": "The first characters of the token, to recognise it."})
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    active = fields.Function(lambda token: token.is_usable(utcnow()), metadata={"type": "boolean"})
