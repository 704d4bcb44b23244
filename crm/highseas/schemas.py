"""Marshmallow schemas of the high-seas API."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate


class PoolCustomerSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    company = fields.Str(allow_none=True)
    level = fields.Str(allow_none=True)
    store_id = fields.Int()
    entered_pool_at = fields.DateTime(allow_none=True)
    days_in_pool = fields.Int(allow_none=True)
    former_owner = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True, metadata={"description": "Why it entered the pool"})
    claim_pending = fields.Bool()


class PoolQuerySchema(ma.Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=60))
    level = fields.Str(load_default=None, validate=validate.OneOf(["a", "b", "c", "d"],
                                                                  error=_l("Choose a level from the list.")))


class ClaimWriteSchema(ma.Schema):
    reason = fields.Str(required=True, metadata={"description": "Why the salesperson wants the customer"})


class ReleaseSchema(ma.Schema):
    reason = fields.Str(required=True)


class AssignSchema(ma.Schema):
    customer_ids = fields.List(fields.Int(), required=True, validate=validate.Length(min=1, max=200))
    owner_id = fields.Int(required=True)
    reason = fields.Str(load_default="")


class AssignResultSchema(ma.Schema):
    assigned = fields.Int()


class ClaimSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    customer_id = fields.Int()
    applicant_id = fields.Int()
    former_owner_id = fields.Int(allow_none=True)
    reason = fields.Str()
    status = fields.Function(lambda c: c.status.value, metadata={
        "description": "pending (approval), visiting (approved, visit due), kept, returned, rejected"})
    instance_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    visit_due_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class ClaimQuerySchema(ma.Schema):
    audit = fields.Bool(load_default=False, metadata={"description": "Claims of the caller's scope (highseas.assign)"})
    status = fields.Str(load_default=None, validate=validate.OneOf(
        ["pending", "visiting", "kept", "returned", "rejected"], error=_l("Choose a status from the list.")))
