"""/api/v1/high-seas — the pool of a store, claims, assignment, moving customers to the pool, claim
applications. Same services, rules and messages as the pages: pools and customers outside the caller's
stores answer 404; a rule refusing (cooldown, quota, cap, reason missing) answers 422 on the field; a
customer someone else applied for first answers 409."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import fields
from marshmallow import validate

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.auth.scopes import get_visible
from crm.core.errors import NotFound
from crm.core.web import download
from crm.customers.models import Customer
from crm.customers.models import CustomerLevel
from crm.customers.schemas import CustomerSchema
from crm.highseas import queries
from crm.highseas import rules
from crm.highseas import services
from crm.highseas.models import ClaimStatus
from crm.highseas.schemas import AssignResultSchema
from crm.highseas.schemas import AssignSchema
from crm.highseas.schemas import ClaimQuerySchema
from crm.highseas.schemas import ClaimSchema
from crm.highseas.schemas import ClaimWriteSchema
from crm.highseas.schemas import PoolCustomerSchema
from crm.highseas.schemas import PoolQuerySchema
from crm.highseas.schemas import ReleaseSchema

blp = ApiBlueprint("High seas", __name__, url_prefix="/api/v1/high-seas",
                   description="Customer pools per store, claims (with approval and return visit), assignment.")

PoolPageSchema = page_schema(PoolCustomerSchema, "PoolCustomerPage")
ClaimPageSchema = page_schema(ClaimSchema, "ClaimPage")


class PoolArgsSchema(PoolQuerySchema, PageArgsSchema):
    pass


class ClaimArgsSchema(ClaimQuerySchema, PageArgsSchema):
    pass


@blp.route("/pools/<int:store_id>/customers", methods=["GET"])
@blp.requires("highseas.view")
@blp.errors(404)
@blp.arguments(PoolArgsSchema, location="query")
@blp.response(200, PoolPageSchema)
def pool_customers(args: dict[str, Any], store_id: int) -> Any:
    """The customers in a store's pool, newest first, with how long each has been there"""
    if store_id not in {s.id for s in queries.pool_stores(current_user)}:
        raise NotFound()
    filters = queries.PoolFilters(q=args.get("q"), level=CustomerLevel(args["level"]) if args.get("level") else None)
    page = queries.pool_page(store_id, filters, cursor=args["cursor"], limit=args["limit"])
    entered, pending = page.extra["entered"], page.extra["pending"]
    items = []
    for c in page.items:
        e = entered.get(c.id) or {}
        items.append({"id": c.id, "name": c.name, "company": c.company, "level": c.level.value if c.level else None,
                      "store_id": c.store_id, "entered_pool_at": e.get("at"), "days_in_pool": e.get("days"),
                      "former_owner": e.get("former"), "reason": e.get("reason"), "claim_pending": c.id in pending})
    return {"items": items, "next_cursor": page.next_cursor}


class PoolExportArgsSchema(PoolQuerySchema):
    format = fields.Str(load_default="csv", validate=validate.OneOf(["csv", "xlsx"], error=_l("Choose CSV or Excel.")),
                        metadata={"description": "csv (UTF-8 with BOM) or xlsx"})


@blp.route("/pools/<int:store_id>/customers/export", methods=["GET"])
@blp.requires("customer.export")
@blp.errors(404)
@blp.arguments(PoolExportArgsSchema, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream",
              description="The file (text/csv or XLSX), with a Content-Disposition file name")
def pool_export(args: dict[str, Any], store_id: int) -> Any:
    """The customers in a store's pool (same filters as the listing) as a CSV or XLSX file"""
    if store_id not in {s.id for s in queries.pool_stores(current_user)}:
        raise NotFound()
    filters = queries.PoolFilters(q=args.get("q"), level=CustomerLevel(args["level"]) if args.get("level") else None)
    body, name, mimetype = queries.export_file(store_id, filters, args["format"])
    return download(body, mimetype, name)


@blp.route("/customers/<int:customer_id>/claim", methods=["POST"])
@blp.requires("highseas.view")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(ClaimWriteSchema)
@blp.response(201, ClaimSchema)
def claim(data: dict[str, Any], customer_id: int) -> Any:
    """Apply to claim a pool customer (starts high_seas_claim: approval, then the return-visit deadline)"""
    return services.apply_claim(customer_id, data["reason"], actor=current_user)


@blp.route("/customers/<int:customer_id>/release", methods=["POST"])
@blp.requires("customer.transfer")
@blp.errors(404)
@blp.arguments(ReleaseSchema)
@blp.response(200, CustomerSchema)
def release(data: dict[str, Any], customer_id: int) -> Any:
    """Move an owned customer to the high seas, with the reason"""
    customer = get_visible(Customer, customer_id, current_user)
    services.move_to_pool([customer], data["reason"], actor=current_user)
    return customer


@blp.route("/assign", methods=["POST"])
@blp.requires("highseas.assign")
@blp.idempotent
@blp.errors(404, 409)
@blp.arguments(AssignSchema)
@blp.response(200, AssignResultSchema)
def assign(data: dict[str, Any]) -> Any:
    """Give pool customers to a person of their store (all or nothing)"""
    return {"assigned": services.assign(data["customer_ids"], data["owner_id"], data["reason"], actor=current_user)}


@blp.route("/claims", methods=["GET"])
@blp.requires("highseas.view")
@blp.arguments(ClaimArgsSchema, location="query")
@blp.response(200, ClaimPageSchema)
def claims(args: dict[str, Any]) -> Any:
    """My claim applications, or with audit=true those of the caller's scope (highseas.assign)"""
    if args["audit"]:
        if not current_user.can("highseas.assign"):
            from crm.core.errors import PermissionDenied

            raise PermissionDenied()
        status = ClaimStatus(args["status"]) if args.get("status") else None
        page = queries.audit_claims(current_user, status, cursor=args["cursor"], limit=args["limit"])
    else:
        page = queries.my_claims(current_user, cursor=args["cursor"], limit=args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/claims/<int:claim_id>", methods=["GET"])
@blp.requires("highseas.view")
@blp.errors(404)
@blp.response(200, ClaimSchema)
def claim_item(claim_id: int) -> Any:
    """One claim application and its status"""
    return queries.get_claim(claim_id, current_user)


__all__ = ["blp", "rules"]
