"""The fields of a task form: JSON Schema + uiSchema read into a tree of `Field`s (widgets chosen by
RJSF conventions), and what the form shows (task data, then the draft, then the schema's defaults)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator
from jsonschema.validators import validator_for

from crm.core.errors import DomainError
from crm.workflow import registry
from crm.workflow.inbox_sync import render
from crm.workflow.tasks.forms.i18n import translate

TRUE_WORDS = {"on", "true", "1", "yes"}  # what a checkbox (or a yes/no choice) posts for yes


class FormUnavailable(DomainError):
    """The task's form files are missing or broken: an admin's problem, shown instead of the form."""

    status = 409
    default_message = _l("The form of this task cannot be shown; tell a process administrator.")


Errors = dict[str, list[str]]


def add_error(errors: Errors, path: str, message: Any) -> None:
    """Add `message` to the errors of `path` (the whole form when empty), once."""
    bucket = errors.setdefault(path or "_form", [])
    text = str(message)
    if text not in bucket:
        bucket.append(text)


@dataclass
class Field:
    name: str
    path: str  # dotted path; table columns hold only their name (the row index goes between)
    schema: dict[str, Any]
    ui: dict[str, Any]
    widget: str  # text textarea email integer number money checkbox select radio checkboxes date datetime
    #              file hidden table group
    title: str
    description: str | None = None
    help: str | None = None
    placeholder: str | None = None
    required: bool = False
    readonly: bool = False
    options: list[tuple[str, str]] = dc_field(default_factory=list)  # (value as text, label)
    children: list[Field] = dc_field(default_factory=list)  # group fields, or table columns
    accept: list[str] | None = None  # file: allowed extensions
    rows: int = 3  # textarea
    # table: may rows be added or removed (react-jsonschema-form's `ui:options` addable / removable)? A
    # table whose rows are given by the task data (a delivery note's lines) says no to both.
    addable: bool = True
    removable: bool = True

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.path)

    @property
    def is_container(self) -> bool:
        return self.widget in ("table", "group")


@dataclass
class Form:
    schema: dict[str, Any]
    uischema: dict[str, Any]
    title: str | None
    description: str | None
    fields: list[Field]

    @property
    def has_files(self) -> bool:
        return any(f.widget == "file" for f in walk(self.fields))

    def find(self, path: str) -> Field | None:
        """The field at a dotted path ("lines.0.quantity" finds the column "quantity" of "lines")."""
        parts = path.split(".")
        fields = self.fields
        found: Field | None = None
        i = 0
        while i < len(parts):
            found = next((f for f in fields if f.name == parts[i]), None)
            if found is None:
                return None
            if found.widget == "table" and i + 1 < len(parts) and parts[i + 1].isdigit():
                i += 1
            fields = found.children
            i += 1
        return found


def walk(fields: list[Field]) -> list[Field]:
    out: list[Field] = []
    for f in fields:
        out.append(f)
        out.extend(walk(f.children))
    return out


# Loading ---------------------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _check_schema(schema_json: str) -> None:
    """Checking a schema against its meta-schema is slow; a schema text is checked once."""
    schema = json.loads(schema_json)
    validator_for(schema, default=Draft202012Validator).check_schema(schema)


def _read_json(filename: str) -> dict[str, Any]:
    path = registry.find_form(filename)
    if path is None:
        raise FormUnavailable(_l("The form file %(name)s is missing; tell a process administrator.", name=filename))
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return copy.deepcopy(_parsed(str(path), mtime, filename))


@lru_cache(maxsize=256)
def _parsed(path: str, mtime_ns: int, filename: str) -> dict[str, Any]:
    """A form file parsed once per version (path + modification time): tasks load their form on every
    request, and reading and checking the JSON each time cost milliseconds."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise FormUnavailable(_l("The form file %(name)s is not valid JSON; tell a process administrator.",
                                 name=filename)) from None
    if not isinstance(value, dict):
        raise FormUnavailable(_l("The form file %(name)s is not valid JSON; tell a process administrator.",
                                 name=filename))
    return value


def inline_refs(schema: dict[str, Any], filename: str = "") -> dict[str, Any]:
    """The schema with its local `$ref`s ("#/definitions/address", "#/$defs/line") replaced by what they
    point to, for rendering (validation keeps the original: jsonschema resolves references itself).
    Keywords beside a `$ref` (a title, say) override the target's, as RJSF does. References to other
    files and recursive references cannot be drawn as fields and make the form unavailable."""

    def target(ref: str) -> Any:
        if not ref.startswith("#"):
            raise FormUnavailable(_l("The form file %(name)s refers to another file (%(ref)s); only references "
                                     "inside the file are supported.", name=filename, ref=ref))
        node: Any = schema
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise FormUnavailable(_l("The form file %(name)s refers to %(ref)s, which it does not define.",
                                         name=filename, ref=ref))
        return node

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                raise FormUnavailable(_l("The form file %(name)s has a recursive reference (%(ref)s) that cannot "
                                         "be shown as a form.", name=filename, ref=ref))
            resolved = walk(target(ref), (*seen, ref))
            siblings = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
            return {**resolved, **siblings} if isinstance(resolved, dict) else resolved
        return {k: walk(v, seen) for k, v in node.items() if k not in ("definitions", "$defs")}

    if "$ref" not in json.dumps(schema):
        return schema
    inlined: dict[str, Any] = walk(schema, ())  # a dict walks to a dict
    return inlined


