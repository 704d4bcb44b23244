"""Reads of the webhook pages and API: the endpoints in scope, an endpoint's deliveries (newest first, keyset
pages, filtered by status and event), a delivery's attempts, the stores an endpoint may serve."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from crm.auth.scopes import scope_context
from crm.auth.scopes import visible
from crm.core.pagination import Page
from crm.core.pagination import SortKey
from crm.core.pagination import keyset_page
from crm.extensions import db
from crm.integrations.webhooks.models import DeliveryStatus
from crm.integrations.webhooks.models import WebhookAttempt
from crm.integrations.webhooks.models import WebhookDelivery
from crm.integrations.webhooks.models import WebhookEndpoint
from crm.org.models import OrgUnit
from crm.org.models import User

ENDPOINT_KEYS = (SortKey(WebhookEndpoint.id, descending=True),)
DELIVERY_KEYS = (SortKey(WebhookDelivery.id, descending=True),)


def endpoint_page(actor: User, *, cursor: str | None = None, limit: int = 50) -> Page[WebhookEndpoint]:
    return keyset_page(db.session, visible(select(WebhookEndpoint), actor, WebhookEndpoint), ENDPOINT_KEYS,
                       cursor=cursor, limit=limit)


def delivery_page(endpoint: WebhookEndpoint, *, status: str | None = None, event: str | None = None,
                  cursor: str | None = None, limit: int = 50) -> Page[WebhookDelivery]:
    """The deliveries of an endpoint the caller already holds (got through `services.get_endpoint`)."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus(status))
    if event:
        stmt = stmt.where(WebhookDelivery.event == event)
    return keyset_page(db.session, stmt, DELIVERY_KEYS, cursor=cursor, limit=limit)


def attempts(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                                   .order_by(WebhookAttempt.id)))


def counts(endpoint_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per endpoint: its deliveries by status."""
    out: dict[int, dict[str, int]] = {eid: {} for eid in endpoint_ids}
    if endpoint_ids:
        for eid, status, n in db.session.execute(
                select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
                .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
                .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
            out[eid][DeliveryStatus(status).value] = n
    return out


def store_choices(actor: User) -> list[tuple[int, str]]:
    ids = scope_context(actor).selectable_stores()
    if not ids:
        return []
    return [(u.id, u.name) for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.name))]


def unit_names(endpoints: list[WebhookEndpoint]) -> dict[int, str]:
    ids = {e.unit_id for e in endpoints}
    if not ids:
        return {}
    return {uid: name for uid, name in db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))}

