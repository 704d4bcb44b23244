"""Input schemas' building blocks: marshmallow fields that read what people type (amounts such as
"1,280.50", text with its length and control-character checks) with messages in the reader's language,
and `load_input`, which turns a schema's refusal into `ValidationFailed` with one entry per field
(dotted paths for nested fields). A page and the API load the same schema through it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from crm.core.errors import ValidationFailed
from crm.core.validation import check_money
from crm.core.validation import check_text


class Money(fields.Field[Decimal | None]):
    """An amount in RMB (`check_money`): "1,280.5", "¥1280.50", a number; at least `minimum`."""

    def __init__(self, *, minimum: Decimal | None = Decimal("0.01"), **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {}).setdefault("required", _l("Enter an amount."))
        super().__init__(**kwargs)
        self.minimum = minimum

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        errors: dict[str, str] = {}
        amount = check_money(value, errors, "amount", required=self.required, minimum=self.minimum)
        if errors:
            raise ma.ValidationError(errors["amount"])
        return amount

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else f"{value:.2f}"


class Text(fields.Field[str | None]):
    """Trimmed text of at most `max_length` characters, without control characters; "" is None
    unless the field is required."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {}).setdefault("required", _l("This field is required."))
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        errors: dict[str, str] = {}
        text = check_text(None if value is None else str(value), errors, "text", max_length=self.max_length,
                          required=self.required)
        if errors:
            raise ma.ValidationError(errors["text"])
        return text or None


class Day(fields.Date):
    """An ISO date ("2026-12-07"); blank is None (a page posts "" for an empty date input)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {}).setdefault("invalid", _l("Enter a date such as 2026-12-07."))
        kwargs.setdefault("allow_none", not kwargs.get("required", False))
        super().__init__(**kwargs)

    def deserialize(self, value: Any, attr: str | None = None, data: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in _flatten(value, path).items():
                out.setdefault(field, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        if all(not isinstance(m, (Mapping, list, tuple)) for m in messages):
            out[prefix or "_form"] = [str(m) for m in messages]
        else:
            for item in messages:
                for field, texts in _flatten(item, prefix).items():
                    out.setdefault(field, []).extend(texts)
    else:
        out[prefix or "_form"] = [str(messages)]
    return out


def load_input(schema: ma.Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's values for `data`, or ValidationFailed naming every refused field. Keys the schema
    does not know are ignored (a page posts its CSRF token, an API client may send read-only fields)."""
    try:
        return schema.load(dict(data), unknown=ma.EXCLUDE)  # type: ignore[no-any-return]
    except ma.ValidationError as exc:
        raise ValidationFailed(_flatten(exc.messages)) from None
