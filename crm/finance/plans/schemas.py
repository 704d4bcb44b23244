"""The receivable plan's input (the order page's plan form and `PUT /api/v1/orders/{id}/plan` load the
same `PlanInput`) and its output shape."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields

from crm.core.validation import Parsed
from crm.core.validation import as_id
from crm.core.validation import check_money
from crm.core.validation import optional_text
from crm.core.validation import parse_day
from crm.core.validation import raising
from crm.finance.payments.models import PaymentMethod
from crm.finance.plans.models import MAX_INSTALMENTS
from crm.finance.plans.models import MAX_REMIND_DAYS
from crm.finance.plans.models import InstalmentStatus

METHODS = [m.value for m in PaymentMethod]
MONEY = {"type": "string", "example": "1280.50", "description": "RMB with at most 2 decimals."}


def _id(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = as_id(raw)
    if not value or isinstance(raw, bool):
        raise ma.ValidationError(str(_l("Not an instalment of this plan.")))
    return value


def _due_on(raw: Any) -> Any:
    day = parse_day(raw)
    if day is None:
        raise ma.ValidationError(str(_l("Enter the due date.")))
    return day


def _method(raw: Any) -> PaymentMethod | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return PaymentMethod(raw)
    except ValueError:
        raise ma.ValidationError(str(_l("Choose how the money was paid."))) from None


def _remind_days(raw: Any) -> int | None:
    """Blank: the FINANCE_REMINDER_DAYS setting (the service fills it in)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_REMIND_DAYS:
        raise ma.ValidationError(str(_l("Enter a number of days from 0 to %(n)d.", n=MAX_REMIND_DAYS)))
    return value


class InstalmentInput(ma.Schema):
    """One instalment; `id` keeps an existing one (its collections stay with it)."""

    class Meta:
        unknown = ma.EXCLUDE

    error_messages = {"type": _l("An instalment must be an object.")}

    id = Parsed(_id, load_default=None, metadata={"type": "integer", "description": "An existing instalment's id."})
    amount = Parsed(raising(check_money, minimum=Decimal("0.01")), load_default=None, metadata=MONEY)
    due_on = Parsed(_due_on, load_default=None, metadata={"type": "string", "format": "date"})
    method = Parsed(_method, load_default=None, metadata={"type": "string", "enum": METHODS, "nullable": True})
    remind_days = Parsed(_remind_days, load_default=None, metadata={
        "type": "integer", "nullable": True,
        "description": "Remind the salesperson and finance this many days before the due date (default: the "
                       "FINANCE_REMINDER_DAYS setting)."})

    @ma.pre_load
    def _absent_as_blank(self, data: Any, **kwargs: Any) -> Any:
        return {name: None for name in self.load_fields} | dict(data) if isinstance(data, Mapping) else data


class _Instalment(fields.Nested):
    def _validate_missing(self, value: Any) -> None:
        """A null instalment is refused by InstalmentInput."""


class Instalments(fields.List):  # type: ignore[type-arg]
    def _validate_missing(self, value: Any) -> None:
        """Null is not a list either."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ma.ValidationError(str(_l("Instalments must be a list.")))
        if not value:
            raise ma.ValidationError(str(_l("Add at least one instalment.")))
        if len(value) > MAX_INSTALMENTS:
            raise ma.ValidationError(str(_l("At most %(n)d instalments.", n=MAX_INSTALMENTS)))
        return super()._deserialize(value, attr, data, **kwargs)


class PlanInput(ma.Schema):
    """`{"instalments": [...], "note": ...}`: messages name the instalment, e.g. `instalments.1.due_on`."""

    instalments = Instalments(_Instalment(InstalmentInput), load_default=None)
    note = Parsed(optional_text(500), load_default=None, metadata={"type": "string"})


class InstalmentSchema(ma.Schema):
    id = fields.Int()
    number = fields.Int()
    amount = fields.Decimal(as_string=True, places=2)
    due_on = fields.Date()
    method = fields.Enum(PaymentMethod, by_value=True, allow_none=True)
    remind_days = fields.Int()
    collected = fields.Decimal(as_string=True, places=2, metadata={"description": "Verified collections allocated to it."})
    open_amount = fields.Decimal(as_string=True, places=2)
    status = fields.Enum(InstalmentStatus, by_value=True, metadata={"description": "As of today (Asia/Shanghai)."})
    reminded_at = fields.DateTime(allow_none=True)
    overdue_sent_at = fields.DateTime(allow_none=True)


class PlanSchema(ma.Schema):
    id = fields.Int()
    order_id = fields.Int()
    store_id = fields.Int()
    owner_id = fields.Int()
    note = fields.Str(allow_none=True)
    total = fields.Decimal(as_string=True, places=2)
    amount_due = fields.Decimal(as_string=True, places=2, metadata={
        "description": "What the order owes now; differs from the total when the order changed after the plan."})
    status = fields.Enum(InstalmentStatus, by_value=True)
    lock_version = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    instalments = fields.List(fields.Nested(InstalmentSchema))
