"""The product catalogue: validation (every field error at once, money as Decimal, SKU normalised and
unique), permissions (product.manage to change, product.cost to see costs), the category tree (moves
carry the subtree), list filters and keyset pages, stale edits, spreadsheet import (all or nothing) and
export, pages and the API."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import Workbook
from openpyxl import load_workbook
from sqlalchemy import select

from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.extensions import db
from crm.sales.catalog import queries
from crm.sales.catalog import services
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from tests.conftest import assert_problem
from tests.conftest import field_errors
from tests.conftest import grant
from tests.conftest import html
from tests.conftest import post


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


# Validation and permissions ---------------------------------------------------------------------------------
def test_every_field_error_at_once_and_nothing_written(admin):
    with pytest.raises(ValidationFailed) as caught:
        services.create_product({"sku": "bad sku!", "name": "", "list_price": "12.345", "cost_price": "-1",
                                 "material": "wood", "dynamic_load_kg": "5000", "static_load_kg": "1000",
                                 "racking_load_kg": "1.5t", "category_id": "999999"}, actor=admin)
    assert set(caught.value.errors) == {"sku", "name", "list_price", "cost_price", "material", "dynamic_load_kg",
                                        "racking_load_kg", "category_id"}
    assert "2 decimal places" in caught.value.errors["list_price"][0]
    assert db.session.scalar(select(Product.id)) is None


def test_money_is_decimal_and_the_sku_normalised_and_unique(admin):
    p = make(admin, " ｐｌ-1210 ", "Pallet", "¥1,280.5", cost_price=640)
    assert p.sku == "PL-1210" and p.list_price == Decimal("1280.50") and isinstance(p.cost_price, Decimal)
    assert p.margin == Decimal("0.5002")
    with pytest.raises(ValidationFailed) as caught:
        make(admin, "pl-1210", "Another", "1")
    assert "already used by “Pallet”" in caught.value.errors["sku"][0]


def test_only_product_managers_change_the_catalogue(org, catalogue):
    with pytest.raises(PermissionDenied):
        make(org.a_rep1, "X-1", "X", "1")
    with pytest.raises(PermissionDenied):
        services.set_on_shelf(catalogue["p1"], False, actor=org.a_manager)


def test_an_edit_based_on_stale_data_is_a_conflict(admin, catalogue):
    p = catalogue["p1"]
    seen = p.lock_version
    services.update_product(p, {"list_price": "90"}, actor=admin, lock_version=seen)
    db.session.commit()
    with pytest.raises(Conflict):
        services.update_product(p, {"list_price": "95"}, actor=admin, lock_version=seen)
    assert p.list_price == Decimal("90.00")


# Categories -------------------------------------------------------------------------------------------------
def test_moving_a_category_carries_its_subtree(admin, tree):
    deep = services.create_category({"name": "Heavy", "parent_id": tree["nine"].id}, actor=admin)
    services.update_category(tree["nine"], {"name": "Nine-leg", "parent_id": tree["crates"].id}, actor=admin)
    db.session.commit()
    db.session.expire_all()
    nine, deep = db.session.get(ProductCategory, tree["nine"].id), db.session.get(ProductCategory, deep.id)
    assert nine.path == f"/{tree['crates'].id}/{nine.id}/" and nine.depth == 1
    assert deep.path == f"/{tree['crates'].id}/{nine.id}/{deep.id}/" and deep.depth == 2
    with pytest.raises(ValidationFailed) as caught:  # under its own sub-category
        services.update_category(tree["crates"], {"name": "Crates", "parent_id": deep.id}, actor=admin)
    assert "parent_id" in caught.value.errors
    with pytest.raises(ValidationFailed):  # a sibling of the same name
        services.create_category({"name": "nine-LEG", "parent_id": tree["crates"].id}, actor=admin)
    with pytest.raises(Conflict):  # active sub-categories first
        services.set_category_active(tree["crates"], False, actor=admin)


def test_the_tree_is_depth_first_with_product_totals(catalogue, tree):
    rows = queries.category_tree()
    # Siblings by position, then name: Crates and Pallets (both 0), Nine-leg (0) before Racking (1).
    assert [(r.category.name, r.indent, r.products_total) for r in rows] == [
        ("Crates", 0, 1), ("Pallets", 0, 3), ("Nine-leg", 1, 2), ("Racking", 1, 1)]


# Lists, filters, pages --------------------------------------------------------------------------------------
def names(page):
    return [p.name for p in page.items]


def test_filters_and_keyset_pages(catalogue, tree):
    def listed(**kw):
        return names(queries.list_products(queries.ProductFilters(**kw), None, 50))

    assert listed() == ["Nine-leg pallet 1111", "Nine-leg pallet 1210", "Racking pallet 1210"]  # on the shelf
    assert listed(shelf="off") == ["Folding crate 600"]
    assert listed(q="1210") == ["Nine-leg pallet 1210", "Racking pallet 1210"]
    assert listed(q="rk-12") == ["Racking pallet 1210"]  # SKU, any case
    assert listed(category=tree["pallets"], shelf="all") == ["Nine-leg pallet 1111", "Nine-leg pallet 1210",
                                                             "Racking pallet 1210"]
    assert listed(min_price=Decimal("80"), max_price=Decimal("100")) == ["Nine-leg pallet 1210"]
    assert listed(material="pp") == ["Racking pallet 1210"]
    assert listed(sort="price_desc", shelf="all") == ["Racking pallet 1210", "Nine-leg pallet 1210",
                                                      "Nine-leg pallet 1111", "Folding crate 600"]
    first = queries.list_products(queries.ProductFilters(shelf="all"), None, 2)
    second = queries.list_products(queries.ProductFilters(shelf="all"), first.next_cursor, 2)
    assert names(first) + names(second) == ["Folding crate 600", "Nine-leg pallet 1111", "Nine-leg pallet 1210",
                                            "Racking pallet 1210"]
    assert second.next_cursor is None


# Import -----------------------------------------------------------------------------------------------------
def csv_bytes(text, encoding="utf-8"):
    return text.encode(encoding)


def test_import_creates_and_updates_by_sku_with_chinese_headers(admin, catalogue, tree):
    sheet = ("货号,产品名称,分类,标准价,成本价,材质\n"
             "PL-1210-A,,,99.00,,\n"  # known: only the price changes (blank cells keep values)
             "pl-2000,九脚托盘 1210 加重,Pallets / Nine-leg,120,70,hdpe\n"
             "PL-1111,Nine-leg pallet 1111,Nine-leg,76.50,,\n")  # unchanged
    try:
        result = services.import_products(csv_bytes(sheet, "gb18030"), "托盘.csv", actor=admin)
    except ValidationFailed as exc:
        raise AssertionError(exc.errors) from exc
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert catalogue["p1"].list_price == Decimal("99.00") and catalogue["p1"].name == "Nine-leg pallet 1210"
    new = db.session.scalar(select(Product).where(Product.sku == "PL-2000"))
    assert new.name == "九脚托盘 1210 加重" and new.category_id == tree["nine"].id and new.cost_price == Decimal("70.00")


def test_an_import_with_any_bad_row_writes_nothing_and_names_every_row(admin, catalogue):
    sheet = ("sku,name,list price,category\n"
             "NEW-1,Good row,10,\n"
             "NEW-2,Bad price,ten,\n"
             "NEW-1,Same SKU again,11,\n"
             "NEW-3,Unknown category,12,Boxes\n")
    with pytest.raises(ValidationFailed) as caught:
        services.import_products(csv_bytes(sheet), "p.csv", actor=admin)
    assert set(caught.value.errors) == {"row 3 · list_price", "row 4 · sku", "row 5 · category"}
    db.session.rollback()
    assert db.session.scalar(select(Product).where(Product.sku == "NEW-1")) is None
    with pytest.raises(ValidationFailed) as caught:
        services.import_products(csv_bytes("name,price\nA,1\n"), "p.csv", actor=admin)
    assert "sku" in caught.value.errors["file"][0]
    with pytest.raises(ValidationFailed):
        services.import_products(b"PK\x03\x04 not really a workbook", "p.xlsx", actor=admin)
    with pytest.raises(ValidationFailed):
        services.import_products(b"sku,name\n", "p.txt", actor=admin)


def test_import_reads_xlsx_with_numbers_in_cells(admin):
    wb = Workbook()
    ws = wb.active
    ws.append(["SKU", "Name", "List price", "Dynamic load"])
    ws.append([1210, "Pallet typed as numbers", 88.5, 1000])
    buf = io.BytesIO()
    wb.save(buf)
    result = services.import_products(buf.getvalue(), "products.xlsx", actor=admin)
    [product] = result.products
    assert (product.sku, product.list_price, product.dynamic_load_kg) == ("1210", Decimal("88.50"), 1000)


# Pages ------------------------------------------------------------------------------------------------------
def test_salespeople_read_the_catalogue_without_costs(org, catalogue, login_as):
    client = login_as(org.a_rep1)
    page = html(client.get("/products/"))
    assert "Nine-leg pallet 1210" in page and "Folding crate 600" not in page and "new-product" not in page
    detail = client.get(f"/products/{catalogue['p1'].id}")
    assert detail.status_code == 200 and "¥88.00" in html(detail) and "52.80" not in html(detail)
    assert client.get("/products/new").status_code == 403
    assert post(client, f"/products/{catalogue['p1'].id}/shelf", {"on_shelf": "0"}).status_code == 403
    export = client.get("/products/?export=csv&shelf=all")
    text = export.data.decode("utf-8-sig")
    assert export.status_code == 200 and "PL-1210-A" in text and "52.80" not in text and "Folding crate" in text


def test_create_and_edit_through_the_pages(org, tree, login_as):
    client = login_as(org.hq_manager)
    resp = post(client, "/products/new", {"sku": "", "name": "", "list_price": "abc", "unit": "pcs"})
    assert resp.status_code == 422 and {"sku", "name", "list_price"} <= field_errors(resp)
    assert db.session.scalar(select(Product.id)) is None
    resp = post(client, "/products/new", {"sku": "pl-9", "name": "Pallet nine", "list_price": "66", "unit": "pcs",
                                          "cost_price": "40", "category_id": tree["nine"].id, "on_shelf": "1"})
    assert resp.status_code == 303
    product = db.session.scalar(select(Product).where(Product.sku == "PL-9"))
    assert product.cost_price == Decimal("40.00") and product.on_shelf
    form = html(client.get(f"/products/{product.id}/edit"))
    assert f'name="lock_version" value="{product.lock_version}"' in form
    stale = product.lock_version
    ok = post(client, f"/products/{product.id}/edit", {"sku": "PL-9", "name": "Pallet nine B", "list_price": "67",
                                                       "unit": "pcs", "lock_version": stale})
    assert ok.status_code == 303
    again = post(client, f"/products/{product.id}/edit", {"sku": "PL-9", "name": "Pallet nine C", "list_price": "68",
                                                          "unit": "pcs", "lock_version": stale})
    assert again.status_code == 409 and "Someone else changed this product" in html(again)
    history = html(client.get(f"/products/{product.id}"))
    assert "Pallet nine B" in history and "Pallet nine C" not in history
    timeline = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", history[history.index('id="timeline"'):]))
    assert f"Category {tree['nine'].name}" in timeline  # the category by name, not its id
    assert post(client, f"/products/{product.id}/shelf", {"on_shelf": "0"}).status_code == 303
    db.session.expire_all()
    assert not db.session.get(Product, product.id).on_shelf


def test_import_page_lists_every_error(org, login_as):
    client = login_as(org.hq_manager)
    data = {"file": (io.BytesIO(b"sku,name,list price\nA-1,,x\n"), "p.csv")}
    resp = post(client, "/products/import", data, content_type="multipart/form-data")
    assert resp.status_code == 422 and "row 2 · name" in html(resp) and "row 2 · list_price" in html(resp)
    data = {"file": (io.BytesIO(b"sku,name,list price\nA-1,Pallet,12\n"), "p.csv")}
    assert post(client, "/products/import", data, content_type="multipart/form-data").status_code == 303
    assert db.session.scalar(select(Product.name).where(Product.sku == "A-1")) == "Pallet"


def test_export_xlsx_with_costs_for_managers(org, catalogue, login_as):
    resp = login_as(org.hq_manager).get("/products/?export=xlsx&shelf=all")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("SKU", "Name") and "Cost price" in rows[0] and len(rows) == 5
    by_sku = {r[0]: r for r in rows[1:]}
    assert by_sku["PL-1210-A"][rows[0].index("Cost price")] == "52.80"


def test_categories_page(org, tree, login_as):
    client = login_as(org.hq_manager)
    assert "Racking" in html(client.get("/products/categories"))
    resp = post(client, "/products/categories", {"name": "", "parent_id": ""})
    assert resp.status_code == 422 and "name" in field_errors(resp)
    assert post(client, "/products/categories", {"name": "Boxes", "parent_id": tree["crates"].id}).status_code == 303
    assert post(client, f"/products/categories/{tree['racking'].id}", {"_action": "deactivate"}).status_code == 303
    db.session.expire_all()
    assert not db.session.get(ProductCategory, tree["racking"].id).active
    assert post(login_as(org.a_rep1), "/products/categories", {"name": "Nope"}).status_code == 403


# API --------------------------------------------------------------------------------------------------------
@pytest.fixture
def api_roles(org):
    for role in ("salesperson", "hq_manager"):
        grant(org.roles[role], "api.use")
    db.session.commit()
    return org


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
    listed = call("GET", "/api/v1/product-categories", org.a_rep1).get_json()
    assert [c["name"] for c in listed] == ["Crates", "Pallets", "Nine-leg", "Racking"]
    created = call("POST", "/api/v1/product-categories", org.hq_manager, json={"name": "Boxes",
                                                                              "parent_id": tree["crates"].id})
    assert created.status_code == 201 and created.get_json()["depth"] == 1
    moved = call("PATCH", f"/api/v1/product-categories/{created.get_json()['id']}", org.hq_manager,
                 json={"parent_id": None})
    assert moved.status_code == 200 and moved.get_json()["depth"] == 0
    assert_problem(call("PATCH", f"/api/v1/product-categories/{tree['pallets'].id}", org.hq_manager,
                        json={"active": False}), 409)


# Pictures ---------------------------------------------------------------------------------------------------
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def test_pictures_upload_cover_and_remove(org, catalogue, uploads, login_as, call, api_roles):
    client = login_as(org.hq_manager)
    p = catalogue["p1"]
    url = f"/products/{p.id}/images"
    assert post(client, url, {"file": (io.BytesIO(PNG), "front.png")}, content_type="multipart/form-data").status_code == 303
    assert post(client, url, {"file": (io.BytesIO(JPEG), "side.jpg")}, content_type="multipart/form-data").status_code == 303
    refused = post(client, url, {"file": (io.BytesIO(b"%PDF-1.4"), "sheet.pdf")}, content_type="multipart/form-data",
                   follow_redirects=True)
    assert "not accepted" in html(refused)
    db.session.expire_all()
    front, side = db.session.get(Product, p.id).images
    assert (front.original_name, side.original_name) == ("front.png", "side.jpg")
    # Everyone signed in sees the pictures; the list shows the cover.
    rep = login_as(org.a_rep1)
    shown = rep.get(f"/products/{p.id}/images/{front.id}")
    assert shown.status_code == 200 and shown.data == PNG and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert f"/products/{p.id}/images/{front.id}" in html(rep.get("/products/"))
    assert rep.get(f"/products/{catalogue['p2'].id}/images/{front.id}").status_code == 404  # not that product's
    assert post(rep, f"/products/{p.id}/images/{front.id}/delete").status_code == 403
    client = login_as(org.hq_manager)
    assert post(client, f"/products/{p.id}/images/{side.id}/cover").status_code == 303
    db.session.expire_all()
    assert [i.id for i in db.session.get(Product, p.id).images] == [side.id, front.id]
    listed = call("GET", f"/api/v1/products/{p.id}", org.a_rep1).get_json()["images"]
    assert [i["name"] for i in listed] == ["side.jpg", "front.png"]
    assert call("GET", f"/api/v1/products/{p.id}/images/{side.id}", org.a_rep1).data == JPEG
    stored = uploads / front.stored_name
    assert stored.exists()
    assert post(client, f"/products/{p.id}/images/{front.id}/delete").status_code == 303
    assert not stored.exists()  # removed once the request committed
    assert client.get(f"/products/{p.id}/images/{front.id}").status_code == 404


def test_at_most_eight_pictures(admin, catalogue, uploads):
    p = catalogue["p2"]
    for n in range(services.MAX_IMAGES):
        services.add_image(p, f"{n}.png", io.BytesIO(PNG), actor=admin)
    with pytest.raises(ValidationFailed) as caught:
        services.add_image(p, "9.png", io.BytesIO(PNG), actor=admin)
    assert "at most 8 pictures" in caught.value.errors["file"][0]
