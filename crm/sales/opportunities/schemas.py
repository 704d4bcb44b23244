"""Opportunity schemas: the API's and pages' input and output shapes."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import ID_RANGE
from crm.sales.catalog.schemas import MONEY_IN

# Opportunities ------------------------------------------------------------------------------------------------

class StageSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    position = fields.Int()
    win_rate = fields.Decimal(as_string=True, places=4, metadata={"description": "0.2500 = 25 %"})
    active = fields.Bool()


class PipelineSchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    name = fields.Str()
    active = fields.Bool()
    stages = fields.List(fields.Nested(StageSchema))


class OpportunitySchema(ma.Schema):
    id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int()
    customer_id = fields.Int()
    pipeline_id = fields.Int()
    stage_id = fields.Int()
    name = fields.Str()
    amount = fields.Decimal(as_string=True, places=2)
    weighted_amount = fields.Decimal(as_string=True, places=2, metadata={"description": "amount × win rate"})
    expected_close = fields.Date(allow_none=True)
    status = fields.Str(metadata={"enum": ["open", "won", "lost"]})
    close_reason = fields.Str(allow_none=True)
    lock_version = fields.Int()


class OpportunityWriteSchema(ma.Schema):
    customer_id = fields.Raw(required=True, metadata={"type": "integer"})
    pipeline_id = fields.Raw(required=True, metadata={"type": "integer"})
    stage_id = fields.Raw(load_default=None, metadata={"type": "integer", "description": "Default: the first stage."})
    name = fields.Str(required=True)
    amount = fields.Raw(load_default=None, metadata=MONEY_IN)
    expected_close = fields.Str(load_default=None, metadata={"format": "date"})


class OpportunityQuerySchema(ma.Schema):
    pipeline_id = fields.Int(validate=ID_RANGE, required=True)


class MoveSchema(ma.Schema):
    stage_id = fields.Int(validate=ID_RANGE, required=True)
    lock_version = fields.Int(load_default=None, metadata={"description": "The version you saw; a stale one is 409."})


class CloseSchema(ma.Schema):
    outcome = fields.Str(required=True, validate=validate.OneOf(["won", "lost"]))
    reason = fields.Str(load_default=None, metadata={"description": "Required when lost."})
