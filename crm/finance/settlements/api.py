"""/api/v1/settlements — platform settlement batches: record one (multipart: its fields, `lines` as a JSON
string and one or more `vouchers` files), list them ({items, next_cursor}, filters), read one with its lines
(one collection per order), verify every line still waiting, and a batch's voucher files. Finance only
(`finance.view`); another store's batch is 404."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import Loaded
from crm.core.web import stored_file_response
from crm.finance.settlements import queries
from crm.finance.settlements import services
from crm.finance.settlements.queries import SettlementFilters
from crm.finance.settlements.schemas import SettlementDetailSchema
from crm.finance.settlements.schemas import SettlementInputSchema
from crm.finance.settlements.schemas import SettlementQuerySchema
from crm.finance.settlements.schemas import SettlementSchema

blp = ApiBlueprint("Settlements", __name__, url_prefix="/api/v1",
                   description="Platform settlement batches: one transfer split over several orders of a store.")

SettlementPageSchema = page_schema(SettlementSchema, "SettlementPage")


class SettlementArgsSchema(SettlementQuerySchema, PageArgsSchema):
    pass


class SettlementUploadSchema(SettlementInputSchema):
    vouchers = fields.List(Upload(), required=True, validate=validate.Length(min=1),
                           metadata={"description": "One or more files (PDF or picture)."})


def _detail(settlement: Any) -> Any:
    (summary,) = queries.listed([settlement])
    summary.lines = services.lines_of(settlement.id)
    return summary


@blp.route("/settlements", methods=["POST"])
@blp.requires("api.use", "finance.view", "finance.collection.record")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(SettlementUploadSchema, location="multipart")
@blp.response(201, SettlementDetailSchema)
def record_settlement(args: dict[str, Any]) -> Any:
    """Record a settlement batch with its vouchers, split over orders of one store: one collection per
    line, each verified by finance like any collection. The lines add up to `amount`; every line passes
    the checks of a single collection; every refusal at once (`lines.{i}.amount`, ...)."""
    uploads = [(f.filename, f.stream) for f in args.pop("vouchers")]
    return _detail(services.record_settlement(Loaded(args), uploads, actor=current_user))


@blp.route("/settlements", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.arguments(SettlementArgsSchema, location="query")
@blp.response(200, SettlementPageSchema)
def list_settlements(args: dict[str, Any]) -> Any:
    """Settlement batches in your stores, newest first, with their lines counted"""
    filters = SettlementFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit")})
    return queries.settlement_page(current_user, filters, cursor=args["cursor"], limit=args["limit"])


@blp.route("/settlements/<int:settlement_id>", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.errors(404)
@blp.response(200, SettlementDetailSchema)
def get_settlement(settlement_id: int) -> Any:
    """A settlement batch with its lines (one collection per order, with its status)"""
    return _detail(services.get_settlement(settlement_id, current_user))


@blp.route("/settlements/<int:settlement_id>/verify", methods=["POST"])
@blp.requires("api.use", "finance.view", "finance.collection.verify")
@blp.idempotent
@blp.errors(404, 409)
@blp.response(200, SettlementDetailSchema)
def verify_settlement(settlement_id: int) -> Any:
    """Verify every line still waiting (a finance user other than the recorder), each through its
    verification task; all or nothing: a refused line is named and nothing is verified (409)."""
    services.verify_all(settlement_id, actor=current_user)
    return _detail(services.get_settlement(settlement_id, current_user))


@blp.route("/settlements/<int:settlement_id>/vouchers/<int:voucher_id>", methods=["GET"])
@blp.requires("api.use", "finance.view")
@blp.errors(404)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream")
def voucher(settlement_id: int, voucher_id: int) -> Any:
    """A settlement's voucher file"""
    item, path = services.voucher_file(settlement_id, voucher_id, current_user)
    return stored_file_response(path, item.content_type, item.original_name)
