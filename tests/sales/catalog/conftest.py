"""Catalogue test support: the HQ admin, a category tree, a catalogue in it, the API granted to salespeople
and HQ managers, and pictures stored in a temporary folder."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.sales.catalog import services
from tests.conftest import grant


@pytest.fixture
def admin(org):
    return org.hq_admin


@pytest.fixture
def tree(admin):
    pallets = services.create_category({"name": "Pallets"}, actor=admin)
    nine = services.create_category({"name": "Nine-leg", "parent_id": pallets.id}, actor=admin)
    racking = services.create_category({"name": "Racking", "parent_id": pallets.id, "position": 1}, actor=admin)
    crates = services.create_category({"name": "Crates"}, actor=admin)
    db.session.commit()
    return {"pallets": pallets, "nine": nine, "racking": racking, "crates": crates}


def make(admin, sku, name, price, **extra):
    return services.create_product({"sku": sku, "name": name, "list_price": price, **extra}, actor=admin)


@pytest.fixture
def catalogue(admin, tree):
    items = {
        "p1": make(admin, "pl-1210-a", "Nine-leg pallet 1210", "88.00", category_id=tree["nine"].id, cost_price="52.80",
                   size="1200×1000×150 mm", material="hdpe", dynamic_load_kg="1000", static_load_kg="4000"),
        "p2": make(admin, "PL-1111", "Nine-leg pallet 1111", "76.5", category_id=tree["nine"].id),
        "p3": make(admin, "RK-1210", "Racking pallet 1210", "168", category_id=tree["racking"].id, material="pp"),
        "p4": make(admin, "CR-600", "Folding crate 600", "32", category_id=tree["crates"].id, on_shelf=False),
    }
    db.session.commit()
    return items


# API --------------------------------------------------------------------------------------------------------
@pytest.fixture
def api_roles(org):
    for role in ("salesperson", "hq_manager"):
        grant(org.roles[role], "api.use")
    db.session.commit()
    return org


# Pictures ---------------------------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"
