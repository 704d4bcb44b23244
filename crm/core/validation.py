"""Small normalisers and checks shared by services (mobile numbers, e-mail, required text), and what the
input schemas of writes share (`Loaded`, `load_input`, `Parsed`, `raising`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from dataclasses import fields as dataclass_fields
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

import marshmallow as ma
from email_validator import EmailNotValidError
from email_validator import validate_email
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.exceptions import SCHEMA

_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only (\d would accept ٣ and ३)


# Ids as the tables hold them (32-bit): a larger number in a request is a field error, not a database error.
ID_RANGE = ma.validate.Range(1, 2**31 - 1)


def normalise_mobile(raw: str | None) -> str:
    """Mainland mobile number as 11 digits: full-width digits, spaces, dashes, brackets and +86/0086 removed."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = re.sub(r"[\s\-()（）.]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def check_mobile(raw: str | None, errors: dict[str, str], field: str = "mobile", required: bool = True) -> str:
    mobile = normalise_mobile(raw)
    if not mobile:
        if required:
            errors[field] = str(_l("Enter a mobile number."))
        return ""
    if not _MOBILE_RE.match(mobile):
        errors[field] = str(_l("Enter an 11-digit mainland mobile number, e.g. 138 0013 8000."))
    return mobile


def check_email(raw: object, errors: dict[str, str], field: str = "email", required: bool = False) -> str | None:
    if raw is not None and not isinstance(raw, str):
        errors[field] = str(_l("Enter a valid e-mail address, e.g. name@example.com."))
        return None
    text = (raw or "").strip()
    if not text:
        if required:
            errors[field] = str(_l("Enter an e-mail address."))
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors[field] = str(_l("Enter a valid e-mail address, e.g. name@example.com."))
        return None


# C0 control characters other than tab, newline and carriage return (PostgreSQL refuses NUL outright).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(raw: object, errors: dict[str, str], field: str, *, max_length: int, required: bool = True) -> str:
    """Trimmed text. A number (a spreadsheet cell, a JSON body) is read as its digits; a list, an object or
    true/false is refused: it is no text."""
    if isinstance(raw, (bool, list, dict)):
        errors[field] = str(_l("Enter text."))
        return ""
    text = ("" if raw is None else str(raw)).strip()
    if required and not text:
        errors[field] = str(_l("This field is required."))
    elif len(text) > max_length:
        errors[field] = str(_l("Use at most %(n)d characters.", n=max_length))
    elif _CONTROL_RE.search(text):
        errors[field] = str(_l("Remove the invisible control characters from this text."))
    return text


MONEY_MAX = Decimal("999999999999.99")  # what Numeric(14, 2) holds
_MONEY_RE = re.compile(r"^-?\d+(\.\d+)?$")


def check_money(
    raw: object, errors: dict[str, str], field: str, *, required: bool = True, minimum: Decimal | None = Decimal(0)
) -> Decimal | None:
    """An amount in RMB as Decimal with 2 places. Accepts "1,280.5", "¥1280.50", full-width digits and
    numbers; refuses more than 2 decimals (no silent rounding of money), amounts below `minimum` and
    beyond what the column holds."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[field] = str(_l("Enter an amount."))
        return None
    if isinstance(raw, bool):
        errors[field] = str(_l("Enter an amount such as 1280.50."))
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    text = re.sub(r"[\s,，¥￥]|^RMB|^CNY", "", text, flags=re.IGNORECASE)
    if not _MONEY_RE.match(text):
        errors[field] = str(_l("Enter an amount such as 1280.50."))
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[field] = str(_l("Enter an amount such as 1280.50."))
        return None
    exponent = value.as_tuple().exponent  # an int: the pattern above admits finite numbers only
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        errors[field] = str(_l("Use at most 2 decimal places."))
        return None
    value = value.quantize(Decimal("0.01"))
    if minimum is not None and value < minimum:
        errors[field] = str(_l("The amount cannot be less than %(min)s.", min=f"{minimum:.2f}"))
        return None
    if abs(value) > MONEY_MAX:
        errors[field] = str(_l("The amount is too large."))
        return None
    return value


def as_id(raw: object) -> int:
    """A database id from user input (URL, form, file cell): a positive 32-bit integer, else 0, which
    no row has (so a lookup simply finds nothing)."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        return 0
    return value if 0 < value < 2**31 else 0


# Input schemas ----------------------------------------------------------------------------------------------
# One marshmallow schema per write (`<context>/schemas.py`) checks what needs neither the database nor the
# actor; the page and the API load it, the service adds the rest and answers every message at once.
@dataclass
class Loaded:
    """What a write's input schema made of the values sent: those that passed, and field -> message of those
    that did not (a nested field as `steps.0.level`). The service adds the messages of its own checks (the
    database, the actor) and refuses with all of them, after its permission and stale-data checks."""

    values: dict[str, Any]
    errors: dict[str, str] = dc_field(default_factory=dict)


def load_input(schema: ma.Schema, data: Mapping[str, Any] | Loaded) -> Loaded:
    """`data` loaded by `schema`, without raising: a refusal keeps the values that passed. Values the page or
    the API loaded already come back as they are; plain values (demo data, tests, other services) are loaded
    here, by the same schema."""
    if isinstance(data, Loaded):
        return data
    try:
        return Loaded(schema.load(data))
    except ma.ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        errors: dict[str, str] = {}
        _first_messages(exc.messages, "", errors)
        return Loaded(valid, errors)


