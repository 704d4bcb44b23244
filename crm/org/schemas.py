"""marshmallow schemas of org units and users at the edges (the REST API).

Input schemas check types only; the rules (required names, mobile numbers, tree shape, uniqueness) live in
`crm.org.services`, which answers with per-field messages in the user's language. Enumerations are
documented here but validated there, for the same reason."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.org.models import Gender
from crm.org.models import Platform
from crm.org.models import UnitKind

MAX_ID = 2**31 - 1


def _id(**kwargs: object) -> fields.Int:
    return fields.Int(validate=validate.Range(1, MAX_ID, error=_l("Choose a valid value.")), **kwargs)  # type: ignore[arg-type]


def _values(enum_cls: type) -> list[str]:
    return [m.value for m in enum_cls]  # type: ignore[attr-defined]


# Output ---------------------------------------------------------------------------------------------------
class OrgUnitRefSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    kind = fields.Enum(UnitKind, by_value=True)


class OrgUnitSchema(ma.Schema):
    id = fields.Int()
    parent_id = fields.Int(allow_none=True)
    kind = fields.Enum(UnitKind, by_value=True)
    name = fields.Str()
    code = fields.Str(allow_none=True)
    path = fields.Str(metadata={"description": "Ids from the root down, e.g. /1/4/9/."})
    depth = fields.Int()
    store_id = fields.Int(allow_none=True, metadata={"description": "The store this unit is in (itself for a store)."})
    subsidiary_id = fields.Int(allow_none=True)
    platform = fields.Enum(Platform, by_value=True, allow_none=True)
    shop_name = fields.Str(allow_none=True)
    quote_letterhead = fields.Str(allow_none=True, metadata={
        "description": "Stores only: the lines printed under the store's name on its quote PDFs."})
    quote_terms = fields.Str(allow_none=True, metadata={
        "description": "Stores only: the terms printed at the end of its quote PDFs, one a line."})
    quote_seal = fields.Bool(metadata={
        "description": "Stores only: whether its quote PDFs end with the seal and signature boxes."})
    head_id = fields.Int(allow_none=True)
    active = fields.Bool()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserBaseSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    mobile = fields.Str()
    email = fields.Str(allow_none=True)
    gender = fields.Enum(Gender, by_value=True)
    position = fields.Str(allow_none=True)
    locale = fields.Str(allow_none=True)
    active = fields.Bool()
    org_unit_id = fields.Int()
    org_unit = fields.Nested(OrgUnitRefSchema)
    store_id = fields.Int(allow_none=True)
    supervisor_id = fields.Int(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# Input: org units ---------------------------------------------------------------------------------------
class OrgUnitQuerySchema(ma.Schema):
    kind = fields.Str(
        validate=validate.OneOf(_values(UnitKind), error=_l("Choose a valid value.")),
        metadata={"description": "Only units of this kind."},
    )
    active = fields.Bool(metadata={"description": "Only active (true) or deactivated (false) units."})
    parent_id = _id(metadata={"description": "Only the direct children of this unit."})


class OrgUnitCreateSchema(ma.Schema):
    kind = fields.Str(required=True, metadata={"enum": _values(UnitKind)})
    name = fields.Str(required=True)
    code = fields.Str(allow_none=True, metadata={"description": "Unique short code."})
    parent_id = _id(allow_none=True, metadata={"description": "Required except for the headquarters."})
    platform = fields.Str(allow_none=True, metadata={"enum": _values(Platform), "description": "Stores only."})
    shop_name = fields.Str(allow_none=True, metadata={"description": "Stores only."})


class OrgUnitUpdateSchema(ma.Schema):
    """Only the fields sent change."""

    name = fields.Str()
    code = fields.Str(allow_none=True)
    platform = fields.Str(allow_none=True, metadata={"enum": _values(Platform), "description": "Stores only."})
    shop_name = fields.Str(allow_none=True, metadata={"description": "Stores only."})
    quote_letterhead = fields.Str(allow_none=True, validate=validate.Length(max=2000), metadata={
        "description": "Stores only: the lines printed under the store's name on its quote PDFs (null: none)."})
    quote_terms = fields.Str(allow_none=True, validate=validate.Length(max=2000), metadata={
        "description": "Stores only: the terms printed at the end of its quote PDFs, one a line (null: none)."})
    quote_seal = fields.Bool(metadata={
        "description": "Stores only: whether its quote PDFs end with the seal and signature boxes."})
    head_id = _id(allow_none=True, metadata={"description": "A user working in this unit or below it."})


class OrgUnitMoveSchema(ma.Schema):
    parent_id = _id(required=True, metadata={"description": "The new parent unit."})


# Input: users ---------------------------------------------------------------------------------------------
class UserQuerySchema(ma.Schema):
    q = fields.Str(metadata={"description": "Part of the name, mobile number or e-mail."})
    unit_id = _id(metadata={"description": "Only users of this unit (one the caller may see) or the units below it."})
    role_id = _id(metadata={"description": "Only holders of this role."})
    active = fields.Bool(metadata={"description": "Only active (true) or disabled (false) users."})


class _UserFieldsSchema(ma.Schema):
    name = fields.Str()
    mobile = fields.Str(metadata={"description": "11-digit mainland mobile number; also the log-in."})
    email = fields.Str(allow_none=True)
    gender = fields.Str(allow_none=True, metadata={"enum": _values(Gender)})
    position = fields.Str(allow_none=True)
    org_unit_id = _id()
    supervisor_id = _id(allow_none=True)
    role_ids = fields.List(_id(), metadata={"description": "Replaces the user's roles."})
    role_keys = fields.List(fields.Str(), metadata={"description": "Roles by key (e.g. salesperson); added to role_ids."})


class UserCreateSchema(_UserFieldsSchema):
    name = fields.Str(required=True)
    mobile = fields.Str(required=True, metadata={"description": "11-digit mainland mobile number; also the log-in."})
    org_unit_id = _id(required=True)
    password = fields.Str(required=True, load_only=True, metadata={"description": "The initial password."})


class UserUpdateSchema(_UserFieldsSchema):
    """Only the fields sent change."""


class UserDisableSchema(ma.Schema):
    transfer_to_id = _id(
        allow_none=True, metadata={"description": "A user of the same store who takes over the records."}
    )
