"""The payloads of the process API that are not the definitions' or the instances' own: the dry run's (its
input and its result, `crm.workflow.admin.dryrun.summary`)."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.workflow.admin import definitions


class DryRunInputSchema(ma.Schema):
    xml = fields.Str(required=True, metadata={"description": "The BPMN document (it may have problems)."})
    key = fields.Str(load_default=None, validate=validate.Regexp(definitions.KEY_RE, error=_l("Choose a valid value.")),
                     metadata={"description": "The process it is the next version of; omit for a new process."})
    samples = fields.Raw(load_default=None, metadata={"description": (
        "Start data: an object or a list of at most 5. Without it: the start data of recent instances in your "
        "scope, else data generated from the inputs the process declares.")})


class DryRunStepSchema(ma.Schema):
    element_id, name, kind, process = fields.Str(), fields.Str(), fields.Str(), fields.Str()


class DryRunRunSchema(ma.Schema):
    outcome = fields.Str(metadata={"description": "completed | error | stalled | limit"})
    path = fields.List(fields.Nested(DryRunStepSchema))
    statuses, ends, notes = fields.List(fields.Str()), fields.List(fields.Str()), fields.List(fields.Str())
    error, error_element, error_name = fields.Str(allow_none=True), fields.Str(allow_none=True), fields.Str(allow_none=True)


class DryRunRowSchema(ma.Schema):
    sample = fields.Int()
    choices = fields.List(fields.Str())
    new = fields.Nested(DryRunRunSchema, allow_none=True)
    current = fields.Nested(DryRunRunSchema, allow_none=True, metadata={"description": "The same run on the current version."})


class DryRunSchema(ma.Schema):
    key = fields.Str()
    samples = fields.List(fields.Dict())
    new, current = fields.Dict(), fields.Dict(allow_none=True)
    rows = fields.List(fields.Nested(DryRunRowSchema))
