"""What business objects are called, where their pages are and what their statuses mean, registered by the
contexts that own them (a task, an instance or the history holds only a reference), and the template
helpers that read the registry."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask import url_for
from flask_babel import gettext as _

_ACTION_LABELS: dict[str, Any] = {}
_OBJECT_PAGES: dict[str, tuple[str, str, Any, Any]] = {}
_OBJECT_NAMES: dict[str, Callable[[set[int]], Mapping[int, str]]] = {}


def register_action_label(action: str, label: Any) -> None:
    """Contexts name their business events for the timeline ("transferred" -> "Transferred to a new owner")."""
    _ACTION_LABELS[action] = label


def register_object_page(object_type: str, endpoint: str, id_arg: str, label: Any,
                         name: Callable[[int], str | None] | None = None, statuses: Mapping[str, Any] | None = None,
                         *, names: Callable[[set[int]], Mapping[int, str]] | None = None) -> None:
    """Contexts name the page of their business objects ("order" -> sales.order_detail(order_id=…)), so
    pages that only hold an object reference (a task, an instance) can link to it without importing them.
    `names(ids)` says what the links show, for many objects in one query ({id: "SO20261122-000004 · Acme"},
    those in the reader's scope); `name(object_id)` does it for one (derived from `names` when not given).
    An object without a name (outside the reader's scope, or neither given) shows "#id". `statuses` label
    the business statuses its processes report ("contracting")."""
    if name is None and names is not None:
        def name(object_id: int) -> str | None:
            return names({object_id}).get(object_id)
    _OBJECT_PAGES[object_type] = (endpoint, id_arg, label, name)
    _OBJECT_STATUSES[object_type] = dict(statuses or {})
    if names is not None:
        _OBJECT_NAMES[object_type] = names
    else:
        _OBJECT_NAMES.pop(object_type, None)


_OBJECT_STATUSES: dict[str, dict[str, Any]] = {}


def object_status(object_type: str | None, status: str | None) -> str:
    """A process instance's business status as its object's context labels it, else in words (never the
    key: "waiting_visit" reads "Waiting visit", translated when the catalogue has the phrase)."""
    label = _OBJECT_STATUSES.get(object_type or "", {}).get(status or "")
    if label is not None:
        return str(label)
    text = (status or "").replace("_", " ").strip()
    return _(text[:1].upper() + text[1:]) if text else ""


def any_status_label(status: str) -> str:
    """A business status labelled by whichever object registered it (the editor's status picker), else as is."""
    for labels in _OBJECT_STATUSES.values():
        if status in labels:
            return str(labels[status])
    return status


def object_page(object_type: str | None, object_id: Any) -> tuple[str, str, str] | None:
    """(label, url, name) of a business object's page, or None when no context registered its type. The
    page itself checks permission and scope (404 outside them)."""
    page = _OBJECT_PAGES.get(object_type or "")
    if page is None or object_id is None:
        return None
    endpoint, id_arg, label, name = page
    shown = name(int(object_id)) if name is not None else None
    return str(label), url_for(endpoint, **{id_arg: object_id}), shown or f"#{object_id}"


def object_pages(refs: Iterable[tuple[str | None, Any]]) -> dict[tuple[str, int], tuple[str, str, str]]:
    """`object_page` of many objects at once, for a list: {(type, id): (label, url, name)}, with one `names`
    call (one query) per object type whatever the number of rows. A type registered without `names` shows
    "#id" here (a list never reads its rows one by one); an unregistered type is left out."""
    wanted: dict[str, set[int]] = {}
    for object_type, object_id in refs:
        if object_type in _OBJECT_PAGES and object_id is not None:
            wanted.setdefault(object_type, set()).add(int(object_id))
    out: dict[tuple[str, int], tuple[str, str, str]] = {}
    for object_type, ids in wanted.items():
        endpoint, id_arg, label, _name = _OBJECT_PAGES[object_type]
        batch = _OBJECT_NAMES.get(object_type)
        shown = batch(ids) if batch is not None else {}
        for object_id in ids:
            args: dict[str, Any] = {id_arg: object_id}
            out[(object_type, object_id)] = (str(label), url_for(endpoint, **args), shown.get(object_id) or f"#{object_id}")
    return out


def object_label(object_type: str | None) -> str:
    """What a business object is called in the reader's language ("order" -> "Order"), for lists that show
    only the reference; the type itself when no context registered it."""
    page = _OBJECT_PAGES.get(object_type or "")
    return str(page[2]) if page is not None else (object_type or "")


def register_template_helpers(app: Flask) -> None:
    from flask_babel import format_date
    from flask_babel import format_datetime
    from flask_babel import format_decimal
    from flask_babel import lazy_gettext as _l

    for action, label in {
        "created": _l("Created"),
        "updated": _l("Changed"),
        "deleted": _l("Deleted"),
    }.items():
        _ACTION_LABELS.setdefault(action, label)

    def action_label(action: str) -> str:
        return str(_ACTION_LABELS.get(action, action.replace("_", " ").capitalize()))

    def format_change_value(kind: str, value: Any) -> str:
        from datetime import date
        from datetime import datetime
        from decimal import Decimal

        if value is None:
            return "—"
        if kind == "bool":
            return str(_("Yes") if value else _("No"))
        if kind == "datetime":
            return str(format_datetime(datetime.fromisoformat(value), "short"))
        if kind == "date":
            return str(format_date(date.fromisoformat(value)))
        if kind == "decimal":
            return str(format_decimal(Decimal(value), format="#,##0.00"))
        if kind == "json" and isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    from crm.core.urls import id_url

    app.jinja_env.globals.update(action_label=action_label, format_change_value=format_change_value,
                                 object_page=object_page, object_pages=object_pages, object_label=object_label,
                                 object_status=object_status, id_url=id_url)
