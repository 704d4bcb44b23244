"""The API of org: /api/v1/org-units (the org tree) and /api/v1/users (people, their placement and roles).

Units and users outside the caller's data scope answer 404 exactly like missing ones; every id in a
request body is checked against the scope too."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm.auth import services as auth_services
from crm.auth.models import Role
from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.auth.rest import visible_or_field_error
from crm.auth.schemas import UserSchema
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core import ownership
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org import queries
from crm.org import services
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.org.schemas import OrgUnitCreateSchema
from crm.org.schemas import OrgUnitMoveSchema
from crm.org.schemas import OrgUnitQuerySchema
from crm.org.schemas import OrgUnitSchema
from crm.org.schemas import OrgUnitUpdateSchema
from crm.org.schemas import UserCreateSchema
from crm.org.schemas import UserDisableSchema
from crm.org.schemas import UserQuerySchema
from crm.org.schemas import UserUpdateSchema

# /api/v1/org-units — the org tree. Reading needs `org.view`, writing `org.manage`.
#
# Units outside the caller's data scope answer 404 exactly like missing ones; every id in a request body
# (parent, head) must be visible to the caller too.
org_units_blp = ApiBlueprint(
    "OrgUnits", __name__, url_prefix="/api/v1/org-units",
    description="The org tree: headquarters, subsidiaries, stores and departments.",
)

OrgUnitPageSchema = page_schema(OrgUnitSchema, "OrgUnitPage")


class OrgUnitListArgsSchema(OrgUnitQuerySchema, PageArgsSchema):
    pass


@org_units_blp.route("")
class OrgUnits(MethodView):
    @org_units_blp.requires("org.view")
    @org_units_blp.arguments(OrgUnitListArgsSchema, location="query")
    @org_units_blp.response(200, OrgUnitPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the org units the caller may see"""
        stmt = visible(select(OrgUnit), current_user, OrgUnit)
        if "kind" in args:
            stmt = stmt.where(OrgUnit.kind == UnitKind(args["kind"]))
        if "active" in args:
            stmt = stmt.where(OrgUnit.active.is_(args["active"]))
        if "parent_id" in args:
            stmt = stmt.where(OrgUnit.parent_id == args["parent_id"])
        return keyset_page(db.session, stmt, [SortKey(OrgUnit.id)], cursor=args["cursor"], limit=args["limit"])

    @org_units_blp.requires("org.manage")
    @org_units_blp.arguments(OrgUnitCreateSchema)
    @org_units_blp.response(201, OrgUnitSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an org unit under a parent the caller may see"""
        if data.get("parent_id") is not None:
            visible_or_field_error(OrgUnit, data["parent_id"], "parent_id", _l("Choose the parent unit."))
        return services.create_unit(data, actor=current_user)


@org_units_blp.route("/<int:unit_id>")
class OrgUnitItem(MethodView):
    @org_units_blp.requires("org.view")
    @org_units_blp.errors(404)
    @org_units_blp.response(200, OrgUnitSchema)
    def get(self, unit_id: int) -> Any:
        """One org unit"""
        return get_visible(OrgUnit, unit_id, current_user)

    @org_units_blp.requires("org.manage")
    @org_units_blp.errors(404)
    @org_units_blp.arguments(OrgUnitUpdateSchema)
    @org_units_blp.response(200, OrgUnitSchema)
    def patch(self, data: dict[str, Any], unit_id: int) -> Any:
        """Rename, recode, change a store's platform, shop name or quote letterhead, terms and seal, or set the head"""
        unit = get_visible(OrgUnit, unit_id, current_user)
        if data.get("head_id") is not None and data["head_id"] != unit.head_id:
            visible_or_field_error(User, data["head_id"], "head_id", _l("Choose an active user."))
        current = {
            "name": unit.name,
            "code": unit.code,
            "platform": unit.platform.value if unit.platform else None,
            "shop_name": unit.shop_name,
            "head_id": unit.head_id,
        }
        return services.update_unit(unit, {**current, **data}, actor=current_user)


@org_units_blp.route("/<int:unit_id>/move", methods=["POST"])
@org_units_blp.requires("org.manage")
@org_units_blp.errors(404)
@org_units_blp.arguments(OrgUnitMoveSchema)
@org_units_blp.response(200, OrgUnitSchema)
def move(data: dict[str, Any], unit_id: int) -> Any:
    """Move an org unit (with everything below it) under another parent"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    parent = visible_or_field_error(OrgUnit, data["parent_id"], "parent_id", _l("Choose the parent unit."))
    return services.move_unit(unit, parent, actor=current_user)


@org_units_blp.route("/<int:unit_id>/deactivate", methods=["POST"])
@org_units_blp.requires("org.manage")
@org_units_blp.errors(404, 422)
@org_units_blp.response(200, OrgUnitSchema)
def deactivate(unit_id: int) -> Any:
    """Deactivate an org unit that has no active sub-units or users"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    return services.set_unit_active(unit, False, actor=current_user)


@org_units_blp.route("/<int:unit_id>/activate", methods=["POST"])
@org_units_blp.requires("org.manage")
@org_units_blp.errors(404, 422)
@org_units_blp.response(200, OrgUnitSchema)
def activate(unit_id: int) -> Any:
    """Reactivate an org unit whose parent is active"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    return services.set_unit_active(unit, True, actor=current_user)


# /api/v1/users — people, their placement and roles. Reading needs `user.view`, writing `user.manage`.
#
# Users outside the caller's data scope answer 404 exactly like missing ones; every id in a request body
# (org unit, supervisor, transfer target) must be visible to the caller too. Users are never deleted:
# they are disabled, optionally handing their records to a colleague of the same store.
users_blp = ApiBlueprint(
    "Users", __name__, url_prefix="/api/v1/users",
    description="Users: placement in the org tree, supervisor, roles. Never deleted, only disabled.",
)

UserPageSchema = page_schema(UserSchema, "UserPage")


class UserListArgsSchema(UserQuerySchema, PageArgsSchema):
    pass


def _roles(data: dict[str, Any]) -> list[Role] | None:
    """The roles named by `role_ids` and `role_keys`; None when neither was sent (keep the current ones)."""
    if "role_ids" not in data and "role_keys" not in data:
        return None
    ids = list(data.get("role_ids") or [])
    keys = list(data.get("role_keys") or [])
    if keys:
        found = {key: role_id for key, role_id in db.session.execute(select(Role.key, Role.id).where(Role.key.in_(keys)))}
        if any(key not in found for key in keys):
            raise ValidationFailed({"role_keys": _l("Choose roles from the list.")})
        ids.extend(found[key] for key in keys)
    return auth_services.roles_by_ids(list(dict.fromkeys(ids)), actor=current_user)


def _check_references(data: dict[str, Any], user: User | None, errors: dict[str, Any]) -> dict[str, Any]:
    """The org unit and supervisor sent must be visible to the caller (checked only when they change).
    Returns `data` without the refused ids, so the service's own checks never describe hidden rows."""
    checked = dict(data)
    for field, model, message in (
        ("org_unit_id", OrgUnit, _l("Choose the user's org unit.")),
        ("supervisor_id", User, _l("Choose an active user as supervisor.")),
    ):
        if data.get(field) is None or (user is not None and data[field] == getattr(user, field)):
            continue
        if _collect(errors, lambda f=field, m=model, msg=message: visible_or_field_error(m, data[f], f, msg)) is None:
            checked[field] = None
    return checked


def _managed_user(user_id: int) -> User:
    """A user the caller may see (else 404) and change (a super admin's account only by a super admin: 403)."""
    user = get_visible(User, user_id, current_user)
    auth_services.check_can_manage_user(user, actor=current_user)
    return user


def _collect(errors: dict[str, Any], step: Any) -> Any:
    """Run `step`, adding its field errors to `errors` so one answer names every invalid field."""
    try:
        return step()
    except ValidationFailed as exc:
        errors.update(exc.errors)
        return None


@users_blp.route("")
class Users(MethodView):
    @users_blp.requires("user.view")
    @users_blp.arguments(UserListArgsSchema, location="query")
    @users_blp.response(200, UserPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List the users the caller may see, by name"""
        unit = None
        if "unit_id" in args:
            unit = db.session.scalar(visible(select(OrgUnit).where(OrgUnit.id == args["unit_id"]), current_user, OrgUnit))
            if unit is None:  # missing or outside the scope: answered like a unit without users, no 404 for a filter
                return Page(items=[], next_cursor=None, limit=args["limit"])
        active = "all" if "active" not in args else ("yes" if args["active"] else "no")
        filters = queries.UserFilters(q=args.get("q", ""), unit=unit, role_id=args.get("role_id"), active=active)
        return queries.list_users(current_user, filters, args["cursor"], args["limit"], visible=visible)

    @users_blp.requires("user.manage")
    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user with roles and an initial password"""
        own: dict[str, Any] = {}  # the API's checks; they win over the service's for the same field
        checked = _check_references(data, None, own)
        auth_services.check_new_password(data["password"], own)
        roles = _collect(own, lambda: _roles(data)) or []
        fields = {k: v for k, v in checked.items() if k not in ("password", "role_ids", "role_keys")}
        password_hash = "" if "password" in own else auth_services.hash_password(data["password"])
        errors: dict[str, Any] = {}
        user = _collect(errors, lambda: services.create_user(
            fields, password_hash=password_hash, roles=roles, actor=current_user
        ))
        errors.update(own)
        if errors:  # the request rolls back whatever was flushed
            raise ValidationFailed(errors)
        return user


@users_blp.route("/<int:user_id>")
class UserItem(MethodView):
    @users_blp.requires("user.view")
    @users_blp.errors(404)
    @users_blp.response(200, UserSchema)
    def get(self, user_id: int) -> Any:
        """One user"""
        return get_visible(User, user_id, current_user)

    @users_blp.requires("user.manage")
    @users_blp.errors(404)
    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Change a user's details, placement, supervisor or roles"""
        user = _managed_user(user_id)
        errors: dict[str, Any] = {}
        _check_references(data, user, errors)
        roles = _collect(errors, lambda: _roles(data))
        if errors:
            raise ValidationFailed(errors)
        current = {
            "name": user.name,
            "mobile": user.mobile,
            "email": user.email,
            "gender": user.gender.value,
            "position": user.position,
            "org_unit_id": user.org_unit_id,
            "supervisor_id": user.supervisor_id,
        }
        fields = {k: v for k, v in data.items() if k not in ("role_ids", "role_keys")}
        return services.update_user(user, {**current, **fields}, roles=roles, actor=current_user)


@users_blp.route("/<int:user_id>/disable", methods=["POST"])
@users_blp.requires("user.manage")
@users_blp.errors(404, 409)
@users_blp.arguments(UserDisableSchema, required=False)
@users_blp.response(200, UserSchema)
def disable(data: dict[str, Any], user_id: int) -> Any:
    """Disable a user; a user who owns records must hand them to a colleague of the same store"""
    user = _managed_user(user_id)
    transfer_to = None
    if data.get("transfer_to_id") is not None:
        transfer_to = visible_or_field_error(User, data["transfer_to_id"], "transfer_to_id", _l("Choose another, active user."))
    elif user.active and any(n for _entry, n in ownership.owned_counts(db.session, user.id)):
        raise ValidationFailed({"transfer_to_id": _l("Choose who takes over the records of this user.")})
    services.disable_user(user, transfer_to=transfer_to, actor=current_user)
    return user


@users_blp.route("/<int:user_id>/enable", methods=["POST"])
@users_blp.requires("user.manage")
@users_blp.errors(404, 409, 422)
@users_blp.response(200, UserSchema)
def enable(user_id: int) -> Any:
    """Enable a disabled user again"""
    user = _managed_user(user_id)
    return services.enable_user(user, actor=current_user)
