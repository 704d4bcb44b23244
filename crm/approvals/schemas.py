"""The input schemas of approval chains: `StepInput`, one step as the chain page's step form and the API
send it, and `StepsInput`, a chain's list of steps (the API's chain create and save). They check what needs
no database and give the step its stored shape (see `crm.approvals.rules`); `rules.check_step` checks that
its users, role and fallback admin exist."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from crm.approvals.rules import LEVEL_RULES
from crm.approvals.rules import MAX_HOURS
from crm.approvals.rules import MAX_LEVEL
from crm.approvals.rules import MODES
from crm.approvals.rules import ON_EMPTY
from crm.approvals.rules import OPERATORS
from crm.approvals.rules import RULES
from crm.approvals.rules import USER_RULES
from crm.approvals.rules import parse_ids
from crm.approvals.rules import parse_int
from crm.core.validation import Parsed

MAX_STEPS = 20


def _int_or_bad(value: Any) -> int | None:
    """A whole number, None when blank, -1 (which every range refuses) when it is not one."""
    try:
        return parse_int(value)
    except ValueError:
        return -1


def _title(raw: Any) -> str:
    title = str(raw or "").strip()
    if not title:
        raise ma.ValidationError(str(_l("Give the step a title.")))
    if len(title) > 120:
        raise ma.ValidationError(str(_l("At most 120 characters.")))
    return title


def _choice(choices: Mapping[str, Any], message: Any, default: str | None = None) -> Callable[[Any], Any]:
    def parse(raw: Any) -> Any:
        value = (raw or default) if default is not None else raw
        if value not in choices:
            raise ma.ValidationError(str(message))
        return value

    return parse


def _user_ids(raw: Any) -> list[int]:
    try:
        return parse_ids(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("List user ids separated by commas."))) from None


def _hours(raw: Any) -> int | None:
    hours = _int_or_bad(raw)
    if hours is not None and not 1 <= hours <= MAX_HOURS:
        raise ma.ValidationError(str(_l("Enter whole hours from 1 to %(n)s, or leave it empty.", n=MAX_HOURS)))
    return hours


def _condition_value(op: str, value: Any) -> tuple[Any, Any]:
    """(the value to store, a message or None) for the operator."""
    if op in ("between", "in"):
        parts = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
        parts = [str(p).strip() for p in parts if str(p).strip()]
        if op == "between" and len(parts) != 2:
            return parts, _l("Between needs two values: low, high.")
        if op == "in" and not parts:
            return parts, _l("List at least one value.")
        return parts, None
    value = str(value if value is not None else "").strip()
    return value, _l("Enter the value to compare with.") if value == "" else None


def _condition(raw: Any) -> dict[str, Any] | None:
    """None (the step always applies) or {"field", "op", "value"}; messages as condition.field, .op, .value."""
    if not raw or not isinstance(raw, dict) or not str(raw.get("field") or "").strip():
        return None
    errors: dict[str, str] = {}
    field = str(raw["field"]).strip()
    if len(field) > 60 or not field.replace("_", "").isalnum():
        errors["field"] = str(_l("Enter a field name of letters, digits and underscores."))
    op = raw.get("op")
    if op not in OPERATORS:
        errors["op"] = str(_l("Choose an operator."))
        raise ma.ValidationError(errors)
    value, message = _condition_value(op, raw.get("value"))
    if message is not None:
        errors["value"] = str(message)
    if errors:
        raise ma.ValidationError(errors)
    return {"field": field, "op": op, "value": value}


class StepInput(ma.Schema):
    """One step (the fields are those of `crm.approvals.rules`); every field is checked, an absent one as
    blank. The rule decides which of user_ids, level and role the step keeps and needs."""

    class Meta:
        unknown = ma.EXCLUDE

    error_messages = {"type": _l("A step must be an object.")}

    title = Parsed(_title)
    rule = Parsed(_choice(RULES, _l("Choose an approver rule.")))
    mode = Parsed(_choice(MODES, _l("Choose a sign mode."), default="single"))
    user_ids = Parsed(_user_ids)
    level = Parsed(_int_or_bad)
    role = Parsed(lambda raw: str(raw or "").strip())
    on_empty = Parsed(_choice(ON_EMPTY, _l("Choose what happens when nobody resolves."), default="auto_pass"))
    fallback_admin_id = Parsed(_int_or_bad)
    reminder_hours = Parsed(_hours)
    escalation_hours = Parsed(_hours)
    condition = Parsed(_condition)

    @ma.pre_load
    def _absent_as_blank(self, data: Any, **kwargs: Any) -> Any:
        return {name: None for name in self.load_fields} | dict(data) if isinstance(data, Mapping) else data

    @ma.validates_schema(skip_on_field_errors=False)
    def _what_the_rule_needs(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Checked on the fields that passed (a field that failed is absent from `data`)."""
        errors: dict[str, str] = {}
        rule = data.get("rule")
        if rule in USER_RULES and data.get("user_ids") == []:
            errors["user_ids"] = str(_l("Name at least one user."))
        if rule in LEVEL_RULES and not 1 <= (data.get("level") or 0) <= MAX_LEVEL:
            errors["level"] = str(_l("Enter a level from 1 to %(n)s.", n=MAX_LEVEL))
        if rule == "store_role" and not data.get("role"):
            errors["role"] = str(_l("Choose an existing role."))
        if data.get("on_empty") == "admin" and not 0 < (data.get("fallback_admin_id") or 0) < 2**31:
            errors["fallback_admin_id"] = str(_l("Choose the admin who gets the approval when nobody resolves."))
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _stored_shape(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The step as a chain version stores it: the rule's own fields only, no fallback admin unless used."""
        rule = data["rule"]
        step: dict[str, Any] = {"title": data["title"], "rule": rule, "mode": data["mode"]}
        for name, needed in (("user_ids", USER_RULES), ("level", LEVEL_RULES), ("role", ("store_role",))):
            if rule in needed:
                step[name] = data[name]
        step["on_empty"] = data["on_empty"]
        step["fallback_admin_id"] = data["fallback_admin_id"] if data["on_empty"] == "admin" else None
        step.update({name: data[name] for name in ("reminder_hours", "escalation_hours", "condition")})
        return step


class _Step(fields.Nested):
    def _validate_missing(self, value: Any) -> None:
        """A null step is refused by StepInput, as every step that is not an object."""


class Steps(fields.List):  # type: ignore[type-arg]
    """A chain's steps: a list of at most MAX_STEPS (checked before the steps themselves)."""

    def _validate_missing(self, value: Any) -> None:
        """Null is not a list either."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ma.ValidationError(str(_l("Steps must be a list.")))
        if len(value) > MAX_STEPS:
            raise ma.ValidationError(str(_l("At most %(n)s steps.", n=MAX_STEPS)))
        return super()._deserialize(value, attr, data, **kwargs)


class StepsInput(ma.Schema):
    """`{"steps": [...]}`: messages name the step, e.g. `steps.2.level`."""

    steps = Steps(_Step(StepInput))
