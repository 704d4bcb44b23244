"""Valid form data for the dry run, generated from a user task's JSON Schema (forms/): every field filled
(the first choice of an enum, the lower bound of a number, a short text), what the task data already
holds kept as the real form would show it, and one variant per other value of each choice field
(an enum, a oneOf of constants, a boolean) that the diagram's conditions or scripts read — the choices
that can send the process down another path."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from crm.workflow import registry

TEXT = "Dry run"
MAX_VARIANTS = 6
_FORMATS = {"date": "2026-01-05", "date-time": "2026-01-05T10:00:00+08:00", "email": "dry.run@example.com",
            "time": "10:00:00", "uri": "https://example.com/dry-run"}


@dataclass
class Variant:
    data: dict[str, Any]
    label: str  # "" for the first variant; otherwise the choice it makes ("Decision = false")


def _schema(filename: str) -> dict[str, Any] | None:
    path = registry.find_form(filename)
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def variants(task_spec: Any, data: dict[str, Any], reads: frozenset[str] = frozenset()) -> tuple[list[Variant], list[str]]:
    """The form data to complete the task with (the first is the natural one), and notes on what could
    not be generated."""
    ext = getattr(task_spec, "extensions", None) or {}
    filename = ext.get("formJsonSchemaFilename")
    if not filename:
        return [Variant({}, "")], []
    schema = _schema(str(filename))
    name = task_spec.bpmn_name or task_spec.bpmn_id
    if schema is None:
        return [Variant({}, "")], [_("%(task)s: the form file %(file)s is missing or not JSON; completed with no data.",
                                     task=name, file=filename)]
    validator = validator_for(schema, default=Draft202012Validator)(schema)
    variable = getattr(task_spec, "variable", None)
    prefill = data.get(variable) if variable else data
    base = generate(schema, schema, prefill if isinstance(prefill, dict) else {})
    if not validator.is_valid(base):
        base = generate(schema, schema, {})
    notes = []
    if not validator.is_valid(base):
        error = next(iter(validator.iter_errors(base)))
        notes.append(_("%(task)s: no valid data could be generated for its form (%(error)s); completed with the "
                       "closest.", task=name, error=error.message))
    out = [Variant(base, "")]
    for path, title, values in _choices(schema, schema, ()):
        top, inner = (variable, path) if variable else (path[0], path[1:])
        if top not in reads or (inner and not any(f"key:{part}" in reads for part in inner)):
            continue
        for value in values:
            if _get(base, path) == value or len(out) >= MAX_VARIANTS:
                continue
            changed = copy.deepcopy(base)
            _set(changed, path, value)
            if validator.is_valid(changed):
                out.append(Variant(changed, f"{title} = {json.dumps(value, ensure_ascii=False)}"))
    return out, notes


def _resolve(root: dict[str, Any], node: Any) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#") and seen < 20:
        target: Any = root
        for part in [p for p in node["$ref"][1:].split("/") if p]:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node if isinstance(node, dict) else {}


def _options(node: dict[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return list(node["enum"])
    for key in ("oneOf", "anyOf"):
        items = node.get(key)
        if isinstance(items, list) and items and all(isinstance(i, dict) and "const" in i for i in items):
            return [i["const"] for i in items]
    if _type(node) == "boolean":
        return [True, False]
    return None


def _type(node: dict[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None and "properties" in node:
        kind = "object"
    return kind if isinstance(kind, str) else None


def generate(root: dict[str, Any], node: Any, given: Any = None) -> Any:
    """A value for `node` (a schema), keeping `given` where it is of the right kind."""
    node = _resolve(root, node)
    options = _options(node)
    kind = _type(node)
    if options is not None:
        # Always the first choice, not what the data holds (a decision taken on an earlier pass of a
        # loop): the other choices are the variants.
        return options[0]
    if kind == "object":
        given = given if isinstance(given, dict) else {}
        out = dict(given)
        for name, sub in (node.get("properties") or {}).items():
            out[name] = generate(root, sub, given.get(name))
        return out
    if kind == "array":
        if isinstance(given, list) and len(given) >= int(node.get("minItems") or 0):
            items = node.get("items") if isinstance(node.get("items"), dict) else {}
            return [generate(root, items, item) for item in given]
        count = int(node.get("minItems") or 0)
        return [generate(root, node.get("items") or {}) for _i in range(count)]
    if kind in ("integer", "number"):
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            return given
        return _number(node, kind)
    if kind == "string":
        if isinstance(given, str) and given:
            return given
        return _string(node)
    if kind == "null":
        return None
    return given if given is not None else node.get("default")


def _number(node: dict[str, Any], kind: str) -> int | float:
    low = node.get("minimum")
    if low is None and node.get("exclusiveMinimum") is not None:
        low = node["exclusiveMinimum"] + 1
    value = low if low is not None else 1
    high = node.get("maximum")
    if high is not None and value > high:
        value = high
    return int(value) if kind == "integer" else value


def _string(node: dict[str, Any]) -> str:
    if isinstance(node.get("default"), str):
        return str(node["default"])
    fmt = node.get("format")
    candidates = [_FORMATS[fmt]] if fmt in _FORMATS else []
    candidates += [TEXT, "DRY-RUN-1", "1", "A", "2026-01-05"]
    pattern = node.get("pattern")
    low, high = int(node.get("minLength") or 0), node.get("maxLength")
    for text in candidates:
        if len(text) < low:
            text = text + "x" * (low - len(text))
        if high is not None:
            text = text[: int(high)]
        if not pattern or re.search(str(pattern), text):
            return text
    return candidates[0]


def _choices(root: dict[str, Any], node: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, list[Any]]]:
    """(path, title, values) of every choice field of an object schema (arrays are not entered)."""
    node = _resolve(root, node)
    out = []
    for name, sub in (node.get("properties") or {}).items():
        sub = _resolve(root, sub)
        here = (*path, name)
        options = _options(sub)
        if options is not None and len(options) > 1:
            out.append((here, str(sub.get("title") or name), options))
        elif _type(sub) == "object":
            out.extend(_choices(root, sub, here))
    return out


def _get(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set(value: dict[str, Any], path: tuple[str, ...], new: Any) -> None:
    for part in path[:-1]:
        value = value.setdefault(part, {})
    value[path[-1]] = new
