"""Managing lead assignment rules on the set-up page: edit (prefilled, store fixed), deactivate / activate
(assignment skips an inactive rule), delete behind a confirmation (assigned leads keep their owners),
bad input named per field, and 404 for another store's manager. The API: test_api.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.core.audit import OperationLog
from crm.core.errors import NotFound
from crm.core.errors import ValidationFailed
from crm.customers.leads import services as leads
from crm.customers.models import Lead
from crm.customers.models import LeadAssignmentRule
from crm.extensions import db
from tests.conftest import csrf
from tests.factories import Org

SETUP = "/customers/leads/setup"


def pool_lead(org: Org, n: int, **extra: Any) -> Lead:
    return leads.create_lead({"name": f"Pool {n}", "mobile": f"1360001{n:04d}", "owner_id": "pool", **extra},
                             actor=org.a_manager)


def two_rules(org: Org) -> tuple[LeadAssignmentRule, LeadAssignmentRule]:
    first = leads.save_rule(org.store_a.id, {"name": "First", "priority": "1", "member_ids": [str(org.a_rep1.id)]},
                            actor=org.a_manager)
    second = leads.save_rule(org.store_a.id, {"name": "Second", "priority": "2", "member_ids": [str(org.a_rep2.id)]},
                             actor=org.a_manager)
    return first, second


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