def load_form(schema_file: str | None, uischema_file: str | None, data: Mapping[str, Any]) -> Form | None:
    """The form of a task (None when the task has none). `data` fills {{ }} in titles and descriptions."""
    if not schema_file:
        return None
    schema = _read_json(schema_file)
    if uischema_file:
        uischema = _read_json(uischema_file)
    else:
        sibling = re.sub(r"\.schema\.json$", ".uischema.json", schema_file)
        uischema = _read_json(sibling) if sibling != schema_file and registry.find_form(sibling) else {}
    try:
        _check_schema(json.dumps(schema, sort_keys=True))
    except SchemaError as exc:
        raise FormUnavailable(_l("The form file %(name)s is not a valid JSON Schema: %(error)s",
                                 name=schema_file, error=exc.message)) from None
    ctx = dict(data)
    fields = _object_fields(inline_refs(schema, schema_file), uischema, "", ctx)
    return Form(schema=schema, uischema=uischema, title=_text(schema.get("title"), ctx),
                description=_text(schema.get("description"), ctx), fields=fields)


def _text(value: Any, ctx: dict[str, Any]) -> str | None:
    if value is None:
        return None
    return render(translate(str(value)), ctx)


def _ordered(names: list[str], order: Any) -> list[str]:
    if not isinstance(order, list) or not order:
        return names
    order = [str(o) for o in order]
    head = [n for n in order if n in names and n != "*"]
    rest = [n for n in names if n not in head]
    if "*" not in order:
        return head + rest
    star = order.index("*")
    before = [n for n in order[:star] if n in names]
    after = [n for n in order[star + 1:] if n in names]
    middle = [n for n in names if n not in before and n not in after]
    return before + middle + after


def _object_fields(schema: dict[str, Any], ui: dict[str, Any], prefix: str, ctx: dict[str, Any]) -> list[Field]:
    props = schema.get("properties") or {}
    if not isinstance(props, dict):
        return []
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    out = []
    for name in _ordered(list(props), ui.get("ui:order")):
        out.append(_field(name, prefix + name, as_dict(props[name]), as_dict(ui.get(name)), name in required, ctx))
    return out


def _ui_option(ui: dict[str, Any], key: str) -> Any:
    options = as_dict(ui.get("ui:options"))
    return ui.get(f"ui:{key}", options.get(key))


