"""A submitted task form: posted strings (or API JSON) coerced to the schema's types, then validated
with jsonschema; errors per field path in the request's language; read-only fields kept from the task
data; file fields stored as attachments through the caller's callback."""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from jsonschema import FormatChecker
from jsonschema.validators import Draft202012Validator
from jsonschema.validators import validator_for

from crm.workflow.tasks.forms.fields import TRUE_WORDS
from crm.workflow.tasks.forms.fields import Errors
from crm.workflow.tasks.forms.fields import Field
from crm.workflow.tasks.forms.fields import Form
from crm.workflow.tasks.forms.fields import add_error as _add
from crm.workflow.tasks.forms.fields import as_dict
from crm.workflow.tasks.forms.fields import as_text
from crm.workflow.tasks.forms.fields import schema_type
from crm.workflow.tasks.forms.fields import walk
from crm.workflow.tasks.forms.kept import StoreFile
from crm.workflow.tasks.forms.kept import keep as _keep
from crm.workflow.tasks.forms.kept import merge_kept as _merge_kept

MISSING: Any = object()  # "no value given": the key stays out of the data
MAX_ROWS = 200
MAX_INTEGER = 10**15
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FALSE_WORDS = {"", "off", "false", "0", "no"}

# Parsing a posted HTML form -----------------------------------------------------------------------------------
class Posted:
    """What the view hands in: the form fields (a werkzeug MultiDict or a dict of lists) and the files."""

    def __init__(self, form: Any, files: Mapping[str, Any] | None = None) -> None:
        self.form = form
        self.files = files or {}

    def get(self, path: str) -> str | None:
        value = self.form.get(path)
        return value if isinstance(value, str) else None

    def getlist(self, path: str) -> list[str]:
        if hasattr(self.form, "getlist"):
            return [v for v in self.form.getlist(path) if isinstance(v, str)]
        value = self.form.get(path)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else ([value] if value else [])

    def keys(self) -> list[str]:
        return [k for k in self.form if isinstance(k, str)]


def submitted_values(form: Form, posted: Posted) -> dict[str, Any]:
    """The posted form as nested values, still as typed (strings); rows compacted, empty rows dropped."""
    return _read(form.fields, posted, "", posted.keys())


