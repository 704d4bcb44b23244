"""/api/v1/products and /api/v1/product-categories: list, create and patch (costs only for cost holders,
stale edits refused), the category tree."""

from __future__ import annotations

from tests.conftest import assert_problem


def test_api_lists_creates_and_patches(api_roles, catalogue, call):
    org = api_roles
    items = call("GET", "/api/v1/products?q=1210", org.a_rep1).get_json()["items"]
    assert [p["sku"] for p in items] == ["PL-1210-A", "RK-1210"]
    assert items[0]["list_price"] == "88.00" and "cost_price" not in items[0] and "margin" not in items[0]
    manager_view = call("GET", f"/api/v1/products/{catalogue['p1'].id}", org.hq_manager).get_json()
    assert manager_view["cost_price"] == "52.80" and manager_view["margin"] == "0.4000"
    assert_problem(call("POST", "/api/v1/products", org.a_rep1, json={"sku": "X", "name": "X", "list_price": 1}), 403)
    assert_problem(call("POST", "/api/v1/products", org.hq_manager,
                        json={"sku": "X-1", "name": "X", "list_price": "1.001"}), 422, "list_price")
    created = call("POST", "/api/v1/products", org.hq_manager, json={"sku": "x-1", "name": "X", "list_price": 12.5})
    assert created.status_code == 201 and created.get_json()["sku"] == "X-1"
    pid, version = created.get_json()["id"], created.get_json()["lock_version"]
    ok = call("PATCH", f"/api/v1/products/{pid}", org.hq_manager, json={"on_shelf": False, "lock_version": version})
    assert ok.status_code == 200 and ok.get_json()["on_shelf"] is False
    assert_problem(call("PATCH", f"/api/v1/products/{pid}", org.hq_manager,
                        json={"name": "Y", "lock_version": version}), 409)
    assert call("GET", "/api/v1/products/999999", org.a_rep1).status_code == 404


def test_api_categories(api_roles, tree, call):
    org = api_roles
    listed = call("GET", "/api/v1/product-categories", org.a_rep1).get_json()["items"]
    assert [c["name"] for c in listed] == ["Crates", "Pallets", "Nine-leg", "Racking"]
    created = call("POST", "/api/v1/product-categories", org.hq_manager, json={"name": "Boxes",
                                                                              "parent_id": tree["crates"].id})
    assert created.status_code == 201 and created.get_json()["depth"] == 1
    moved = call("PATCH", f"/api/v1/product-categories/{created.get_json()['id']}", org.hq_manager,
                 json={"parent_id": None})
    assert moved.status_code == 200 and moved.get_json()["depth"] == 0
    assert_problem(call("PATCH", f"/api/v1/product-categories/{tree['pallets'].id}", org.hq_manager,
                        json={"active": False}), 409)
