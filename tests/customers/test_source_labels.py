"""Sources read as words in both languages, never the stored values ("douyin", "manual")."""

from __future__ import annotations

from crm.customers.leads import services as lead_services
from crm.extensions import db


def test_lead_and_customer_sources_in_words(org, login_as, client):
    lead = lead_services.create_lead({"name": "Douyin lead", "mobile": "13800000077", "source_platform": "douyin"},
                                     actor=org.a_rep1)
    db.session.commit()
    login_as(org.a_rep1)
    for path in ("/customers/leads", f"/customers/leads/{lead.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "Entered by hand · Douyin" in page, path
        assert ">manual<" not in page and "douyin<" not in page and "· douyin" not in page
    with client.session_transaction() as sess:
        sess["lang"] = "zh"
    page = client.get(f"/customers/leads/{lead.id}").get_data(as_text=True)
    assert "手工录入 · 抖音" in page
