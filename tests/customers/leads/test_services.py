"""Leads: manual entry, the public web form (honeypot, rate limit, bad input), assignment rules
(round-robin, by province / platform, daily capacity), transfer and conversion with dedup."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.auth.scopes import get_visible
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.customers import services
from crm.customers.leads import services as leads
from crm.customers.models import Contact
from crm.customers.models import Lead
from crm.customers.models import LeadStatus
from crm.extensions import db
from tests.factories import Org
from tests.factories import make_customer


def submit(token: str, n: int, ip: str = "203.0.113.7", **extra: Any) -> Lead:
    return leads.submit_web_form(token, {"name": f"Visitor {n}", "mobile": f"1360000{n:04d}", **extra}, ip)


def test_web_form_lands_in_the_store_pool_and_refuses_spam(org: Org) -> None:
    form = leads.create_web_form(org.store_b.id, "Contact us", actor=org.b_manager)
    lead = submit(form.token, 1, message="Need 300 pallets")
    assert lead.store_id == org.store_b.id and lead.owner_id is None and lead.source == "web_form"
    with pytest.raises(ValidationFailed) as exc:
        submit(form.token, 2, website="http://spam.example")
    assert "website" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        leads.submit_web_form(form.token, {"name": "", "mobile": "123"}, "198.51.100.1")
    assert set(exc.value.errors) == {"name", "mobile"}
    for n in range(3, 7):
        submit(form.token, n)
    with pytest.raises(leads.TooManyRequests):
        submit(form.token, 8)
    submit(form.token, 9, ip="198.51.100.2")  # another address is fine
    with pytest.raises(NotFound):
        leads.submit_web_form("no-such-token", {"name": "x", "mobile": "13600000000"}, None)
    form.active = False
    with pytest.raises(NotFound):
        submit(form.token, 10, ip="198.51.100.3")


def test_assignment_rules_round_robin_region_and_capacity(org: Org) -> None:
    form = leads.create_web_form(org.store_a.id, "Site", actor=org.a_manager)
    leads.save_rule(org.store_a.id, {"name": "Zhejiang", "priority": "1", "provinces": "浙江",
                                     "member_ids": [str(org.a_rep3.id)], "daily_capacity": "1"}, actor=org.a_manager)
    leads.save_rule(org.store_a.id, {"name": "Everyone", "priority": "5", "member_ids": [str(org.a_rep1.id),
                                     str(org.a_rep2.id)], "daily_capacity": "2"}, actor=org.a_manager)
    owners = [submit(form.token, n, ip=f"10.0.0.{n}").owner_id for n in range(1, 6)]
    assert owners == [org.a_rep1.id, org.a_rep2.id, org.a_rep1.id, org.a_rep2.id, None]  # capacity 2 each
    zj = submit(form.token, 6, ip="10.0.1.1", province="浙江")
    assert zj.owner_id == org.a_rep3.id
    zj2 = submit(form.token, 7, ip="10.0.1.2", province="浙江")
    assert zj2.owner_id is None  # the Zhejiang rep is full; the general reps too
    with pytest.raises(ValidationFailed):
        leads.save_rule(org.store_a.id, {"name": "", "member_ids": [str(org.b_rep.id)], "daily_capacity": "0"},
                        actor=org.a_manager)


def test_pool_is_open_to_the_store_and_claimable(org: Org) -> None:
    lead = leads.create_lead({"name": "Pool lead", "mobile": "13600001111", "owner_id": "pool"}, actor=org.a_manager)
    assert lead.owner_id is None
    assert get_visible(Lead, lead.id, org.a_rep2).id == lead.id
    with pytest.raises(NotFound):
        get_visible(Lead, lead.id, org.b_rep)
    leads.transfer_leads([lead], org.a_rep2.id, actor=org.a_rep2)  # claims it
    assert lead.owner_id == org.a_rep2.id
    org.a_rep1.__dict__.pop("_scope_context", None)
    with pytest.raises(NotFound):
        get_visible(Lead, lead.id, org.a_rep1)


def test_convert_with_dedup(org: Org) -> None:
    lead = leads.create_lead({"name": "张经理", "company": "宁波物流", "mobile": "13600002222", "province": "浙江"},
                             actor=org.a_rep1)
    customer = leads.convert(lead, actor=org.a_rep1)
    assert customer.name == "宁波物流" and customer.owner_id == org.a_rep1.id and lead.status == LeadStatus.CONVERTED
    assert db.session.scalar(select(Contact.name).where(Contact.customer_id == customer.id)) == "张经理"
    with pytest.raises(ValidationFailed):
        leads.convert(lead, actor=org.a_rep1)
    make_customer(org.a_rep2, mobile="13600003333", name="Hidden Co")
    dup = leads.create_lead({"name": "Dup", "mobile": "136 0000 3333"}, actor=org.a_rep1)
    with pytest.raises(services.DuplicateCustomer) as exc:
        leads.convert(dup, actor=org.a_rep1)
    assert "owned by A Rep Two" in exc.value.errors["mobile"][0] and "Hidden Co" not in exc.value.errors["mobile"][0]


def test_lead_pages_and_public_form(client: Any, login_as: Any, org: Org) -> None:
    from tests.conftest import csrf

    form = leads.create_web_form(org.store_a.id, "询价表", actor=org.a_manager)
    db.session.commit()
    public = client.get(f"/f/{form.token}")
    assert public.status_code == 200 and "询价表" in public.get_data(as_text=True)
    assert "Set-Cookie" not in public.headers
    sent = client.post(f"/f/{form.token}", data={"name": "访客", "mobile": "136 0000 4444", "message": "要托盘"})
    assert sent.status_code == 200 and 'id="sent"' in sent.get_data(as_text=True)
    bad = client.post(f"/f/{form.token}", data={"name": "", "mobile": "1"})
    assert bad.status_code == 422 and 'data-field-error="mobile"' in bad.get_data(as_text=True)
    spam = client.post(f"/f/{form.token}", data={"name": "Bot", "mobile": "13600004445", "website": "x"})
    assert spam.status_code == 422 and "automated" in spam.get_data(as_text=True)
    assert client.get("/f/unknown").status_code == 404
    lead = db.session.scalar(select(Lead).where(Lead.mobile_norm == "13600004444"))
    login_as(org.a_rep1)
    assert "访客" in client.get("/customers/leads?view=pool").get_data(as_text=True)
    token = csrf(client, f"/customers/leads/{lead.id}")
    assert client.post(f"/customers/leads/{lead.id}", data={"csrf_token": token, "action": "claim"}).status_code == 302
    resp = client.post(f"/customers/leads/{lead.id}", data={"csrf_token": token, "action": "convert"})
    assert resp.status_code == 302 and "/customers/" in resp.headers["Location"]
    detail = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Converted from the lead 访客" in detail
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == LeadStatus.CONVERTED
    resp = client.post("/customers/leads/new", data={"csrf_token": token, "name": "Typed", "mobile": "13600005555"})
    assert resp.status_code == 302
    assert client.post("/customers/leads/new", data={"csrf_token": token, "name": ""}).status_code == 422
    login_as(org.b_manager)
    assert client.get(f"/customers/leads/{lead.id}").status_code == 404
    login_as(org.a_manager)
    token = csrf(client, "/customers/leads/setup")
    resp = client.post("/customers/leads/setup", data={"csrf_token": token, "what": "rule", "name": "All",
                                                        "priority": "1", "daily_capacity": "5",
                                                        "member_ids": [org.a_rep1.id]})
    assert resp.status_code == 302
    assert "All" in client.get("/customers/leads/setup").get_data(as_text=True)


def test_lead_export_stays_in_scope(client: Any, login_as: Any, org: Org) -> None:
    leads.create_lead({"name": "Pool of A", "mobile": "13600007777", "owner_id": "pool"}, actor=org.a_manager)
    leads.create_lead({"name": "Mine of A", "mobile": "13600007778"}, actor=org.a_sup)
    leads.create_lead({"name": "Lead of B", "mobile": "13600007779", "owner_id": "pool"}, actor=org.b_manager)
    db.session.commit()
    login_as(org.a_manager)
    body = client.get("/customers/leads/export?view=all&format=csv").data.decode("utf-8-sig")
    assert "Pool of A" in body and "Mine of A" in body and "Lead of B" not in body
    xlsx = client.get("/customers/leads/export?view=pool&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    login_as(org.a_rep1)  # salespeople hold no customer.export
    assert client.get("/customers/leads/export").status_code == 403


def test_lead_follow_ups_move_to_the_customer_on_conversion(org: Org) -> None:
    from crm.customers.models import FollowUp

    lead = leads.create_lead({"name": "Follow me", "mobile": "13600008888"}, actor=org.a_rep1)
    with pytest.raises(ValidationFailed) as exc:
        leads.record_follow_up(lead, {"kind": "fax", "content": ""}, actor=org.a_rep1)
    assert set(exc.value.errors) == {"kind", "content"}
    with pytest.raises(NotFound):
        leads.record_follow_up(lead, {"kind": "phone", "content": "x"}, actor=org.b_rep)
    leads.record_follow_up(lead, {"kind": "phone", "content": "First call"}, actor=org.a_rep1)
    leads.record_follow_up(lead, {"kind": "wechat", "content": "Sent the catalogue"}, actor=org.a_rep1)
    assert lead.status == LeadStatus.CONTACTED
    customer = leads.convert(lead, actor=org.a_rep1)
    moved = db.session.scalars(select(FollowUp.content).where(FollowUp.customer_id == customer.id)
                               .order_by(FollowUp.id)).all()
    assert moved == ["First call", "Sent the catalogue"] and customer.last_follow_up_at is not None


def test_lead_follow_up_page(client: Any, login_as: Any, org: Org) -> None:
    from tests.conftest import csrf

    lead = leads.create_lead({"name": "Page lead", "mobile": "13600009999"}, actor=org.a_rep1)
    db.session.commit()
    login_as(org.a_rep1)
    token = csrf(client, f"/customers/leads/{lead.id}")
    ok = client.post(f"/customers/leads/{lead.id}", data={"csrf_token": token, "action": "follow_up", "kind": "sms",
                                                          "content": "Texted the price list"})
    assert ok.status_code == 302
    page = client.get(f"/customers/leads/{lead.id}").get_data(as_text=True)
    assert "Texted the price list" in page
    bad = client.post(f"/customers/leads/{lead.id}", data={"csrf_token": token, "action": "follow_up", "kind": "sms",
                                                           "content": ""})
    assert bad.status_code == 422 and 'data-field-error="content"' in bad.get_data(as_text=True)
