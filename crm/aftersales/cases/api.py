"""/api/v1 — after-sales cases: open one on an order, list them with the list's filters, read one.

The decision is the approval chain's (`after_sales`): approvers decide in the approval queue (`POST
/api/v1/approvals/tasks/{id}/decide`); every later step is a task in the acting user's inbox, completed
through the tasks API (`GET /api/v1/tasks`, `POST /api/v1/tasks/{id}/complete`, docs/api.md). Scope and
errors as on the pages: another store's case or order is 404."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm.aftersales.cases import queries
from crm.aftersales.cases import services
from crm.aftersales.cases.queries import CaseFilters
from crm.aftersales.cases.schemas import CaseInputSchema
from crm.aftersales.cases.schemas import CaseQuerySchema
from crm.aftersales.cases.schemas import CaseSchema
from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import Loaded

blp = ApiBlueprint("After-sales", __name__, url_prefix="/api/v1",
                   description="After-sales cases: return and refund, refund only, exchange, reissue.")

CasePageSchema = page_schema(CaseSchema, "AfterSalesCasePage")


class CaseArgsSchema(CaseQuerySchema, PageArgsSchema):
    pass


@blp.route("/after-sales", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.arguments(CaseArgsSchema, location="query")
@blp.response(200, CasePageSchema)
def list_cases(args: dict[str, Any]) -> Any:
    """After-sales cases in your scope, newest first (filters as on the case list)"""
    filters = CaseFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit")})
    return queries.case_page(current_user, filters, cursor=args["cursor"], limit=args["limit"])


@blp.route("/after-sales/<int:case_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, CaseSchema)
def get_case(case_id: int) -> Any:
    """An after-sales case: its lines, shipments, inspection, refund and where its process stands"""
    return services.get_case(case_id, current_user)


@blp.route("/orders/<int:order_id>/after-sales", methods=["POST"])
@blp.requires("api.use", services.PERMISSION)
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(CaseInputSchema)
@blp.response(201, CaseSchema)
def open_case(args: dict[str, Any], order_id: int) -> Any:
    """Open an after-sales case on a signed order; its approval (chain `after_sales`) starts, then its steps
    arrive in the inboxes of the salesperson, the warehouse, logistics and finance"""
    return services.open_case(order_id, Loaded(args), actor=current_user)
