"""The kanban's pages: the cards with their definitions and previous values, the drill-down lists (as
many rows as the figure says), the exports, the home page for managers, the permission."""

from __future__ import annotations

import re

from tests.conftest import html

ARGS = "window=custom&date_from=2026-11-01&date_to=2026-11-07"


def _card(page: str, key: str) -> str:
    match = re.search(rf'id="figure-{key}" data-value="([^"]*)"', page)
    assert match, key
    return match.group(1)


def test_the_store_manager_reads_the_cards_and_drills_down(org, world, login_as):
    client = login_as(org.a_manager)
    resp = client.get(f"/kanban/?{ARGS}")
    page = html(resp)
    assert resp.status_code == 200
    assert _card(page, "amount") == "900.00" and _card(page, "orders") == "3"
    assert _card(page, "repurchase_rate") == "0.3333"
    assert "Customers with an order in the window who had an earlier order" in page  # the tooltip
    assert 'id="kanban-data"' in page and 'id="chart-trend"' in page
    assert "A Rep Two" in page  # the salesperson ranking
    drill = client.get(f"/kanban/drill/orders?{ARGS}")
    assert drill.status_code == 200
    assert 'data-count="3"' in html(drill) and html(drill).count("sales/orders/") >= 3 or "KB" in html(drill)
    churn = html(client.get(f"/kanban/drill/churn_rate?{ARGS}"))
    assert 'data-count="1"' in churn
    assert client.get(f"/kanban/drill/nonsense?{ARGS}").status_code == 404


def test_a_store_filter_outside_scope_shows_nothing_of_that_store(org, world, login_as):
    client = login_as(org.a_manager)
    page = html(client.get(f"/kanban/?{ARGS}&store_id={org.store_b.id}"))
    assert _card(page, "amount") == "0.00"


def test_exports(org, world, login_as):
    client = login_as(org.hq_manager)
    csv = client.get(f"/kanban/export?{ARGS}&table=salespeople&format=csv")
    assert csv.status_code == 200 and "B Rep" in csv.get_data(as_text=True)
    xlsx = client.get(f"/kanban/export?{ARGS}&table=figures&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get(f"/kanban/export?{ARGS}&table=secrets&format=csv").status_code in (400, 422)


def test_home_shows_the_kanban_to_managers_only(org, world, login_as, roles):
    client = login_as(org.hq_manager)
    page = html(client.get(f"/?{ARGS}"))
    assert 'id="home-kanban"' in page and _card(page, "amount") == "1950.00"
    assert 'id="home-kanban"' not in html(login_as(org.a_admin).get("/"))
    assert login_as(org.a_admin).get("/kanban/").status_code == 403


def test_chinese(org, world, login_as):
    client = login_as(org.hq_manager)
    page = html(client.get(f"/kanban/?{ARGS}", headers={"Accept-Language": "zh-CN"}))
    assert "数据看板" in page and "复购率" in page


def test_a_customer_since_moved_out_of_scope_is_counted_but_not_named(org, world, login_as):
    """Rep One's churned customer went to the high seas: the churn list still counts it (the figure's
    count), without its name, owner or link, on the page and through the API."""
    from crm.customers.models import Customer
    from crm.extensions import db

    client = login_as(org.a_rep1)
    churn = html(client.get(f"/kanban/drill/churn_rate?{ARGS}"))
    assert 'data-count="1"' in churn and "data-hidden-customer" in churn
    released = db.session.scalars(db.select(Customer).where(Customer.owner_id.is_(None),
                                                            Customer.store_id == org.store_a.id)).all()
    assert released and all(c.name not in churn for c in released)
    manager = html(login_as(org.a_manager).get(f"/kanban/drill/churn_rate?{ARGS}"))
    assert 'data-count="1"' in manager
