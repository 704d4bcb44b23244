"""The product catalogue: validation (every field error at once, money as Decimal, SKU normalised and
unique), permissions (product.manage to change, product.cost to see costs), the category tree (moves
carry the subtree), list filters and keyset pages, stale edits, spreadsheet import (all or nothing), at
most eight pictures. The pages: test_views.py; the API: test_api.py."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from crm.core.errors import Conflict
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.validation import load_input
from crm.extensions import db
from crm.sales.catalog import queries
from crm.sales.catalog import services
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from crm.sales.catalog.schemas import ProductInput
from tests.sales.catalog.conftest import PNG
from tests.sales.catalog.conftest import make


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


def test_one_input_schema_for_the_pages_the_api_and_the_import(admin, tree):
    """ProductInput checks what needs no database; the service adds the rest and answers all at once."""
    created = load_input(ProductInput(), {"sku": " pl-7 ", "name": "Pallet", "list_price": "¥1,280.5",
                                          "dynamic_load_kg": "1,000 kg", "size": "", "category_id": ""})
    assert created.errors == {}
    assert created.values["sku"] == "PL-7" and created.values["dynamic_load_kg"] == 1000
    assert created.values["size"] is None and created.values["category_id"] is None and created.values["cost_price"] is None
    assert created.values["on_shelf"] is True and created.values["unit"] == "pcs"  # absent on create: the defaults
    changed = load_input(ProductInput(partial=True), {"name": "", "on_shelf": "0", "junk": 1})
    assert changed.values == {"on_shelf": False} and set(changed.errors) == {"name"}  # only the fields sent
    with pytest.raises(ValidationFailed) as caught:
        services.create_product(load_input(ProductInput(), {"sku": "PL-8", "name": "", "list_price": "1",
                                                            "category_id": "999999"}), actor=admin)
    assert set(caught.value.errors) == {"name", "category_id"}
    assert db.session.scalar(select(Product.id)) is None


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


def test_at_most_eight_pictures(admin, catalogue, uploads):
    p = catalogue["p2"]
    for n in range(services.MAX_IMAGES):
        services.add_image(p, f"{n}.png", io.BytesIO(PNG), actor=admin)
    with pytest.raises(ValidationFailed) as caught:
        services.add_image(p, "9.png", io.BytesIO(PNG), actor=admin)
    assert "at most 8 pictures" in caught.value.errors["file"][0]