def _read(fields: list[Field], posted: Posted, prefix: str, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        path = prefix + f.name
        if f.widget == "group":
            out[f.name] = _read(f.children, posted, path + ".", keys)
        elif f.widget == "table":
            indexes = sorted({int(m.group(1)) for k in keys if (m := re.match(re.escape(path) + r"\.(\d{1,4})\.", k))})
            rows = []
            for i in indexes[:MAX_ROWS]:
                row = _read(f.children, posted, f"{path}.{i}.", keys)
                if any(v not in ("", None, False, []) for v in row.values()):
                    rows.append(row)
            out[f.name] = rows
        elif f.widget == "checkboxes":
            out[f.name] = posted.getlist(path)
        elif f.widget == "checkbox":
            out[f.name] = (posted.get(path) or "").strip().lower() in TRUE_WORDS
        elif f.widget == "file":
            continue
        else:
            value = posted.get(path)
            if value is not None:
                out[f.name] = value
    return out


# Coercion -------------------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    errors: Errors
    mode: str  # "form" (strings) or "json"
    form: Form


def _field_title(form: Form, path: str) -> str:
    f = form.find(path) if path else None
    if f is None:
        return str(_l("This field"))
    m = re.fullmatch(r"(.+)\.(\d+)\.([^.]+)", path)
    parent = form.find(m.group(1)) if m else None
    if m and parent is not None and parent.widget == "table":
        return str(_l("%(field)s (row %(n)d)", field=f.title, n=int(m.group(2)) + 1))
    return f.title


def _normalise_number(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    return re.sub(r"[\s,¥￥]", "", text)


def _parse_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    text = _normalise_number(value)
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text) or len(text) > 40:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _coerce(f: Field, value: Any, path: str, ctx: _Ctx) -> Any:
    """One value to the schema's type; MISSING when nothing was given. Type problems are field errors."""
    title = _field_title(ctx.form, path)
    if value is None or (isinstance(value, str) and value.strip() == "" and f.widget not in ("checkbox",)):
        return MISSING
    w = f.widget
    if w in ("integer", "number", "money"):
        number = _parse_decimal(value)
        if number is None:
            message = {"integer": _l("%(field)s must be a whole number.", field=title),
                       "money": _l("%(field)s must be an amount, e.g. 1234.50.", field=title)}.get(
                w, _l("%(field)s must be a number.", field=title))
            _add(ctx.errors, path, message)
            return MISSING
        if abs(number) >= MAX_INTEGER:
            _add(ctx.errors, path, _l("%(field)s is too large.", field=title))
            return MISSING
        if w == "money":
            exponent = number.as_tuple().exponent  # an int: the number is finite (compared above)
            if isinstance(exponent, int) and exponent < -2 and number != number.quantize(Decimal("0.01")):
                _add(ctx.errors, path, _l("%(field)s has at most 2 decimal places.", field=title))
                return MISSING
            return number.quantize(Decimal("0.01"))
        if w == "integer":
            if number != number.to_integral_value():
                _add(ctx.errors, path, _l("%(field)s must be a whole number.", field=title))
                return MISSING
            return int(number)
        return int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)
    if w == "checkbox":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        return value  # jsonschema names the type problem
    if w in ("select", "radio"):
        for text, _label in f.options:
            if as_text(value) == text:
                return _option_value(f, text)
        return value  # not one of the options: jsonschema's enum error
    if w == "checkboxes":
        if not isinstance(value, list):
            return value
        return [_option_value(f, as_text(v)) if any(as_text(v) == t for t, _ in f.options) else v for v in value]
    if w == "date":
        if not isinstance(value, str) or not _is_date(value.strip()):
            _add(ctx.errors, path, _l("%(field)s must be a date (YYYY-MM-DD).", field=title))
            return MISSING
        return value.strip()
    if w == "datetime":
        parsed = _parse_datetime(value)
        if parsed is None:
            _add(ctx.errors, path, _l("%(field)s must be a date and time.", field=title))
            return MISSING
        return parsed
    if w == "table":
        if not isinstance(value, list):
            return value
        if len(value) > MAX_ROWS:
            _add(ctx.errors, path, _l("%(field)s has more than %(n)d rows.", field=title, n=MAX_ROWS))
            return MISSING
        return [_coerce_object(f.children, row, f"{path}.{i}.", ctx) if isinstance(row, Mapping) else row
                for i, row in enumerate(value)]
    if w == "group":
        return _coerce_object(f.children, value, path + ".", ctx) if isinstance(value, Mapping) else value
    if w == "textarea" and schema_type(f.schema) == "array":
        items = value.splitlines() if isinstance(value, str) else value
        if isinstance(items, list):
            items = [i.strip() if isinstance(i, str) else i for i in items]
            return [i for i in items if i != ""]
        return items
    if isinstance(value, str):
        if CONTROL_RE.search(value):
            _add(ctx.errors, path, _l("%(field)s contains invisible control characters; remove them.", field=title))
            return MISSING
        return value if f.widget == "textarea" else value.strip()
    return value


