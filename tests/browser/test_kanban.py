"""The data kanban in a real browser (demo data plus two signed orders of the last days): the HQ manager
陈国强 opens the kanban, switches to the last 30 days and one store, clicks a figure and lands on its list
with as many rows as the figure says; the charts render (a canvas each) with no console error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.core.clock import LOCAL_ZONE
from crm.core.clock import utcnow
from crm.customers import services as customers
from crm.extensions import db
from crm.org.models import OrgUnit
from crm.org.models import User
from crm.sales.catalog.models import Product
from tests.browser.conftest import login
from tests.browser.conftest import serve
from tests.conftest import isolated_database
from tests.conftest import make_test_app
from tests.dashboard.kanban.conftest import make_order

pytestmark = pytest.mark.browser

HQ_MANAGER = "13800000002"  # 陈国强
REP = "13800000103"  # 王芳


@pytest.fixture
def kanban_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with isolated_database(tmp_path, "crm_browser_kanban") as url:
        app = make_test_app(url)
        with app.app_context():
            db.create_all()
            result = app.test_cli_runner().invoke(args=["crm", "seed-demo"])
            assert result.exit_code == 0, result.output
            rep = db.session.scalar(select(User).where(User.mobile == REP))
            product = db.session.scalar(select(Product).order_by(Product.id).limit(1))
            customer = customers.create_customer({"name": "Kanban Pallets", "mobile": "13912340088", "province": "浙江"},
                                                 actor=rep)
            db.session.flush()
            for days in (2, 5):
                signed = (utcnow() - timedelta(days=days)).astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")
                make_order(customer, signed=signed, lines=[(product, 3, "120.00")])
            db.session.commit()
            assert app.test_cli_runner().invoke(args=["crm", "kanban", "rebuild"]).exit_code == 0
            store_id = db.session.scalar(select(OrgUnit.id).where(OrgUnit.id == customer.store_id))
        with serve(app) as base_url:
            yield base_url, store_id


def test_hq_manager_filters_the_kanban_and_drills_into_a_figure(page: Any, kanban_server: tuple[str, int]) -> None:
    base, store_id = kanban_server
    errors: list[str] = []
    # (the browser's own favicon request answers 404 on every page of the application: not the kanban's)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not str(msg.location.get("url", "")).endswith("/favicon.ico") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, base, HQ_MANAGER)
    page.goto(f"{base}/kanban/")
    page.select_option("#window", "last30")
    page.select_option("#store_id", [str(store_id)])
    page.click("#kanban-apply")
    page.wait_for_url("**window=last30**")
    orders = int(page.locator("#figure-orders").get_attribute("data-value"))
    assert orders >= 2  # the demo's orders of that store and the two above
    for chart in ("trend", "customers", "products", "categories", "provinces", "terminals", "funnel"):
        page.wait_for_selector(f"#chart-{chart} canvas")
    page.click("[data-drill=orders]")
    page.wait_for_url("**/kanban/drill/orders**")
    assert page.locator("#drill-count").get_attribute("data-count") == str(orders)
    assert page.locator("#drill-list tbody tr").count() == min(orders, 50)
    assert page.get_by_text("Kanban Pallets").count() == 2
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{base}/kanban/?window=last30")
    box = page.locator("#chart-trend").bounding_box()
    assert box is not None and box["width"] <= 390
    assert errors == []