def _options(schema: dict[str, Any], ui: dict[str, Any]) -> list[tuple[str, str]] | None:
    if isinstance(schema.get("enum"), list):
        values = schema["enum"]
        names = schema.get("enumNames") or _ui_option(ui, "enumNames") or []
        labels = [translate(str(names[i])) if i < len(names) else _label(v) for i, v in enumerate(values)]
        return [(as_text(v), label) for v, label in zip(values, labels, strict=True)]
    for key in ("oneOf", "anyOf"):
        choices = schema.get(key)
        if isinstance(choices, list) and choices and all(isinstance(c, dict) and "const" in c for c in choices):
            return [(as_text(c["const"]), translate(str(c.get("title", _label(c["const"]))))) for c in choices]
    return None


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    return str(value)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def as_dict(value: Any) -> dict[str, Any]:
    """`value` itself if it is a dict, else an empty one: form files and task data are untrusted JSON."""
    return value if isinstance(value, dict) else {}


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _field(name: str, path: str, schema: dict[str, Any], ui: dict[str, Any], required: bool,
           ctx: dict[str, Any]) -> Field:
    kind = schema_type(schema)
    widget_ui = _ui_option(ui, "widget")
    options = _options(schema, ui)
    fmt = schema.get("format")
    if widget_ui == "hidden":
        widget = "hidden"
    elif widget_ui == "file" or fmt == "data-url":
        widget = "file"
    elif kind == "object":
        widget = "group"
    elif kind == "array":
        items = as_dict(schema.get("items"))
        if schema_type(items) == "object":
            widget = "table"
        elif _options(items, {}) is not None:
            widget = "checkboxes"
            options = _options(items, as_dict(ui.get("items")))
        else:
            widget = "textarea"  # a list of plain values: one per line
    elif widget_ui == "money" or fmt == "money":
        widget = "money"
    elif options is not None:
        widget = "radio" if widget_ui == "radio" else "select"
    elif kind == "boolean":
        widget = widget_ui if widget_ui in ("radio", "select") else "checkbox"
        if widget != "checkbox":
            options = [("true", str(_l("Yes"))), ("false", str(_l("No")))]
    elif kind == "integer":
        widget = "integer"
    elif kind == "number":
        widget = "number"
    elif fmt == "date" or widget_ui == "date":
        widget = "date"
    elif fmt == "date-time" or widget_ui in ("datetime", "date-time"):
        widget = "datetime"
    elif widget_ui == "textarea":
        widget = "textarea"
    elif fmt == "email" or widget_ui == "email":
        widget = "email"
    else:
        widget = "text"
    accept = _ui_option(ui, "accept")
    if isinstance(accept, str):
        accept = [a.strip().lower() if a.strip().startswith(".") else "." + a.strip().lower()
                  for a in accept.split(",") if a.strip() and "/" not in a]
    rows = _ui_option(ui, "rows")
    f = Field(
        name=name, path=path, schema=schema, ui=ui, widget=widget,
        title=_text(ui.get("ui:title") or schema.get("title") or name, ctx) or name,
        description=_text(ui.get("ui:description") or schema.get("description"), ctx),
        help=_text(ui.get("ui:help"), ctx), placeholder=_text(ui.get("ui:placeholder"), ctx),
        required=required,
        readonly=bool(schema.get("readOnly") or ui.get("ui:readonly") or ui.get("ui:disabled")),
        options=options or [], accept=accept or None,
        rows=rows if isinstance(rows, int) and 1 <= rows <= 30 else 3,
        addable=_ui_option(ui, "addable") is not False, removable=_ui_option(ui, "removable") is not False,
    )
    if widget == "group":
        f.children = _object_fields(schema, ui, path + ".", ctx)
    elif widget == "table":
        f.children = _object_fields(schema["items"], as_dict(ui.get("items")), "", ctx)
        for column in f.children:
            if column.is_container or column.widget == "file":
                column.widget, column.readonly = "text", True  # no nesting inside a row
    return f


# What the form shows -------------------------------------------------------------------------------------------
def initial_values(form: Form, data: Mapping[str, Any], draft: Mapping[str, Any] | None) -> dict[str, Any]:
    """Typed values: the task data, then the draft over it (never for read-only fields), then defaults."""
    values: dict[str, Any] = {}
    _fill(form.fields, data, draft or {}, values)
    return values


def _fill(fields: list[Field], data: Mapping[str, Any], draft: Mapping[str, Any], out: dict[str, Any]) -> None:
    for f in fields:
        if f.widget == "group":
            sub: dict[str, Any] = {}
            _fill(f.children, as_mapping(data.get(f.name)), as_mapping(draft.get(f.name)), sub)
            out[f.name] = sub
        elif not f.readonly and f.widget != "hidden" and f.name in draft:
            out[f.name] = draft[f.name]
        elif f.name in data:
            out[f.name] = data[f.name]
        elif "default" in f.schema:
            out[f.name] = copy.deepcopy(f.schema["default"])


def display_values(form: Form, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """(path -> what an input shows, table path -> number of rows) for typed or as-typed values."""
    flat: dict[str, Any] = {}
    rows: dict[str, int] = {}
    _display(form.fields, values, "", flat, rows)
    return flat, rows


def _display(fields: list[Field], values: Mapping[str, Any], prefix: str, flat: dict[str, Any],
             rows: dict[str, int]) -> None:
    for f in fields:
        path = prefix + f.name
        value = values.get(f.name) if isinstance(values, Mapping) else None
        if f.widget == "group":
            _display(f.children, value if isinstance(value, Mapping) else {}, path + ".", flat, rows)
        elif f.widget == "table":
            items = value if isinstance(value, list) else []
            rows[path] = len(items)
            for i, row in enumerate(items):
                _display(f.children, row if isinstance(row, Mapping) else {}, f"{path}.{i}.", flat, rows)
        else:
            flat[path] = _shown(f, value)


def _shown(f: Field, value: Any) -> Any:
    if value is None:
        return False if f.widget == "checkbox" else ([] if f.widget == "checkboxes" else "")
    if f.widget == "checkbox":
        return value is True or (isinstance(value, str) and value.lower() in TRUE_WORDS)
    if f.widget == "checkboxes":
        return [as_text(v) for v in value] if isinstance(value, list) else []
    if f.widget == "money" and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        try:
            return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"
        except InvalidOperation:
            return str(value)
    if f.widget == "datetime" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(get_timezone())
        return parsed.strftime("%Y-%m-%dT%H:%M")
    if f.widget == "textarea" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return as_text(value)