def _option_value(f: Field, text: str) -> Any:
    schema = f.schema.get("items") if f.widget == "checkboxes" else f.schema
    schema = schema if isinstance(schema, dict) else {}
    if schema_type(schema) == "boolean" and not schema.get("enum"):
        return text == "true"
    candidates = schema.get("enum") or [c.get("const") for c in schema.get("oneOf") or schema.get("anyOf") or []
                                        if isinstance(c, dict)]
    for candidate in candidates:
        if as_text(candidate) == text:
            return candidate
    return text


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_datetime(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?", text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # typed in the user's time zone
        tz = get_timezone()
        parsed = tz.localize(parsed) if hasattr(tz, "localize") else parsed.replace(tzinfo=tz)
    return parsed.isoformat()


def _coerce_object(fields: list[Field], values: Mapping[str, Any], prefix: str, ctx: _Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.readonly or f.widget in ("hidden", "file"):
            continue  # filled from the task data / the uploads by the caller
        if f.name not in values:
            continue
        value = _coerce(f, values[f.name], prefix + f.name, ctx)
        if value is not MISSING:
            out[f.name] = value
    return out


# Validation -----------------------------------------------------------------------------------------------------
def _validation_schema(schema: dict[str, Any], fields: list[Field]) -> dict[str, Any]:
    """The schema as jsonschema sees our coerced values: file fields hold attachment ids, money holds a
    Decimal (or its text), read-only fields are not the user's to fill in."""
    out = copy.deepcopy(schema)
    _adapt(out, fields)
    return out


def _adapt(schema: dict[str, Any], fields: list[Field]) -> None:
    props = as_dict(schema.get("properties"))
    required = schema.get("required") if isinstance(schema.get("required"), list) else None
    for f in fields:
        prop = props.get(f.name)
        if not isinstance(prop, dict):
            continue
        if f.widget == "file":
            props[f.name] = {"type": "integer", "title": prop.get("title", f.name)}
        elif f.widget == "money":  # validated as the number it is, whatever type the schema declares
            for key in ("format", "multipleOf", "pattern", "minLength", "maxLength"):
                prop.pop(key, None)
            prop["type"] = "number"
        elif f.widget == "group":
            _adapt(prop, f.children)
        elif f.widget == "table" and isinstance(prop.get("items"), dict):
            _adapt(prop["items"], f.children)
        if (f.readonly or f.widget == "hidden") and required is not None and f.name in required:
            required.remove(f.name)


def _limit(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _message(error: Any, title: str) -> Any:
    v, value = error.validator, error.validator_value
    if v == "type":
        kinds = value if isinstance(value, list) else [value]
        kind = next((k for k in kinds if k != "null"), "")
        return {
            "integer": _l("%(field)s must be a whole number.", field=title),
            "number": _l("%(field)s must be a number.", field=title),
            "string": _l("%(field)s must be text.", field=title),
            "boolean": _l("%(field)s must be yes or no.", field=title),
            "array": _l("%(field)s must be a list.", field=title),
            "object": _l("%(field)s must be a group of values.", field=title),
        }.get(kind, _l("%(field)s has the wrong type.", field=title))
    messages = {
        "minimum": _l("%(field)s must be at least %(limit)s.", field=title, limit=_limit(value)),
        "maximum": _l("%(field)s must be at most %(limit)s.", field=title, limit=_limit(value)),
        "exclusiveMinimum": _l("%(field)s must be more than %(limit)s.", field=title, limit=_limit(value)),
        "exclusiveMaximum": _l("%(field)s must be less than %(limit)s.", field=title, limit=_limit(value)),
        "minLength": _l("%(field)s must be at least %(limit)s characters long.", field=title, limit=_limit(value)),
        "maxLength": _l("%(field)s must be at most %(limit)s characters long.", field=title, limit=_limit(value)),
        "pattern": _l("%(field)s is not in the expected format.", field=title),
        "enum": _l("Choose %(field)s from the list.", field=title),
        "const": _l("Choose %(field)s from the list.", field=title),
        "oneOf": _l("Choose %(field)s from the list.", field=title),
        "anyOf": _l("Choose %(field)s from the list.", field=title),
        "minItems": _l("%(field)s needs at least %(limit)s entries.", field=title, limit=_limit(value)),
        "maxItems": _l("%(field)s takes at most %(limit)s entries.", field=title, limit=_limit(value)),
        "uniqueItems": _l("%(field)s has the same entry twice.", field=title),
        "multipleOf": _l("%(field)s must be a multiple of %(limit)s.", field=title, limit=_limit(value)),
    }
    if v == "format":
        return {
            "date": _l("%(field)s must be a date (YYYY-MM-DD).", field=title),
            "date-time": _l("%(field)s must be a date and time.", field=title),
            "email": _l("%(field)s must be an e-mail address.", field=title),
        }.get(value, _l("%(field)s is not in the expected format.", field=title))
    return messages.get(v, _l("%(field)s is invalid.", field=title))


def _error_path(form: Form, path: str) -> str:
    """The path of the input an error belongs to: an item of a checkbox list or a whole row of a table
    reports on the list or the table."""
    while path:
        f = form.find(path)
        m = re.fullmatch(r"(.+)\.\d+", path)
        if f is not None and not (m and f.path == m.group(1)) and not (m and f.widget == "table"):
            return path
        if not m:
            return path
        path = m.group(1)
    return path


def validate(form: Form, instance: dict[str, Any], errors: Errors | None = None) -> Errors:
    """jsonschema errors of the coerced values, per field path, in the request's language. Paths that
    already have an error (from coercion) keep only that one."""
    errors = errors if errors is not None else {}
    already = set(errors)
    schema = _validation_schema(form.schema, form.fields)
    cls = validator_for(schema, default=Draft202012Validator)
    validator = cls(schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = [n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance]
            for name in missing:
                path = f"{where}.{name}" if where else name
                if path not in already:
                    _add(errors, path, _l("%(field)s is required.", field=_field_title(form, path)))
            continue
        base = _error_path(form, where)
        if base in already or any(base.startswith(p + ".") for p in already):
            continue
        _add(errors, base, _message(error, _field_title(form, base)))
    return errors


# Putting it together ------------------------------------------------------------------------------------------
def _final(value: Any) -> Any:
    """The coerced values as stored in task data: money as its text, never a float."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {k: _final(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_final(v) for v in value]
    return value


def parse_form(
    form: Form, posted: Posted, data: Mapping[str, Any], draft: Mapping[str, Any] | None = None,
    store: StoreFile | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Errors]:
    """A posted HTML form -> (task data to complete with, the values as typed for a re-render, errors)."""
    raw = submitted_values(form, posted)
    errors: Errors = {}
    ctx = _Ctx(errors=errors, mode="form", form=form)
    values = _coerce_object(form.fields, raw, "", ctx)
    _keep(form.fields, data, draft or {}, values, posted.files, "", store, errors, None)
    validate(form, values, errors)
    _merge_kept(form.fields, raw, values)
    return _final(values), raw, errors


def parse_json(form: Form, body: Any, data: Mapping[str, Any], attachment_ids: set[int]) -> tuple[dict[str, Any], Errors]:
    """An API body (JSON values) -> (task data, errors). File fields name attachments of the task."""
    errors: Errors = {}
    if not isinstance(body, Mapping):
        return {}, {"data": [str(_l("Send the form data as a JSON object."))]}
    ctx = _Ctx(errors=errors, mode="json", form=form)
    values = _coerce_object(form.fields, body, "", ctx)
    for f in walk(form.fields):
        if f.widget == "file" and "." not in f.path and f.name in body:
            values[f.name] = body[f.name]
    _keep(form.fields, data, {}, values, {}, "", None, errors, attachment_ids)
    validate(form, values, errors)
    return _final(values), errors


def draft_values(
    form: Form, posted: Posted, data: Mapping[str, Any], draft: Mapping[str, Any] | None = None,
    store: StoreFile | None = None,
) -> tuple[dict[str, Any], Errors]:
    """What "save draft" keeps: the values as typed (shown again as typed, validated only on completion),
    with new uploads stored. Errors are only those of refused uploads."""
    raw = submitted_values(form, posted)
    errors: Errors = {}
    _keep(form.fields, {}, draft or {}, raw, posted.files, "", store, errors, None)
    return raw, errors
