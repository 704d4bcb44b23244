"""The quote form's helpers and the PDF: the product search behind the line picker (name, SKU, size; on the
shelf only; a limit), rows posted in any number, the approval threshold read from the diagram, the
"not approved" watermark and the embedded font."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from crm.extensions import db
from crm.sales.quotes.models import Quote
from tests.conftest import csrf
from tests.sales.conftest import line
from tests.sales.conftest import submitted

pytestmark = pytest.mark.usefixtures("quote_process")


def test_the_product_search_finds_by_name_sku_and_size_on_the_shelf_only_with_a_limit(org, products, login_as):
    client = login_as(org.a_rep1)
    p = products["p100"]
    by_sku = client.get(f"/products/search?q={p.sku.lower()}").get_json()["items"]
    assert [i["id"] for i in by_sku] == [p.id] and by_sku[0]["list_price"] == f"{p.list_price:.2f}"
    by_name = client.get("/products/search", query_string={"q": p.name[:3]}).get_json()["items"]
    assert p.id in [i["id"] for i in by_name]
    everything = client.get("/products/search?q=").get_json()["items"]
    off = [x for x in products.values() if not x.on_shelf]
    assert off and not {x.id for x in off} & {i["id"] for i in everything}
    assert len(client.get("/products/search?q=&limit=1").get_json()["items"]) == 1
    assert len(client.get("/products/search?q=&limit=100000").get_json()["items"]) <= 50


def test_rows_added_by_the_page_are_all_read_and_the_form_carries_the_diagrams_threshold(org, products, customers,
                                                                                         login_as):
    client = login_as(org.a_rep1)
    page = client.get("/quotes/new").get_data(as_text=True)
    assert 'data-threshold="0.90"' in page or 'data-threshold="0.9"' in page
    assert "90 %" in page and 'id="approval-notice"' in page
    data = {"csrf_token": csrf(client, "/quotes/"), "customer_id": customers["a"].id}
    for i in (0, 5, 12):  # gaps: the page's script renumbers, but the server must not depend on it
        data |= {f"lines-{i}-product_id": products["p100"].id, f"lines-{i}-quantity": "2", f"lines-{i}-unit_price": "95"}
    assert client.post("/quotes/new", data=data).status_code == 303
    quote = db.session.scalars(db.select(Quote).order_by(Quote.id.desc())).first()
    assert len(quote.lines) == 3


def _pdf_text(data: bytes) -> tuple[str, set[str]]:
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    fonts = set()
    for page in reader.pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            font = f.get_object()
            fonts.add(str(font.get("/BaseFont")))
            for d in [font, *(x.get_object() for x in font.get("/DescendantFonts") or [])]:
                desc = d.get("/FontDescriptor")
                if desc is not None and "/FontFile2" in desc.get_object():
                    fonts.add("embedded")
    return text, fonts


def test_the_pdf_is_marked_not_approved_until_the_quote_is_approved(org, products, customers, login_as):
    client = login_as(org.a_rep1)
    pending = submitted(org.a_rep1, customers["a"], line(products["p100"], "50.00"))  # under 90 %: the audit
    assert pending.status.value == "pending_approval"
    text, fonts = _pdf_text(client.get(f"/quotes/{pending.id}/pdf").data)
    assert "NOT APPROVED" in text and pending.number in text
    approved = submitted(org.a_rep1, customers["a"], line(products["p100"], "99.00"))
    assert approved.status.value == "approved"
    text, _fonts = _pdf_text(client.get(f"/quotes/{approved.id}/pdf").data)
    assert "NOT APPROVED" not in text and approved.number in text


def test_the_pdf_embeds_a_chinese_font_when_one_is_installed(app, org, products, customers, login_as):
    from pathlib import Path

    from crm.sales.quotes.pdf import DEFAULT_FONTS

    if not any(Path(p).is_file() for p in DEFAULT_FONTS):
        pytest.skip("no CJK TrueType font installed (apt-get install fonts-wqy-microhei)")
    client = login_as(org.a_rep1)
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "99.00"))
    text, fonts = _pdf_text(client.get(f"/quotes/{q.id}/pdf").data)
    assert "embedded" in fonts
    assert re.search(r"[\u4e00-\u9fff]", text) and "·" in text


def test_the_stores_letterhead_and_terms_print_on_its_quotes(org, products, customers, login_as):
    client = login_as(org.hq_admin)
    page = client.get(f"/admin/units/{org.store_a.id}/edit")
    assert page.status_code == 200 and 'name="quote_letterhead"' in page.get_data(as_text=True)
    resp = client.post(f"/admin/units/{org.store_a.id}/edit", data={
        "csrf_token": csrf(client, f"/admin/units/{org.store_a.id}/edit"), "name": org.store_a.name,
        "platform": org.store_a.platform.value, "shop_name": "A 旗舰店",
        "quote_letterhead": "宁波市北仑区 88 号\n电话 0574-8888 8888", "quote_terms": "款到发货\n质保一年"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)
    db.session.refresh(org.store_a)
    assert org.store_a.quote_terms == "款到发货\n质保一年"
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "99.00"))
    text, _fonts = _pdf_text(login_as(org.a_rep1).get(f"/quotes/{q.id}/pdf").data)
    for expected in ("宁波市北仑区 88 号", "0574-8888 8888", "款到发货", "质保一年"):
        assert expected in text, expected


def test_a_store_chooses_whether_its_quotes_print_the_seal_area(org, products, customers, login_as):
    q = submitted(org.a_rep1, customers["a"], line(products["p100"], "99.00"))
    client = login_as(org.a_rep1)
    text, _fonts = _pdf_text(client.get(f"/quotes/{q.id}/pdf").data)
    assert "Customer's seal and signature" in text  # printed unless the store turns it off
    admin = login_as(org.hq_admin)
    edit = f"/admin/units/{org.store_a.id}/edit"
    assert 'id="quote_seal"' in admin.get(edit).get_data(as_text=True)
    form = {"csrf_token": csrf(admin, edit), "name": org.store_a.name, "platform": org.store_a.platform.value,
            "shop_name": org.store_a.shop_name}
    assert admin.post(edit, data=form).status_code in (302, 303)  # the box unticked: no seal area
    db.session.refresh(org.store_a)
    assert org.store_a.quote_seal is False
    shown = admin.get(f"/admin/units/{org.store_a.id}").get_data(as_text=True)  # what org.view reads, as the API
    assert '<dd class="col-sm-8" id="quote-seal">Not printed</dd>' in shown
    text, _fonts = _pdf_text(login_as(org.a_rep1).get(f"/quotes/{q.id}/pdf").data)
    assert "seal and signature" not in text and "Total" in text
    admin = login_as(org.hq_admin)
    assert admin.post(edit, data=form | {"csrf_token": csrf(admin, edit), "quote_seal": "on"}).status_code in (302, 303)
    db.session.refresh(org.store_a)
    assert org.store_a.quote_seal is True
