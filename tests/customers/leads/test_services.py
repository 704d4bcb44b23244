"""Leads: manual entry, the public web form (honeypot, rate limit, bad input), assignment rules
(round-robin, by province / platform, daily capacity; the rule services check scope and store), follow-ups,
transfer and conversion with dedup. The pages: test_views.py; the API: test_api.py."""

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
from tests.customers.leads.conftest import two_rules
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


def test_services_check_scope_and_store(org: Org) -> None:
    first, _second = two_rules(org)
    with pytest.raises(NotFound):
        leads.set_rule_active(first, False, actor=org.b_manager)
    with pytest.raises(NotFound):
        leads.delete_rule(first, actor=org.b_manager)
    with pytest.raises(NotFound):
        leads.save_rule(org.store_b.id, {"name": "x", "member_ids": [str(org.b_rep.id)]}, actor=org.b_manager,
                        rule=first)
    with pytest.raises(NotFound):
        leads.get_rule(first.id, actor=org.b_manager)
    assert leads.get_rule(first.id, actor=org.a_manager) is first
    with pytest.raises(ValidationFailed) as exc:  # a store outside the actor's scope
        leads.save_rule(org.store_b.id, {"name": "x", "member_ids": [str(org.a_rep1.id)]}, actor=org.a_manager)
    assert set(exc.value.errors) == {"store_id"}
    assert [r.name for r in leads.list_rules(org.a_manager)] == ["First", "Second"]
    assert leads.list_rules(org.b_manager) == []
