"""Webhooks: `publish` an event into the outbox (in the caller's transaction), manage endpoints, resend a
delivery. Services flush, never commit; sending is `delivery.send_due` (the scheduler's job).

Where an event comes from, the context that owns it calls `publish(event, data, store_id=...)` in the
same transaction as the change: a rolled-back change delivers nothing. `data` is the object's own fields
(ids, numbers, statuses, amounts as strings), all of one store; only the endpoints covering that store
(the store's own, and "all stores" endpoints of its subsidiary or HQ) receive it."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy import select

from crm.auth.permissions import DataScope
from crm.auth.scopes import LOCATION_SCOPES
from crm.auth.scopes import get_visible
from crm.auth.scopes import scope_context
from crm.core.clock import utcnow
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import Loaded
from crm.core.validation import as_id
from crm.core.validation import load_input
from crm.extensions import db
from crm.integrations.webhooks.addresses import url_refusal
from crm.integrations.webhooks.models import EVENTS
from crm.integrations.webhooks.models import PING
from crm.integrations.webhooks.models import DeliveryStatus
from crm.integrations.webhooks.models import WebhookAttempt
from crm.integrations.webhooks.models import WebhookDelivery
from crm.integrations.webhooks.models import WebhookEndpoint
from crm.integrations.webhooks.schemas import EndpointInput
from crm.org.models import OrgUnit
from crm.org.models import UnitKind
from crm.org.models import User

PERMISSION = "integration.webhooks.manage"
EVENTS_ALL = list(EVENTS)
FIELDS = ("name", "url", "events", "store_id", "active")


# Publishing --------------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """JSON for what a payload holds: money as a string with its 2 places, times in ISO 8601."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON: {type(value).__name__}")


def body_of(event: str, event_id: str, data: dict[str, Any], store_id: int | None, at: datetime) -> str:
    return json.dumps({"id": event_id, "event": event, "created_at": at, "store_id": store_id, "data": data},
                      default=_plain, ensure_ascii=False, separators=(",", ":"))


_CACHE = "crm_webhook_endpoints"


def _active() -> list[tuple[int, list[str], str]]:
    """(id, events, unit path) of the active endpoints, read once per transaction (an order's step, a job's
    batch and an import publish many events: one statement for all of them; none at all when no endpoint
    exists). Writes to endpoints forget it (`_forget`)."""
    root = db.session().get_transaction()
    held = db.session.info.get(_CACHE)
    if held is not None and held[0] is root:
        return held[1]  # type: ignore[no-any-return]
    with db.session.no_autoflush:  # a process step writes its changes with one flush of its own
        rows = [(eid, list(events or []), path) for eid, events, path in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == WebhookEndpoint.unit_id).where(WebhookEndpoint.active)
            .order_by(WebhookEndpoint.id))]
    db.session.info[_CACHE] = (root, rows)
    return rows


def _forget() -> None:
    db.session.info.pop(_CACHE, None)


def subscribed(event: str, place: int | None) -> list[int]:
    """The active endpoints subscribed to `event` that cover the org unit `place` (None: company-wide events,
    which only HQ-wide endpoints receive)."""
    endpoints = [(eid, path) for eid, events, path in _active() if event in events]
    if not endpoints:
        return []
    if place is None:
        return [eid for eid, path in endpoints if path.count("/") == 2]
    with db.session.no_autoflush:
        unit = db.session.get(OrgUnit, place)
    return [eid for eid, path in endpoints if unit is not None and unit.path.startswith(path)]


def publish(event: str, data: dict[str, Any], *, store_id: int | None, unit_id: int | None = None) -> int:
    """Queue `event` for every active endpoint subscribed to it that covers the event's store (`store_id`;
    for rows outside any store, the org unit `unit_id`). Written in the caller's transaction, not flushed
    (the caller's flush or commit writes it). Returns how many deliveries were queued."""
    endpoints = subscribed(event, store_id or unit_id)
    if not endpoints:
        return 0
    now = utcnow()
    event_id = str(uuid.uuid4())
    body = body_of(event, event_id, data, store_id, now)
    for endpoint_id in endpoints:
        db.session.add(WebhookDelivery(endpoint_id=endpoint_id, unit_id=store_id or unit_id, store_id=store_id,
                                       event=event, event_id=event_id, body=body, status=DeliveryStatus.PENDING,
                                       attempts=0, next_attempt_at=now, created_at=now))
    return len(endpoints)


def _process_task(event: str, task_id: int, store_id: int | None, task: dict[str, Any]) -> None:
    publish(event, {"task_id": task_id, "kind": "process", **task}, store_id=store_id)


def on_task_created(_sender: Any, *, task_id: int, store_id: int | None, **task: Any) -> None:
    """The workflow inbox's `task_created` signal (connected by the wiring): the `task.created` webhook of a
    process task, in the step's transaction."""
    _process_task("task.created", task_id, store_id, task)


def on_task_completed(_sender: Any, *, instance: Any, task_guid: str, completed_by_id: int | None, **_: Any) -> None:
    """`task_completed`: the `task.completed` webhook of the process task a step completed; its row (still
    open when the signal comes) is read only when an endpoint wants the event."""
    from crm.workflow.models import HumanTask
    from crm.workflow.models import TaskStatus

    if not subscribed("task.completed", instance.store_id):
        return
    with db.session.no_autoflush:
        row = db.session.execute(
            select(HumanTask.id, HumanTask.bpmn_id, HumanTask.title, HumanTask.assignee_id)
            .where(HumanTask.instance_id == instance.id, HumanTask.task_guid == task_guid,
                   HumanTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]))).first()
    if row is not None:
        _process_task("task.completed", row.id, instance.store_id, {
            "instance_id": instance.id, "process_key": instance.process_key, "bpmn_id": row.bpmn_id,
            "title": row.title, "object_type": instance.object_type, "object_id": instance.object_id,
            "assignee_id": row.assignee_id, "completed_by_id": completed_by_id})


