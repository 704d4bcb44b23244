"""The top bar: the Sales group gathers the selling pages into one dropdown, permissions are checked per
entry, a group with nothing the user may see disappears, and badges still show (on the entry and summed on
the group's toggle)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from crm.core import nav
from crm.extensions import db
from tests.factories import UserFactory

SALES_PAGES = ["/customers", "/customers/leads", "/high-seas/", "/opportunities/", "/quotes/", "/products/"]


def _split(html: str) -> tuple[str, str]:
    """(the Sales dropdown's markup, the rest of the main navigation)."""
    main = html[html.index('id="mainnav"'):html.index('id="admin-menu"') if 'id="admin-menu"' in html else None]
    match = re.search(r'<li class="nav-item dropdown" data-nav-group="sales">.*?</ul>\s*</li>', main, re.S)
    if match is None:
        return "", main
    return match.group(0), main[:match.start()] + main[match.end():]


def _hrefs(markup: str) -> list[str]:
    return [h.split("?")[0] for h in re.findall(r'href="([^"]+)"', markup)]


def test_salesperson_sees_the_sales_pages_in_one_dropdown(org: Any, login_as: Any) -> None:
    html = login_as(org.a_rep1).get("/account").get_data(as_text=True)  # a page with no links of its own to sales pages
    group, rest = _split(html)
    assert 'id="nav-group-sales"' in group and 'data-bs-toggle="dropdown"' in group
    assert "<button" in group  # a real button: focusable, Enter/Space open it (Bootstrap adds arrow keys)
    links = _hrefs(group)
    for page in SALES_PAGES:
        assert page in links, page
        assert page not in _hrefs(rest), page
    # Inbox/Tasks, Approvals and Home stay top-level.
    top = _hrefs(rest)
    assert "/" in top and "/approvals/" in top and "/tasks/" in top
    # In the group's own order: customers first, products last.
    assert links.index("/customers") < links.index("/high-seas/") < links.index("/products/")


def test_group_label_is_translated(org: Any, login_as: Any) -> None:
    client = login_as(org.a_rep1)
    with client.session_transaction() as sess:
        sess["lang"] = "zh"
    group, _ = _split(client.get("/").get_data(as_text=True))
    assert "销售" in group and "客户" in group


def test_permissions_apply_per_entry(org: Any, login_as: Any) -> None:
    """A warehouse user (no customer, high-seas, quote or opportunity permission) sees only the orders
    (`order.view`: outbound is theirs), after-sales (returns) and the product catalogue in the group."""
    clerk = UserFactory(name="Warehouse Wu", unit=org.store_a, roles=[org.roles["warehouse"]])
    db.session.flush()
    group, rest = _split(login_as(clerk).get("/").get_data(as_text=True))
    assert _hrefs(group) == ["/orders/", "/after-sales", "/products/"]
    for page in SALES_PAGES[:-1]:
        assert page not in _hrefs(group) + _hrefs(rest)


@pytest.fixture
def registry() -> Iterator[None]:
    """Test entries and groups, removed again afterwards (the registry is process-wide)."""
    items, groups = list(nav._items), dict(nav._groups)
    yield
    nav._items[:] = items
    nav._groups.clear()
    nav._groups.update(groups)


def test_empty_group_disappears_and_badges_sum(org: Any, registry: None) -> None:
    nav.add_group(nav.NavGroup("t-locked", "Locked", "lock", order=50))
    nav.add_nav(nav.NavItem("main", "t.locked", "Locked page", "lock", permission="org.manage", group="t-locked"))
    nav.add_group(nav.NavGroup("t-open", "Open", "unlock", order=60, endpoints=("t.two",)))
    nav.add_nav(nav.NavItem("main", "t.one", "One", "1-circle", group="t-open", order=2, badge=lambda u: 3))
    nav.add_nav(nav.NavItem("main", "t.two", "Two", "2-circle", order=1, badge=lambda u: 4))
    nav.add_nav(nav.NavItem("main", "t.three", "Three", "3-circle", group="t-open", order=3, badge=lambda u: None))

    keys = [(e.group.key if e.group else e.item.endpoint) for e in nav.nav_tree(org.a_rep1, "main")]
    assert "t-locked" not in keys and "t.locked" not in keys  # the rep may not manage the org
    assert keys.index("t-open") > keys.index("sales")  # at the group's own order (60 > 20)
    entry = next(e for e in nav.nav_tree(org.a_rep1, "main") if e.group and e.group.key == "t-open")
    assert [i.endpoint for i in entry.items] == ["t.two", "t.one", "t.three"]  # listed first, then by order
    assert entry.badges == {"t.one": 3, "t.two": 4} and entry.badge == 7

    admin_keys = [(e.group.key if e.group else e.item.endpoint) for e in nav.nav_tree(org.hq_admin, "main")]
    assert "t-locked" in admin_keys



def test_the_top_bar_groups_work_and_finance_and_puts_notifications_at_the_right(org: Any, login_as: Any) -> None:
    """At most seven top-level entries for a store manager (the widest role of a store): Home, Tasks,
    Approvals and the Sales, Work and Finance menus, the Administration menu; the bell is in the tray."""
    manager = UserFactory(name="Manager Ma", unit=org.store_a, roles=[org.roles["store_manager"]])
    db.session.flush()
    keys = [(e.group.key if e.group else e.item.endpoint) for e in nav.nav_tree(manager, "main")]
    assert keys == ["dashboard.home", "inbox.mine", "approvals.queue", "sales", "work", "finance"]
    work = next(e for e in nav.nav_tree(manager, "main") if e.group and e.group.key == "work")
    assert "work_reports.index" in [i.endpoint for i in work.items]
    finance = next(e for e in nav.nav_tree(manager, "main") if e.group and e.group.key == "finance")
    assert [i.endpoint for i in finance.items][:2] == ["finance.ledger", "finance.receivables"]
    assert [e.item.endpoint for e in nav.nav_tree(manager, "tray") if e.item] == ["notify.index"]
    html = login_as(manager).get("/").get_data(as_text=True)
    assert 'id="tray-notify-index"' in html and 'id="admin-menu"' in html
