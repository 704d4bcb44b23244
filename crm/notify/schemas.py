"""The input schema of publishing an announcement (`AnnouncementInput`), which the announcements page and
the API (after its own `AnnouncementSchema`) load. It checks what needs neither the database nor the
publisher; the service checks the rest (the unit, the role and the users exist within the publisher's
scope, only headquarters addresses everyone)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from crm.core.clock import utcnow
from crm.core.validation import Parsed
from crm.notify.models import AudienceKind


def _text(max_length: int, missing: Any, too_long: Any) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw or "").strip()
        if not text:
            raise ma.ValidationError(str(missing))
        if len(text) > max_length:
            raise ma.ValidationError(str(too_long))
        return text

    return parse


def _audience_of(raw: Any) -> AudienceKind | None:
    try:
        return AudienceKind(raw or "")
    except ValueError:
        return None


def _audience(raw: Any) -> AudienceKind:
    audience = _audience_of(raw)
    if audience is None:
        raise ma.ValidationError(str(_l("Choose who receives it.")))
    return audience


def _unit_id(raw: Any) -> int | None:
    """An org unit's id to look up, or None for none."""
    if raw in (None, ""):
        return None
    try:
        uid = int(raw)
        if not 0 < uid < 2**31:
            raise ValueError
    except (TypeError, ValueError):
        raise ma.ValidationError(str(_l("Choose an org unit within your scope."))) from None
    return uid


def _user_ids(raw: Any) -> list[int]:
    raw = raw or []
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    try:
        user_ids = sorted({int(u) for u in raw})
        if any(not 0 < u < 2**31 for u in user_ids):
            raise ValueError
    except (TypeError, ValueError):
        raise ma.ValidationError(str(_l("Choose people from the list."))) from None
    return user_ids


class AnnouncementInput(ma.Schema):
    """An announcement as the page's form or the API sends it; every field is checked, an absent one as
    blank. `user_ids` count for the audience `users` only; `publish_at` defaults to now."""

    class Meta:
        unknown = ma.EXCLUDE

    title = Parsed(_text(200, _l("Enter a title."), _l("At most 200 characters.")))
    body = Parsed(_text(20000, _l("Enter the text."), _l("At most 20000 characters.")))
    audience = Parsed(_audience)
    unit_id = Parsed(_unit_id)
    role_key = Parsed(lambda raw: str(raw or "").strip() or None)
    user_ids = Parsed(_user_ids)
    pinned = Parsed(bool)
    publish_at = Parsed(lambda raw: raw or utcnow())
    expires_at = Parsed(lambda raw: raw)

    @ma.pre_load
    def _absent_as_blank(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = {name: None for name in self.load_fields} | dict(data)
        if _audience_of(data["audience"]) != AudienceKind.USERS:
            data["user_ids"] = None
        return data

    @ma.validates_schema(skip_on_field_errors=False)
    def _what_the_audience_needs(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Checked on the fields that passed (a field that failed is absent from `data`)."""
        errors: dict[str, str] = {}
        audience = data.get("audience")
        if audience == AudienceKind.UNIT and "unit_id" in data and data["unit_id"] is None:
            errors["unit_id"] = str(_l("Choose the subsidiary, store or department."))
        if audience == AudienceKind.ROLE and not data.get("role_key"):
            errors["role_key"] = str(_l("Choose a role."))
        if audience == AudienceKind.USERS and data.get("user_ids") == []:
            errors["user_ids"] = str(_l("Choose at least one user."))
        if data.get("expires_at") is not None and data["expires_at"] <= data["publish_at"]:
            errors["expires_at"] = str(_l("The expiry must be after the publication time."))
        if errors:
            raise ma.ValidationError(errors)
