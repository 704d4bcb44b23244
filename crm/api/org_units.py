"""/api/v1/org-units — the org tree. Reading needs `org.view`, writing `org.manage`.

Units outside the caller's data scope answer 404 exactly like missing ones; every id in a request body
(parent, head) must be visible to the caller too."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from crm.api.common import ApiBlueprint
from crm.api.common import PageArgsSchema
from crm.api.common import page_schema
from crm.api.common import visible_or_field_error
from crm.auth.scopes import get_visible
from crm.auth.scopes import visible
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.org import services
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User
from crm.org.schemas import OrgUnitCreateSchema
from crm.org.schemas import OrgUnitMoveSchema
from crm.org.schemas import OrgUnitQuerySchema
from crm.org.schemas import OrgUnitSchema
from crm.org.schemas import OrgUnitUpdateSchema

blp = ApiBlueprint(
    "OrgUnits", __name__, url_prefix="/api/v1/org-units",
    description="The org tree: headquarters, subsidiaries, stores and departments.",
)

OrgUnitPageSchema = page_schema(OrgUnitSchema, "OrgUnitPage")


class OrgUnitListArgsSchema(OrgUnitQuerySchema, PageArgsSchema):
    pass


@blp.route("")
class OrgUnits(MethodView):
    @blp.requires("org.view")
    @blp.arguments(OrgUnitListArgsSchema, location="query")
    @blp.response(200, OrgUnitPageSchema)
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

    @blp.requires("org.manage")
    @blp.arguments(OrgUnitCreateSchema)
    @blp.response(201, OrgUnitSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an org unit under a parent the caller may see"""
        if data.get("parent_id") is not None:
            visible_or_field_error(OrgUnit, data["parent_id"], "parent_id", _l("Choose the parent unit."))
        return services.create_unit(data, actor=current_user)


@blp.route("/<int:unit_id>")
class OrgUnitItem(MethodView):
    @blp.requires("org.view")
    @blp.errors(404)
    @blp.response(200, OrgUnitSchema)
    def get(self, unit_id: int) -> Any:
        """One org unit"""
        return get_visible(OrgUnit, unit_id, current_user)

    @blp.requires("org.manage")
    @blp.errors(404)
    @blp.arguments(OrgUnitUpdateSchema)
    @blp.response(200, OrgUnitSchema)
    def patch(self, data: dict[str, Any], unit_id: int) -> Any:
        """Rename, recode, change a store's platform or shop name, or set the head"""
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


@blp.route("/<int:unit_id>/move", methods=["POST"])
@blp.requires("org.manage")
@blp.errors(404)
@blp.arguments(OrgUnitMoveSchema)
@blp.response(200, OrgUnitSchema)
def move(data: dict[str, Any], unit_id: int) -> Any:
    """Move an org unit (with everything below it) under another parent"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    parent = visible_or_field_error(OrgUnit, data["parent_id"], "parent_id", _l("Choose the parent unit."))
    return services.move_unit(unit, parent, actor=current_user)


@blp.route("/<int:unit_id>/deactivate", methods=["POST"])
@blp.requires("org.manage")
@blp.errors(404, 422)
@blp.response(200, OrgUnitSchema)
def deactivate(unit_id: int) -> Any:
    """Deactivate an org unit that has no active sub-units or users"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    return services.set_unit_active(unit, False, actor=current_user)


@blp.route("/<int:unit_id>/activate", methods=["POST"])
@blp.requires("org.manage")
@blp.errors(404, 422)
@blp.response(200, OrgUnitSchema)
def activate(unit_id: int) -> Any:
    """Reactivate an org unit whose parent is active"""
    unit = get_visible(OrgUnit, unit_id, current_user)
    return services.set_unit_active(unit, True, actor=current_user)