# Endpoints ---------------------------------------------------------------------------------------------------
def _require(actor: User) -> None:
    if not actor.can(PERMISSION):
        raise PermissionDenied()


def get_endpoint(endpoint_id: Any, actor: User) -> WebhookEndpoint:
    _require(actor)
    return get_visible(WebhookEndpoint, endpoint_id, actor)


def widest_unit(actor: User) -> OrgUnit | None:
    """The unit "all stores" means for this actor: the widest their whole-store scopes reach (their store,
    subsidiary or HQ); None when no role of theirs sees whole stores."""
    ctx = scope_context(actor)
    anchors = [ctx._anchor(DataScope(s)) for s in ctx.scopes if s in LOCATION_SCOPES]  # noqa: SLF001
    if not anchors:
        return None
    return db.session.get(OrgUnit, min(anchors, key=lambda uid: db.session.get(OrgUnit, uid).depth))  # type: ignore[union-attr]


def _place(store_id: int | None, actor: User, errors: dict[str, Any]) -> OrgUnit | None:
    if store_id is None:
        unit = widest_unit(actor)
        if unit is None:
            errors["store_id"] = _l("Your data scope covers no whole store: choose a store.")
        return unit
    unit = db.session.get(OrgUnit, store_id) if store_id in scope_context(actor).selectable_stores() else None
    if unit is None or unit.kind != UnitKind.STORE:
        errors["store_id"] = _l("Choose a store within your scope.")
        return None
    return unit


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _checked(data: Loaded | dict[str, Any], actor: User) -> tuple[dict[str, Any], OrgUnit]:
    loaded = load_input(EndpointInput(), data)
    values, errors = loaded.values, dict(loaded.errors)
    unit = _place(values.get("store_id"), actor, errors) if "store_id" not in errors else None
    if "url" not in errors and values.get("url"):
        refusal = url_refusal(values["url"])
        if refusal is not None:
            errors["url"] = refusal
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None
    return values, unit


def create_endpoint(data: Loaded | dict[str, Any], *, actor: User) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown once: only its first characters are shown again)."""
    _require(actor)
    values, unit = _checked(data, actor)
    secret = new_secret()
    endpoint = WebhookEndpoint(name=values["name"], url=values["url"], events=values["events"], unit_id=unit.id,
                               store_id=unit.store_id, active=values["active"], secret=secret,
                               created_by_id=actor.id)
    db.session.add(endpoint)
    db.session.flush()
    _forget()
    return endpoint, secret


def current_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"name": endpoint.name, "url": endpoint.url, "events": list(endpoint.events or []),
            "store_id": endpoint.store_id if endpoint.unit_id == endpoint.store_id else None,
            "active": endpoint.active}


def update_endpoint(endpoint_id: Any, changes: dict[str, Any], *, actor: User) -> WebhookEndpoint:
    """Change the fields in `changes` (only those); the rest keep their values."""
    endpoint = get_endpoint(endpoint_id, actor)
    sent = {k: v for k, v in changes.items() if k in FIELDS}
    values, unit = _checked({**current_values(endpoint), **sent}, actor)
    endpoint.name, endpoint.url, endpoint.events = values["name"], values["url"], values["events"]
    endpoint.active = values["active"]
    if "store_id" in sent:
        endpoint.unit_id, endpoint.store_id = unit.id, unit.store_id
    db.session.flush()
    _forget()
    return endpoint


def rotate_secret(endpoint_id: Any, *, actor: User) -> tuple[WebhookEndpoint, str]:
    """A new secret, at once: deliveries sent from now on are signed with it."""
    endpoint = get_endpoint(endpoint_id, actor)
    endpoint.secret = new_secret()
    db.session.flush()
    return endpoint, endpoint.secret


def delete_endpoint(endpoint_id: Any, *, actor: User) -> None:
    endpoint = get_endpoint(endpoint_id, actor)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()
    _forget()


def send_test(endpoint_id: Any, *, actor: User) -> WebhookDelivery:
    """A `ping` delivery to this endpoint only (to check the URL and the signature check on the other side)."""
    endpoint = get_endpoint(endpoint_id, actor)
    now = utcnow()
    event_id = str(uuid.uuid4())
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, unit_id=endpoint.unit_id, store_id=endpoint.store_id, event=PING, event_id=event_id,
        body=body_of(PING, event_id, {"endpoint_id": endpoint.id, "sent_by": actor.id}, endpoint.store_id, now),
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now)
    db.session.add(delivery)
    db.session.flush()
    return delivery


# Deliveries --------------------------------------------------------------------------------------------------
def get_delivery(delivery_id: Any, actor: User) -> WebhookDelivery:
    """A delivery of an endpoint the actor manages (404 otherwise)."""
    _require(actor)
    delivery = db.session.get(WebhookDelivery, as_id(delivery_id))
    if delivery is None:
        raise NotFound()
    get_visible(WebhookEndpoint, delivery.endpoint_id, actor)
    return delivery


def resend(delivery_id: Any, *, actor: User) -> WebhookDelivery:
    """Send a delivery again (a failed one, or a delivered one the receiver lost): it is queued now with a
    fresh retry budget; its attempts so far stay in its log. The body and the event id are the same."""
    delivery = get_delivery(delivery_id, actor)
    if delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0:
        raise InvalidTransition(_l("This delivery is waiting for its first attempt."))
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, utcnow()
    db.session.flush()
    return delivery
