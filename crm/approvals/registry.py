"""Approvable object types. The object side of an approval is pluggable: a business context (quotes,
high-seas claims, after-sales …) registers its type once, in its own `bpmn.py`:

    register_approvable(Approvable(
        object_type="quote", label=_l("Quote"),
        load=lambda object_id, actor: ...,      # the object; with an actor: within their scope, else None
        values=lambda quote: {"amount": quote.total, "discount_rate": quote.discount_rate},
        summary=lambda quote: {"title": ..., "lines": [[label, value], ...], "url": ...},
        fields=(Field("amount", _l("Amount"), "number"), ...),
    ))

`values` feed step conditions (amount > 50 000); `summary` is what the approval queue shows (copied onto
the request when it opens, so the queue needs no per-row load); `fields` list what admins may put in a
condition. Approvals never import the contexts: they register here, like operators with the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

FIELD_TYPES = ("number", "string")


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    type: str = "number"  # "number" (compared as Decimal) or "string"
    choices: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Approvable:
    object_type: str
    label: Any
    load: Callable[[int, Any], Any | None]
    values: Callable[[Any], dict[str, Any]]
    summary: Callable[[Any], dict[str, Any]]
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


_types: dict[str, Approvable] = {}


def register_approvable(approvable: Approvable) -> None:
    _types[approvable.object_type] = approvable


def unregister_approvable(object_type: str) -> None:
    _types.pop(object_type, None)


def approvable(object_type: str | None) -> Approvable | None:
    return _types.get(object_type or "")


def approvables() -> list[Approvable]:
    return sorted(_types.values(), key=lambda a: a.object_type)
