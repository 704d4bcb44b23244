"""The plan's page and the order page's finance section: the salesperson plans the instalments, the order
page shows each instalment's status, a collection names its instalment, the form refuses what does not
add up (with the difference), and another store's order is 404."""

from __future__ import annotations

from decimal import Decimal

from crm.extensions import db
from crm.finance.plans.queries import plan_of
from tests.conftest import collect
from tests.conftest import field_errors
from tests.conftest import html
from tests.conftest import options
from tests.conftest import post
from tests.finance.plans.conftest import save


def _rows(*rows):
    data = {"rows": str(len(rows) + 2)}
    for i, row in enumerate(rows):
        data.update({f"instalments-{i}-{k}": v for k, v in row.items()})
    return data


def test_the_salesperson_plans_the_instalments_on_the_page(waiting, org, staff, client, login_as):
    login_as(org.a_rep1)
    order_page = html(client.get(f"/orders/{waiting.id}"))
    assert 'id="edit-plan"' in order_page and 'id="plan-instalments"' not in order_page
    form = client.get(f"/finance/orders/{waiting.id}/plan")
    assert form.status_code == 200 and 'value="950.00"' in html(form)

    refused = post(client, f"/finance/orders/{waiting.id}/plan",
                   _rows({"amount": "300", "due_on": "2027-01-10"}, {"amount": "600", "due_on": "bad"}))
    assert refused.status_code == 422
    assert field_errors(refused) == {"instalments.1.due_on"}
    refused = post(client, f"/finance/orders/{waiting.id}/plan",
                   _rows({"amount": "300", "due_on": "2027-01-10"}, {"amount": "600", "due_on": "2027-02-10"}))
    assert refused.status_code == 422 and "¥50.00 short of what the order owes" in html(refused)
    assert plan_of(waiting.id) is None

    saved = post(client, f"/finance/orders/{waiting.id}/plan",
                 _rows({"amount": "350", "due_on": "2027-01-10", "method": "alipay"},
                       {"amount": "600", "due_on": "2027-02-10", "remind_days": "5"}), follow_redirects=True)
    assert saved.status_code == 200 and "The receivable plan was saved." in html(saved)
    plan = plan_of(waiting.id)
    assert [(i.amount, i.remind_days) for i in plan.instalments] == [(Decimal("350.00"), 3), (Decimal("600.00"), 5)]
    page = html(saved)
    assert 'id="plan-instalments"' in page and f'id="instalment-{plan.instalments[0].id}"' in page
    assert 'data-status="pending"' in page and "Alipay" in page
    again = html(client.get(f"/finance/orders/{waiting.id}/plan"))  # the form holds the plan, with statuses
    assert f'name="instalments-1-id" value="{plan.instalments[1].id}"' in again and 'value="600.00"' in again
    assert "Pending" in again and f'name="lock_version" value="{plan.lock_version}"' in again


def test_a_collection_names_its_instalment_and_the_status_follows(waiting, org, staff, client, login_as):
    plan = save(waiting, org.a_rep1, ("300", "2027-01-10"), ("650", "2027-02-10"))
    first, second = plan.instalments
    login_as(org.a_rep1)
    form = client.get(f"/finance/orders/{waiting.id}/collections/new?instalment_id={second.id}")
    choices = options(form, "instalment_id")
    assert [value for value, _label in choices] == ["", str(first.id), str(second.id)]
    assert f'<option value="{second.id}" selected' in html(form)
    collect(waiting, org.a_rep1, staff["finance"], "300.00")
    login_as(staff["finance"])
    page = html(client.get(f"/orders/{waiting.id}"))
    assert f'id="instalment-{first.id}"' in page
    row = page[page.index(f'id="instalment-{first.id}"'):page.index(f'id="instalment-{second.id}"')]
    assert 'data-status="collected"' in row and "Instalment 1" not in row
    assert [v for v, _l in options(client.get(f"/finance/orders/{waiting.id}/collections/new"), "instalment_id")] == [
        "", str(second.id)]


def test_who_sees_and_edits_the_plan(waiting, org, staff, client, login_as):
    save(waiting, org.a_rep1, ("950", "2027-01-10"))
    login_as(staff["warehouse"])
    assert client.get(f"/finance/orders/{waiting.id}/plan").status_code == 403
    login_as(org.b_manager)
    assert client.get(f"/finance/orders/{waiting.id}/plan").status_code in (403, 404)
    from tests.factories import UserFactory

    b_finance = UserFactory(name="B Finance", unit=org.units["store_b"], roles=[org.roles["finance"]])
    db.session.commit()
    login_as(b_finance)
    assert client.get(f"/finance/orders/{waiting.id}/plan").status_code == 404
    assert post(client, f"/finance/orders/{waiting.id}/plan",
                _rows({"amount": "950", "due_on": "2027-01-11"})).status_code == 404
    login_as(staff["finance"])
    assert client.get(f"/finance/orders/{waiting.id}/plan").status_code == 200


def test_the_plan_in_chinese(waiting, org, staff, client, login_as):
    save(waiting, org.a_rep1, ("950", "2027-01-10"))
    login_as(org.a_rep1)
    page = html(client.get(f"/orders/{waiting.id}", headers={"Accept-Language": "zh-CN"}))
    assert "回款计划" in page
