"""Catalogue pages: salespeople read without costs, create and edit (history in words, shelf), the import
page lists every error, the XLSX export with costs for managers, the categories page, pictures (upload,
cover, remove; read back through the API too)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from crm.extensions import db
from crm.sales.catalog.models import Product
from crm.sales.catalog.models import ProductCategory
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import post
from tests.sales.catalog.conftest import PNG


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


JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


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
