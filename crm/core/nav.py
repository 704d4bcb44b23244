"""The navigation registry. Blueprints add their entries when `create_app` registers them; the base
layout shows only the entries the current user's permissions allow.

Entries of the top bar can sit in a group (a dropdown): an entry names its group (`NavItem.group`), or
the group names the entries it gathers (`NavGroup.endpoints`, for entries registered by packages that do
not know about the grouping). Permissions are checked per entry; a group none of whose entries the user
may see is not shown at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavItem:
    section: str  # "main" (top bar) or "admin" (admin menu)
    endpoint: str
    label: Any  # lazy string
    icon: str
    permission: str | None = None
    order: int = 100
    badge: Callable[[Any], int | None] | None = None  # e.g. open task count for the user
    group: str | None = None  # key of a NavGroup of the same section: shown inside its dropdown


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: Any  # lazy string
    icon: str
    section: str = "main"
    order: int = 100  # its place among the section's top-level entries
    endpoints: tuple[str, ...] = ()  # entries placed in the group whatever their own `group` says


@dataclass
class NavEntry:
    """One top-level entry as the layout renders it: a link (`item`) or a dropdown (`group` + `items`).
    Badges are computed once per request: `badge` for a link, `badges[endpoint]` inside a dropdown and
    their sum on the dropdown's toggle."""

    item: NavItem | None = None
    group: NavGroup | None = None
    items: list[NavItem] = field(default_factory=list)
    badge: int | None = None
    badges: dict[str, int] = field(default_factory=dict)

    @property
    def endpoints(self) -> set[str]:
        if self.item is None or self.group is not None:
            return {i.endpoint for i in self.items}
        return {self.item.endpoint}


_items: list[NavItem] = []
_groups: dict[str, NavGroup] = {}


def add_nav(item: NavItem) -> None:
    if all(i.endpoint != item.endpoint for i in _items):
        _items.append(item)
        _items.sort(key=lambda i: (i.section, i.order))


_badges: dict[str, Callable[[Any], int | None]] = {}


def add_badge(endpoint: str, badge: Callable[[Any], int | None]) -> None:
    """A badge for an entry registered elsewhere (the inbox counts the approvals with its own one query)."""
    _badges[endpoint] = badge


def add_group(group: NavGroup) -> None:
    _groups[group.key] = group


def group_of(item: NavItem) -> NavGroup | None:
    for group in _groups.values():
        if group.section == item.section and item.endpoint in group.endpoints:
            return group
    named = _groups.get(item.group) if item.group else None
    return named if named is not None and named.section == item.section else None


def nav_for(user: Any, section: str) -> list[NavItem]:
    """The section's entries the user may see, flat, in order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [i for i in _items if i.section == section and (i.permission is None or user.can(i.permission))]


def nav_tree(user: Any, section: str) -> list[NavEntry]:
    """The section's top-level entries for the user: links and non-empty groups, ordered by their `order`
    (a group sits at its own order, its entries in theirs)."""
    entries: list[tuple[int, NavEntry]] = []
    by_group: dict[str, tuple[NavGroup, NavEntry]] = {}
    for item in nav_for(user, section):
        provider = item.badge or _badges.get(item.endpoint)
        badge = provider(user) if provider is not None else None
        group = group_of(item)
        if group is None:
            entries.append((item.order, NavEntry(item=item, badge=badge or None)))
            continue
        if group.key in by_group:
            entry = by_group[group.key][1]
        else:
            entry = NavEntry(group=group)
            by_group[group.key] = (group, entry)
            entries.append((group.order, entry))
        entry.items.append(item)
        if badge:
            entry.badges[item.endpoint] = badge
            entry.badge = (entry.badge or 0) + badge
    for group, entry in by_group.values():  # inside a group: the order the group lists, then the entries' own
        listed = group.endpoints
        entry.items.sort(key=lambda i: (listed.index(i.endpoint) if i.endpoint in listed else len(listed), i.order))
    return [entry for _, entry in sorted(entries, key=lambda e: e[0])]


# The top bar's menus, all in this one place: a page joins a menu by being listed here (in the order it shows
# in the dropdown), whatever package registers it. Top level: Home 0, Tasks 10, Approvals 15, Sales 20,
# Work 30, Finance 43, then the Administration menu; notifications sit in the "tray" section at the right.
MENUS: tuple[NavGroup, ...] = (
    NavGroup("sales", _l("Sales"), "briefcase", order=20, endpoints=(
        "customers.index", "customers.leads", "customers.to_follow_up", "highseas.pool", "highseas.my_claims",
        "highseas.audit", "sales.quotes", "sales.opportunities", "sales.orders", "aftersales.cases",
        "sales.products")),
    NavGroup("work", _l("Work"), "clipboard2-check", order=30, endpoints=(
        "work_reports.index", "work_reports.team", "enquiries.mine", "enquiries.index", "processes.instances",
        "work.tags")),
    NavGroup("finance", _l("Finance"), "cash-coin", order=43, endpoints=(
        "finance.ledger", "finance.receivables", "finance.settlements", "finance.invoices", "finance.make_ups")),
)
for _menu in MENUS:
    add_group(_menu)
