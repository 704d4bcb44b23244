"""/api/v1 — an order's receivable plan: `GET /orders/{id}/plan` (its instalments with their status as of
today, Asia/Shanghai) and `PUT /orders/{id}/plan` (create it or replace its instalments; an item with an
`id` keeps that instalment). The instalments must add up to what the order owes; refusals name the
field (`instalments`, `instalments.1.due_on`). Another store's order is 404."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields

from crm.auth.rest import ApiBlueprint
from crm.core.errors import NotFound
from crm.core.validation import load_input
from crm.finance.plans import queries
from crm.finance.plans import services
from crm.finance.plans.schemas import METHODS
from crm.finance.plans.schemas import PlanInput
from crm.finance.plans.schemas import PlanSchema
from crm.sales.orders import services as order_services

blp = ApiBlueprint("Receivable plans", __name__, url_prefix="/api/v1",
                   description="Instalments an order's money is expected in, and their status.")

INSTALMENT_DOC = {"type": "object", "properties": {
    "id": {"type": "integer", "description": "An existing instalment to keep (omit for a new one)."},
    "amount": {"type": "string", "example": "500.00"},
    "due_on": {"type": "string", "format": "date"},
    "method": {"type": "string", "enum": METHODS, "nullable": True},
    "remind_days": {"type": "integer", "nullable": True,
                    "description": "Days before the due date to remind (default: FINANCE_REMINDER_DAYS)."}}}


class PlanBodySchema(ma.Schema):
    instalments = fields.Raw(required=True, metadata={"type": "array", "items": INSTALMENT_DOC,
                                                      "description": "Adding up to what the order owes."})
    note = fields.Raw(load_default=None, metadata={"type": "string", "nullable": True})
    lock_version = fields.Int(load_default=None, metadata={"description": "The plan's, to refuse a stale edit (409)."})


@blp.route("/orders/<int:order_id>/plan", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, PlanSchema)
def get_plan(order_id: int) -> Any:
    """An order's receivable plan (404 when it has none)"""
    order = order_services.get_order(order_id, current_user)
    data = queries.plan_data(order)
    if data is None:
        raise NotFound(_l("This order has no receivable plan."))
    return data


@blp.route("/orders/<int:order_id>/plan", methods=["PUT"])
@blp.requires("api.use", "finance.plan.edit")
@blp.errors(404, 409)
@blp.arguments(PlanBodySchema)
@blp.response(200, PlanSchema)
def put_plan(body: dict[str, Any], order_id: int) -> Any:
    """Create or replace an order's receivable plan"""
    loaded = load_input(PlanInput(), {"instalments": body["instalments"], "note": body.get("note")})
    plan = services.save_plan(order_id, loaded, actor=current_user, lock_version=body.get("lock_version"))
    return queries.plan_data(order_services.get_order(order_id, current_user), plan)