def _first_messages(messages: Any, name: str, out: dict[str, str]) -> None:
    """marshmallow's messages as field -> its first message; nested names joined by dots, a nested schema's
    own message (`_schema`) under the name of the field that holds it."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            _first_messages(value, name if key == SCHEMA else f"{name}.{key}" if name else str(key), out)
    elif isinstance(messages, list | tuple):
        if messages:
            _first_messages(messages[0], name, out)
    else:
        out.setdefault(name or SCHEMA, str(messages))


class EveryField(ma.Schema):
    """An input schema in which a missing field is checked like a blank one: each `Parsed` field's parser
    says whether it is required (rather than an absent key passing unchecked)."""

    @ma.pre_load
    def _blanks(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {**dict.fromkeys(self.load_fields), **data}


class Parsed(fields.Field):  # type: ignore[type-arg]  # the value's type is the parser's
    """An input field whose parser takes the value as sent, whatever it is (None and "" included: a form's
    blank, JSON's null and a sheet's empty cell mean the same), and raises `marshmallow.ValidationError`."""

    def __init__(self, parse: Callable[[Any], Any], **kwargs: Any) -> None:
        # A `raising` parser says what it accepts: the document states it (the limits of the check, not a
        # second copy that could drift), and a required value is a required property.
        described = dict(getattr(parse, "described", {}))
        required = described.pop("required", False)
        if described:
            kwargs["metadata"] = {**kwargs.get("metadata", {}), **described}
            if required and "load_default" not in kwargs:
                kwargs.setdefault("required", True)
        super().__init__(**kwargs)
        self.parse = parse

    def _validate_missing(self, value: Any) -> None:
        """None is a value like any other: the parser decides."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        return self.parse(value)


# What the checks accept, for the OpenAPI document (a document stricter than the check is fine; a looser
# one promises what the check refuses). Text: no C0 control characters but tab, newline and return.
_TEXT_CHARS = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TEXT_PATTERN = rf"^{_TEXT_CHARS}*$"
REQUIRED_TEXT_PATTERN = rf"^{_TEXT_CHARS}*[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{_TEXT_CHARS}*$"
MONEY_PATTERN = r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$"
POSITIVE_MONEY_PATTERN = r"^([1-9]\d{0,11}(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$"
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"


def _described(check: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-schema keywords (and `required`) of what `check` with `options` accepts."""
    if check is check_text:
        required = options.get("required", True)
        return {"type": "string", "maxLength": options["max_length"], "required": required,
                "pattern": REQUIRED_TEXT_PATTERN if required else TEXT_PATTERN}
    if check is check_money:
        minimum = options.get("minimum", Decimal(0))
        pattern = POSITIVE_MONEY_PATTERN if minimum is not None and minimum > 0 else MONEY_PATTERN
        return {"type": "string", "pattern": pattern, "example": "1280.50", "required": options.get("required", True)}
    if check is check_mobile:
        return {"type": "string", "pattern": MOBILE_PATTERN, "required": options.get("required", True)}
    if check is check_email:
        return {"type": "string", "format": "email", "maxLength": 254, "required": options.get("required", False)}
    return {}


def raising(check: Callable[..., Any], **options: Any) -> Callable[[Any], Any]:
    """A `check_*` function above (which writes its message into an errors dict) as a parser that raises it.
    The parser carries what it accepts (`described`), which a `Parsed` field documents."""

    def parse(raw: Any) -> Any:
        errors: dict[str, str] = {}
        value = check(raw, errors, "value", **options)
        if errors:
            raise ma.ValidationError(errors["value"])
        return value

    parse.described = _described(check, options)  # type: ignore[attr-defined]
    return parse


def optional_text(max_length: int) -> Callable[[Any], str | None]:
    """A parser of optional text (`check_text`): blank is None."""
    text = raising(check_text, max_length=max_length, required=False)

    def parse(raw: Any) -> str | None:
        return text(raw) or None

    parse.described = {**text.described, "nullable": True}  # type: ignore[attr-defined]
    return parse


def parse_day(raw: Any) -> date | None:
    """A day as ISO text ("2026-12-07") or a date; blank is None."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ma.ValidationError(str(_l("Enter a date such as 2026-12-07."))) from None


# Filters of lists: a bad value is dropped (a filter never answers 400 on a page; the API validates first).
def enum_or_none(raw: Any, cls: Any) -> Any:
    """`cls(raw)`, or None when blank or not one of its values."""
    try:
        return cls(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def day_or_none(raw: Any) -> date | None:
    """An ISO day (or a date), or None when blank or not a day."""
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        return None


def money_or_none(raw: Any) -> Decimal | None:
    """An amount typed in a list's filter ("1,200.50"), or None when blank or not a finite amount in range."""
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    try:
        value = Decimal(str(raw).replace(",", "").strip()) if raw not in (None, "") else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() and 0 <= value < Decimal("1e12") else None


def query_args(filters: Any) -> dict[str, str]:
    """A list's filters (a dataclass of parsed values) as the query string that shows them again: unset
    ones left out, days in ISO, enums by value, a ticked box as "1"."""
    out = {}
    for f in dataclass_fields(filters):
        value = getattr(filters, f.name)
        if value is None:
            continue
        if value is True:
            out[f.name] = "1"
        elif isinstance(value, date):
            out[f.name] = value.isoformat()
        else:
            out[f.name] = str(getattr(value, "value", value))
    return out
