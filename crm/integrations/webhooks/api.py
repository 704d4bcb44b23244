"""/api/v1 — webhooks: register endpoints (the secret is in the creation's answer only), change, rotate the
secret, send a test, delete; read an endpoint's deliveries and their attempts, resend one.

Requires `integration.webhooks.manage` (the admin roles). Endpoints and deliveries outside the caller's
scope are 404; a `store_id` outside it is a 422 naming the field. Events, payload and the signature:
docs/api.md "Webhooks"."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from crm.auth.rest import ApiBlueprint
from crm.auth.rest import PageArgsSchema
from crm.auth.rest import page_schema
from crm.core.validation import Loaded
from crm.integrations.webhooks import queries
from crm.integrations.webhooks import services
from crm.integrations.webhooks.schemas import DeliveryDetailSchema
from crm.integrations.webhooks.schemas import DeliveryQuerySchema
from crm.integrations.webhooks.schemas import DeliverySchema
from crm.integrations.webhooks.schemas import EndpointInput
from crm.integrations.webhooks.schemas import EndpointPatchSchema
from crm.integrations.webhooks.schemas import EndpointSchema
from crm.integrations.webhooks.schemas import NewEndpointSchema
from crm.integrations.webhooks.schemas import SecretSchema

blp = ApiBlueprint("Webhooks", __name__, url_prefix="/api/v1",
                   description="Signed HTTPS callbacks to your systems when orders, collections, invoices, "
                               "after-sales cases, customers and tasks change.")

EndpointPageSchema = page_schema(EndpointSchema, "WebhookEndpointPage")
DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")
MANAGE = services.PERMISSION


class DeliveryArgsSchema(DeliveryQuerySchema, PageArgsSchema):
    pass


@blp.route("/webhooks", methods=["GET"])
@blp.requires("api.use", MANAGE)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, EndpointPageSchema)
def list_endpoints(args: dict[str, Any]) -> Any:
    """The webhook endpoints of your scope, newest first"""
    return queries.endpoint_page(current_user, cursor=args["cursor"], limit=args["limit"])


@blp.route("/webhooks", methods=["POST"])
@blp.requires("api.use", MANAGE)
@blp.arguments(EndpointInput)
@blp.response(201, NewEndpointSchema)
def create_endpoint(args: dict[str, Any]) -> Any:
    """Register an endpoint; the answer holds its signing secret, shown this once"""
    endpoint, secret = services.create_endpoint(Loaded(args), actor=current_user)
    endpoint.new_secret = secret  # type: ignore[attr-defined]  # answered this once, never stored apart
    return endpoint


@blp.route("/webhooks/<int:endpoint_id>", methods=["GET"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.response(200, EndpointSchema)
def get_endpoint(endpoint_id: int) -> Any:
    """An endpoint (its secret's first characters only)"""
    return services.get_endpoint(endpoint_id, current_user)


@blp.route("/webhooks/<int:endpoint_id>", methods=["PATCH"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.arguments(EndpointPatchSchema)
@blp.response(200, EndpointSchema)
def update_endpoint(args: dict[str, Any], endpoint_id: int) -> Any:
    """Change the fields sent (at least one); the others keep their values"""
    return services.update_endpoint(endpoint_id, args, actor=current_user)


@blp.route("/webhooks/<int:endpoint_id>", methods=["DELETE"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.response(204)
def delete_endpoint(endpoint_id: int) -> Any:
    """Delete an endpoint with its deliveries"""
    services.delete_endpoint(endpoint_id, actor=current_user)
    return None


@blp.route("/webhooks/<int:endpoint_id>/rotate-secret", methods=["POST"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.response(200, SecretSchema)
def rotate_secret(endpoint_id: int) -> Any:
    """A new signing secret, used from now on (shown this once)"""
    _endpoint, secret = services.rotate_secret(endpoint_id, actor=current_user)
    return {"secret": secret}


@blp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.response(202, DeliverySchema)
def send_test(endpoint_id: int) -> Any:
    """Queue a `ping` delivery to this endpoint"""
    return services.send_test(endpoint_id, actor=current_user)


@blp.route("/webhooks/<int:endpoint_id>/deliveries", methods=["GET"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.arguments(DeliveryArgsSchema, location="query")
@blp.response(200, DeliveryPageSchema)
def list_deliveries(args: dict[str, Any], endpoint_id: int) -> Any:
    """The endpoint's deliveries, newest first: status, attempts, last answer and its duration"""
    endpoint = services.get_endpoint(endpoint_id, current_user)
    return queries.delivery_page(endpoint, status=args["status"], event=args["event"], cursor=args["cursor"],
                                 limit=args["limit"])


@blp.route("/webhook-deliveries/<int:delivery_id>", methods=["GET"])
@blp.requires("api.use", MANAGE)
@blp.errors(404)
@blp.response(200, DeliveryDetailSchema)
def get_delivery(delivery_id: int) -> Any:
    """A delivery with the body as sent and every attempt"""
    delivery = services.get_delivery(delivery_id, current_user)
    delivery.attempt_rows = queries.attempts(delivery)  # type: ignore[attr-defined]
    return delivery


@blp.route("/webhook-deliveries/<int:delivery_id>/resend", methods=["POST"])
@blp.requires("api.use", MANAGE)
@blp.errors(404, 409)
@blp.response(202, DeliverySchema)
def resend(delivery_id: int) -> Any:
    """Send a delivery again (same body and event id, a fresh retry budget)"""
    return services.resend(delivery_id, actor=current_user)
