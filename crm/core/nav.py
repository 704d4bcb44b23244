"""The navigation registry. Blueprints add their entries when `create_app` registers them; the base
layout shows only the entries the current user's permissions allow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NavItem:
    section: str  # "main" (top bar) or "admin" (admin menu)
    endpoint: str
    label: Any  # lazy string
    icon: str
    permission: str | None = None
    order: int = 100
    badge: Callable[[Any], int | None] | None = None  # e.g. open task count for the user


_items: list[NavItem] = []


def add_nav(item: NavItem) -> None:
    if all(i.endpoint != item.endpoint for i in _items):
        _items.append(item)
        _items.sort(key=lambda i: (i.section, i.order))


def nav_for(user: Any, section: str) -> list[NavItem]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [i for i in _items if i.section == section and (i.permission is None or user.can(i.permission))]
