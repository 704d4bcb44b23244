"""The input and output shapes of webhooks. The endpoint form of the admin page and `POST /api/v1/webhooks`
(and `PATCH`, over the endpoint's current values) load the same `EndpointInput`; what needs the database,
the configuration or the actor (the store in scope, the URL's addresses) the service checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow import validate

from crm.core.validation import EveryField
from crm.core.validation import Parsed
from crm.core.validation import check_text
from crm.core.validation import raising
from crm.integrations.webhooks.models import EVENTS
from crm.integrations.webhooks.models import DeliveryStatus

URL_MAX = 500


def _url(raw: Any) -> str:
    text = raising(check_text, max_length=URL_MAX)(raw)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise ma.ValidationError(str(_l("Enter a URL such as https://erp.example.com/crm-hooks."))) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ma.ValidationError(str(_l("Enter a URL such as https://erp.example.com/crm-hooks.")))
    if parts.username or parts.password:
        raise ma.ValidationError(str(_l("Leave the user name and password out of the URL: every delivery is "
                                        "signed with the endpoint's secret instead.")))
    if parts.fragment:
        raise ma.ValidationError(str(_l("Leave the #fragment out of the URL.")))
    return text


def _events(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw] if raw.strip() else []
    if not isinstance(raw, list | tuple) or not raw:
        raise ma.ValidationError(str(_l("Choose at least one event.")))
    if any(not isinstance(e, str) or e not in EVENTS for e in raw):
        raise ma.ValidationError(str(_l("Choose events from the list.")))
    return [e for e in EVENTS if e in raw]


def _store_id(raw: Any) -> int | None:
    """A store's id, or none (blank or "all"): every store of the creator's scope."""
    if raw is None or raw == "" or raw == "all":
        return None
    try:
        value = int(raw)
        if isinstance(raw, bool) or not 0 < value < 2**31:
            raise ValueError
    except (TypeError, ValueError):
        raise ma.ValidationError(str(_l("Choose a store within your scope."))) from None
    return value


def _active(raw: Any) -> bool:
    if raw is None or raw == "":
        return True
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "on", "1", "yes", "false", "off", "0", "no"):
        return raw.lower() in ("true", "on", "1", "yes")
    raise ma.ValidationError(str(_l("Enter true or false.")))


class EndpointInput(EveryField):
    """An endpoint as the admin page's form or the API sends it."""

    name = Parsed(raising(check_text, max_length=120),
                  metadata={"type": "string", "minLength": 1, "maxLength": 120,
                            "description": "What receives it, e.g. \"ERP\"."})
    url = Parsed(_url, metadata={"type": "string", "format": "uri", "maxLength": URL_MAX,
                                 "description": "HTTPS (plain HTTP only to localhost where the configuration "
                                                "allows it); never a private or loopback address in production."})
    events = Parsed(_events, metadata={"type": "array", "minItems": 1,
                                       "items": {"type": "string", "enum": EVENTS}})
    store_id = Parsed(_store_id, metadata={"type": "integer", "nullable": True, "minimum": 1,
                                           "description": "The store whose events it receives; null: every "
                                                          "store of your scope."})
    active = Parsed(_active, metadata={"type": "boolean", "default": True})


class EndpointPatchSchema(ma.Schema):
    """PATCH: only the fields sent change (at least one)."""

    name = fields.Raw(metadata={"type": "string", "minLength": 1, "maxLength": 120})
    url = fields.Raw(metadata={"type": "string", "format": "uri", "maxLength": URL_MAX})
    events = fields.Raw(metadata={"type": "array", "minItems": 1, "items": {"type": "string", "enum": EVENTS}})
    store_id = fields.Raw(allow_none=True, metadata={"type": "integer", "nullable": True, "minimum": 1})
    active = fields.Raw(metadata={"type": "boolean"})

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(str(_l("Send at least one field to change.")))


class EndpointSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    url = fields.Str()
    events = fields.List(fields.Str(validate=validate.OneOf(EVENTS)))
    unit_id = fields.Int(metadata={"description": "The store it serves, or the subsidiary / HQ whose stores it serves."})
    store_id = fields.Int(allow_none=True, metadata={"description": "The store it serves; null: every store under `unit_id`."})
    active = fields.Bool()
    secret_hint = fields.Str(metadata={"description": "The secret's first characters (the secret is shown once)."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NewEndpointSchema(EndpointSchema):
    secret = fields.Str(attribute="new_secret",
                        metadata={"description": "The signing secret: shown this once, keep it safe."})


class SecretSchema(ma.Schema):
    secret = fields.Str(metadata={"description": "The new signing secret: shown this once."})


class DeliverySchema(ma.Schema):
    id = fields.Int()
    endpoint_id = fields.Int()
    event = fields.Str()
    event_id = fields.Str(metadata={"description": "The event's id (the same for every endpoint it went to)."})
    store_id = fields.Int(allow_none=True)
    status = fields.Enum(DeliveryStatus, by_value=True)
    attempts = fields.Int()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Int(allow_none=True)
    last_duration_ms = fields.Int(allow_none=True)
    last_error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class AttemptSchema(ma.Schema):
    attempted_at = fields.DateTime()
    status_code = fields.Int(allow_none=True)
    duration_ms = fields.Int()
    error = fields.Str(allow_none=True)


class DeliveryDetailSchema(DeliverySchema):
    body = fields.Str(metadata={"description": "The body exactly as sent (JSON)."})
    attempts_log = fields.List(fields.Nested(AttemptSchema), attribute="attempt_rows")


class DeliveryQuerySchema(ma.Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in DeliveryStatus]))
    event = fields.Str(load_default=None, validate=validate.OneOf([*EVENTS, "ping"]))
