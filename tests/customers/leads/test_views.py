"""Lead pages: the lead list, detail and the public web form; the export within scope; the follow-up page.
Managing lead assignment rules on the set-up page: edit (prefilled, store fixed), deactivate / activate
(assignment skips an inactive rule), delete behind a confirmation (assigned leads keep their owners),
bad input named per field, and 404 for another store's manager. The API: test_api.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.customers.leads import services as leads
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.customers.models import LeadStatus
from crm.extensions import db
from tests.conftest import csrf
from tests.customers.leads.conftest import two_rules
from tests.factories import Org

SETUP = "/customers/leads/setup"


def pool_lead(org: Org, n: int, **extra: Any) -> Lead:
    return leads.create_lead({"name": f"Pool {n}", "mobile": f"1360001{n:04d}", "owner_id": "pool", **extra},
                             actor=org.a_manager)


def fresh(rule_id: int) -> LeadAssignmentRule | None:
    db.session.expire_all()
    return db.session.get(LeadAssignmentRule, rule_id)


def test_edit_and_deactivate_on_the_page_change_who_gets_the_leads(client: Any, login_as: Any, org: Org) -> None:
    first, second = two_rules(org)
    assert pool_lead(org, 1).owner_id == org.a_rep1.id
    db.session.commit()
    login_as(org.a_manager)
    token = csrf(client, SETUP)
    page = client.get(SETUP).get_data(as_text=True)
    assert f'/customers/leads/setup/rules/{first.id}"' in page and f"/rules/{first.id}/delete" in page

    off = client.post(f"{SETUP}/rules/{first.id}/active", data={"csrf_token": token, "active": "0"})
    assert off.status_code == 302
    assert fresh(first.id).active is False
    assert 'data-active="no"' in client.get(SETUP).get_data(as_text=True)
    assert pool_lead(org, 2).owner_id == org.a_rep2.id  # the inactive rule is skipped, the next one takes it
    db.session.commit()

    edit = client.get(f"{SETUP}/rules/{second.id}").get_data(as_text=True)
    assert 'value="Second"' in edit and 'value="2"' in edit
    assert f'name="member_ids" value="{org.a_rep2.id}" id="f-member_ids-' in edit.replace("\n", " ")
    saved = client.post(f"{SETUP}/rules/{second.id}", data={
        "csrf_token": token, "name": "Second, Zhejiang only", "priority": "0", "daily_capacity": "3",
        "provinces": "浙江，江苏", "member_ids": [str(org.a_rep3.id)], "store_id": str(org.store_b.id)})
    assert saved.status_code == 302
    rule = fresh(second.id)
    assert (rule.name, rule.priority, rule.daily_capacity, rule.provinces, rule.member_ids) == (
        "Second, Zhejiang only", 0, 3, ["浙江", "江苏"], [org.a_rep3.id])
    assert rule.store_id == org.store_a.id  # the store of a rule does not change
    assert pool_lead(org, 3, province="浙江").owner_id == org.a_rep3.id
    assert pool_lead(org, 4, province="广东").owner_id is None  # no active rule matches
    db.session.commit()

    on = client.post(f"{SETUP}/rules/{first.id}/active", data={"csrf_token": token, "active": "1"})
    assert on.status_code == 302 and fresh(first.id).active is True
    assert pool_lead(org, 5, province="广东").owner_id == org.a_rep1.id
    assert pool_lead(org, 6, province="浙江").owner_id == org.a_rep3.id  # priority 0 is tried first
    kinds = db.session.scalars(select(OperationLog.action).where(
        OperationLog.object_type == "lead_assignment_rule", OperationLog.object_id == first.id)
        .order_by(OperationLog.id)).all()
    assert kinds == ["created", "updated", "updated"]  # off, on again


def test_delete_asks_first_and_keeps_assigned_leads(client: Any, login_as: Any, org: Org) -> None:
    first, second = two_rules(org)
    assigned = pool_lead(org, 1)
    assert assigned.owner_id == org.a_rep1.id
    db.session.commit()
    login_as(org.a_manager)
    token = csrf(client, SETUP)
    ask = client.post(f"{SETUP}/rules/{first.id}/delete", data={"csrf_token": token})
    assert ask.status_code == 200 and 'id="confirm-delete"' in ask.get_data(as_text=True)
    assert fresh(first.id) is not None
    done = client.post(f"{SETUP}/rules/{first.id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    assert fresh(first.id) is None and fresh(second.id) is not None
    assert db.session.get(Lead, assigned.id).owner_id == org.a_rep1.id
    assert pool_lead(org, 2).owner_id == org.a_rep2.id
    assert db.session.scalar(select(OperationLog.action).where(
        OperationLog.object_type == "lead_assignment_rule", OperationLog.object_id == first.id)
        .order_by(OperationLog.id.desc()).limit(1)) == "deleted"
    assert client.post(f"{SETUP}/rules/{first.id}/delete",
                       data={"csrf_token": token, "confirm": "yes"}).status_code == 404


def test_bad_edit_names_each_field_and_changes_nothing(client: Any, login_as: Any, org: Org) -> None:
    first, _second = two_rules(org)
    db.session.commit()
    login_as(org.a_manager)
    token = csrf(client, SETUP)
    bad = client.post(f"{SETUP}/rules/{first.id}", data={
        "csrf_token": token, "name": "", "priority": "-1", "daily_capacity": "0", "platforms": ["fax"],
        "provinces": "x" * 41, "member_ids": [str(org.b_rep.id)]})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("name", "priority", "daily_capacity", "platforms", "provinces", "member_ids"):
        assert f'data-field-error="{field}"' in body, field
    rule = fresh(first.id)
    assert (rule.name, rule.priority, rule.daily_capacity, rule.member_ids) == ("First", 1, 50, [org.a_rep1.id])
    none = client.post(f"{SETUP}/rules/{first.id}", data={"csrf_token": token, "name": "First"})
    assert none.status_code == 422 and 'data-field-error="member_ids"' in none.get_data(as_text=True)


def test_another_store_gets_404_everywhere(client: Any, login_as: Any, org: Org) -> None:
    first, _second = two_rules(org)
    db.session.commit()
    login_as(org.b_manager)
    token = csrf(client, SETUP)
    assert "First" not in client.get(SETUP).get_data(as_text=True)
    assert client.get(f"{SETUP}/rules/{first.id}").status_code == 404
    assert client.post(f"{SETUP}/rules/{first.id}", data={"csrf_token": token, "name": "Mine now",
                                                          "member_ids": [str(org.b_rep.id)]}).status_code == 404
    assert client.post(f"{SETUP}/rules/{first.id}/active", data={"csrf_token": token, "active": "0"}).status_code == 404
    assert client.post(f"{SETUP}/rules/{first.id}/delete", data={"csrf_token": token, "confirm": "yes"}
                       ).status_code == 404
    rule = fresh(first.id)
    assert (rule.name, rule.active) == ("First", True)
    login_as(org.a_rep1)  # no lead.manage
    assert client.get(f"{SETUP}/rules/{first.id}").status_code == 403


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
