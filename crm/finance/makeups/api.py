"""/api/v1 — make-up payments (补款): request one on an order, list them with filters, read one, withdraw
one still waiting for approval.

The decision is the approval chain's (`make_up`): approvers decide in the approval queue (`POST
/api/v1/approvals/tasks/{id}/decide`, docs/api.md). Scope and errors as on the pages: another store's
make-up or order is 404."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import Loaded
from crm.finance.makeups import queries
from crm.finance.makeups import services
from crm.finance.makeups.queries import MakeUpFilters
from crm.finance.makeups.schemas import MakeUpInputSchema
from crm.finance.makeups.schemas import MakeUpQuerySchema
from crm.finance.makeups.schemas import MakeUpSchema

blp = ApiBlueprint("Make-ups", __name__, url_prefix="/api/v1",
                   description="Make-up payments: extra amounts orders owe after signing, approved through a chain.")

MakeUpPageSchema = page_schema(MakeUpSchema, "MakeUpPage")


class MakeUpArgsSchema(MakeUpQuerySchema, PageArgsSchema):
    pass


@blp.route("/make-ups", methods=["GET"])
@blp.requires("finance.view", services.PERMISSION, any_of=True)
@blp.arguments(MakeUpArgsSchema, location="query")
@blp.response(200, MakeUpPageSchema)
def list_make_ups(args: dict[str, Any]) -> Any:
    """Make-ups in your scope, newest first (filters as on the make-up list)"""
    filters = MakeUpFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit")})
    return queries.make_up_page(current_user, filters, cursor=args["cursor"], limit=args["limit"])


@blp.route("/make-ups/<int:make_up_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, MakeUpSchema)
def get_make_up(make_up_id: int) -> Any:
    """A make-up: what, why, and where its approval stands"""
    return services.get_make_up(make_up_id, current_user)


@blp.route("/make-ups/<int:make_up_id>/withdraw", methods=["POST"])
@blp.requires("api.use", "order.view")
@blp.idempotent
@blp.errors(404, 409)
@blp.response(200, MakeUpSchema)
def withdraw_make_up(make_up_id: int) -> Any:
    """Withdraw a make-up you requested while it waits for approval (its approval tasks are cancelled)"""
    return services.withdraw_make_up(make_up_id, actor=current_user)


@blp.route("/orders/<int:order_id>/make-ups", methods=["POST"])
@blp.requires("api.use", services.PERMISSION)
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(MakeUpInputSchema)
@blp.response(201, MakeUpSchema)
def request_make_up(args: dict[str, Any], order_id: int) -> Any:
    """Request a make-up on a signed order (not cancelled); it counts towards what the order owes once the
    `make_up` approval chain approves it (none configured: at once)"""
    return services.request_make_up(order_id, Loaded(args), actor=current_user)
