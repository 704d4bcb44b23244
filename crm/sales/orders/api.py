"""/api/v1/orders — contracting orders: list with filters, create (from an approved quote, or directly at
90 % of list price or more), read, cancel (before outbound, with a reason), the order's open pipeline tasks and the export of
signed orders. Money is recorded as collections: /api/v1/orders/{id}/collections (finance).

The pipeline's actions (signature, outbound, delivery, receipt, refund) are tasks of the people who do
them: read and complete them with /api/v1/tasks (`GET /api/v1/orders/{id}/tasks` lists the open ones).
Scope and errors as on the pages: another store's order is 404."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.apidoc import add_example
from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_of
from crm.auth.rest import page_schema
from crm.core import tabular
from crm.core.web import download
from crm.sales.orders import export as order_export
from crm.sales.orders import queries as order_queries
from crm.sales.orders import services as order_services
from crm.sales.orders.queries import OrderFilters
from crm.sales.orders.schemas import ORDER_EXAMPLE
from crm.sales.orders.schemas import ORDER_WRITE_EXAMPLE
from crm.sales.orders.schemas import SIGN_EXAMPLE
from crm.sales.orders.schemas import SIGNED_EXAMPLE
from crm.sales.orders.schemas import CancelSchema
from crm.sales.orders.schemas import OrderDetailSchema
from crm.sales.orders.schemas import OrderQuerySchema
from crm.sales.orders.schemas import OrderSchema
from crm.sales.orders.schemas import OrderTaskSchema
from crm.sales.orders.schemas import OrderWriteSchema

blp = ApiBlueprint("Orders", __name__, url_prefix="/api/v1",
                   description="Contracting orders and their pipeline: create from a quote, cancel, export.")

OrderPageSchema = page_schema(OrderSchema, "OrderPage")
# An order is signed by completing its `op_sign` task (the inbox's route): its example is the order flow's.
add_example("post", "/api/v1/tasks/{task_id}/complete", request=SIGN_EXAMPLE, response=SIGNED_EXAMPLE)


class OrderListArgsSchema(OrderQuerySchema, PageArgsSchema):
    pass


class ExportArgsSchema(OrderQuerySchema):
    format = fields.Str(load_default="xlsx", validate=validate.OneOf(tabular.FORMATS))


def _filters(args: dict[str, Any]) -> OrderFilters:
    return OrderFilters.from_args({k: v for k, v in args.items() if k not in ("cursor", "limit", "format")})


@blp.route("/orders")
class Orders(MethodView):
    @blp.requires("api.use", "order.view")
    @blp.arguments(OrderListArgsSchema, location="query")
    @blp.response(200, OrderPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """List orders in your scope, newest first (filters: status, payment mode, terminal, store, salesperson, dates)"""
        return order_queries.list_orders(current_user, _filters(args), cursor=args["cursor"], limit=args["limit"])

    @blp.requires("api.use", "order.create")
    @blp.idempotent
    @blp.arguments(OrderWriteSchema, example=ORDER_WRITE_EXAMPLE)
    @blp.errors(409)
    @blp.response(201, OrderDetailSchema, example=ORDER_EXAMPLE)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a contracting order; it answers once the order waits at its first pipeline task"""
        if data.get("quote_id") not in (None, ""):
            return order_services.create_from_quote(data["quote_id"], data, actor=current_user)
        return order_services.create_direct(data, actor=current_user)


@blp.route("/orders/export", methods=["GET"])
@blp.requires("api.use", "order.export")
@blp.arguments(ExportArgsSchema, location="query")
@blp.response(200, {"type": "string", "format": "binary"},
              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def export(args: dict[str, Any]) -> Any:
    """Signed orders in your scope (cancelled ones excluded) as XLSX or CSV; the dates filter the signing date"""
    body, mimetype, name = order_export.signed_orders_file(current_user, _filters(args), args["format"])
    return download(body, mimetype, name)


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.response(200, OrderDetailSchema)
def get_order(order_id: int) -> Any:
    """An order with its lines and what was collected and refunded (the payments: /api/v1/payments)"""
    return order_services.get_order(order_id, current_user)


@blp.route("/orders/<int:order_id>/tasks", methods=["GET"])
@blp.requires("api.use", "order.view")
@blp.errors(404)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(OrderTaskSchema, "OrderTaskPage"))
def tasks(args: dict[str, Any], order_id: int) -> Any:
    """The order's open pipeline tasks (complete yours with /api/v1/tasks/{id}/complete)"""
    return page_of(order_queries.open_tasks(order_services.get_order(order_id, current_user)), args)


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.requires("api.use", "order.cancel")
@blp.idempotent
@blp.arguments(CancelSchema)
@blp.errors(404, 409)
@blp.response(200, OrderDetailSchema)
def cancel(data: dict[str, Any], order_id: int) -> Any:
    """Cancel before outbound, with a reason (after a collection, finance refunds first: pending_refund)"""
    return order_services.cancel_order(order_id, data, actor=current_user)
