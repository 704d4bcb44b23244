"""The high-seas pages: pool list (store isolation, filters, days in the pool), claim from the page, batch
assignment, my claims, claim audit, rule settings with bad input, the recycle badge on the customer."""

from __future__ import annotations

from datetime import timedelta

from crm.extensions import db
from crm.highseas import rules
from crm.highseas import services
from crm.highseas.models import ClaimStatus
from crm.highseas.models import HighSeasClaim
from tests.conftest import csrf
from tests.highseas.conftest import make_customer
from tests.highseas.conftest import set_pool


def pooled(org, **fields):
    c = make_customer(org.a_rep1, **fields)
    services.move_to_pool([c], "stale lead", actor=org.a_sup)
    db.session.commit()
    return c


def test_pool_list_shows_store_customers_and_days(client, login_as, org, clock):
    c = pooled(org, name="Pool Alpha", level="b")
    b_cust = make_customer(org.b_rep, name="Bee Pool")
    services.move_to_pool([b_cust], "cleanup", actor=org.b_sup)
    db.session.commit()
    clock.shift(timedelta(days=4))
    login_as(org.a_rep2)
    page = client.get("/high-seas/").get_data(as_text=True)
    assert "Pool Alpha" in page and "Bee Pool" not in page
    assert "4 days" in page and "stale lead" in page and "A Rep One" in page
    assert "Pool Alpha" not in client.get("/high-seas/?level=a").get_data(as_text=True)
    assert "Pool Alpha" in client.get("/high-seas/?q=Alpha&level=b").get_data(as_text=True)
    # another store's pool is not reachable by URL either
    assert "Bee Pool" not in client.get(f"/high-seas/?store_id={org.store_b.id}").get_data(as_text=True)
    assert client.get("/high-seas/?cursor=garbage").status_code == 422
    assert c.id


def test_claim_from_the_page(client, login_as, org, clock, claim_process):
    c = pooled(org)
    login_as(org.a_rep2)
    token = csrf(client, "/high-seas/")
    r = client.post(f"/high-seas/customers/{c.id}/claim", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 302
    assert db.session.query(HighSeasClaim).count() == 0
    r = client.post(f"/high-seas/customers/{c.id}/claim", data={"csrf_token": token, "reason": "old contact"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "old contact" in page  # my claims
    assert db.session.query(HighSeasClaim).one().status == ClaimStatus.VISITING
    # another store's salesperson gets a 404
    login_as(org.b_rep)
    r = client.post(f"/high-seas/customers/{c.id}/claim", data={"csrf_token": csrf(client, "/"), "reason": "x"})
    assert r.status_code == 404


def test_batch_assign_from_the_page(client, login_as, org):
    cs = [pooled(org) for _ in range(2)]
    login_as(org.a_sup)
    token = csrf(client, "/high-seas/")
    r = client.post(f"/high-seas/assign?store_id={org.store_a.id}", data={
        "csrf_token": token, "customer_ids": [c.id for c in cs], "owner_id": org.a_rep2.id, "reason": "share"})
    assert r.status_code == 302
    for c in cs:
        db.session.refresh(c)
        assert c.owner_id == org.a_rep2.id
    login_as(org.a_rep1)
    assert client.post("/high-seas/assign", data={"csrf_token": csrf(client, "/"), "customer_ids": [1],
                                                  "owner_id": org.a_rep1.id}).status_code == 403


def test_claim_audit_and_my_claims(client, login_as, org, clock, supervisor_chain):
    c = pooled(org, name="Audit Me")
    services.apply_claim(c.id, "met at fair", actor=org.a_rep2)
    db.session.commit()
    login_as(org.a_sup)
    page = client.get("/high-seas/audit").get_data(as_text=True)
    assert "Audit Me" in page and "A Rep Two" in page and "Waiting for approval" in page
    assert "Audit Me" in client.get("/high-seas/audit?status=pending").get_data(as_text=True)
    assert "Audit Me" not in client.get("/high-seas/audit?status=kept").get_data(as_text=True)
    login_as(org.b_sup)
    assert "Audit Me" not in client.get("/high-seas/audit").get_data(as_text=True)
    login_as(org.a_rep1)
    assert "Audit Me" not in client.get("/high-seas/claims").get_data(as_text=True)
    assert client.get("/high-seas/audit").status_code == 403


def test_settings_page(client, login_as, org):
    login_as(org.a_manager)
    url = f"/high-seas/settings/{org.store_a.id}"
    assert client.get(url).status_code == 200
    token = csrf(client, url)
    pool = rules.pool_for(org.store_a.id)
    bad = client.post(url, data={"csrf_token": token, "name": "", "follow_up_days": "abc", "return_visit_days": "0",
                                 "level_days_a": "-1", "lock_version": pool.lock_version})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Enter a whole number." in text and "Enter a number from 1 to 365." in text
    ok = client.post(url, data={"csrf_token": token, "name": "A pool", "follow_up_days": "20", "deal_days": "",
                                "return_visit_days": "5", "level_days_a": "45", "cooldown_days": "3",
                                "auto_recycle": "1", "exempt_won": "1", "lock_version": pool.lock_version})
    assert ok.status_code == 302
    db.session.refresh(pool)
    assert (pool.follow_up_days, pool.deal_days, pool.return_visit_days, pool.level_days) == (20, None, 5, {"a": 45})
    assert client.post(url, data={"csrf_token": token, "action": "member", "user_id": org.a_rep1.id,
                                  "role": "admin"}).status_code == 302
    assert [m.user_id for m in rules.members(pool)] == [org.a_rep1.id]
    login_as(org.b_manager)
    assert client.get(url).status_code == 404
    login_as(org.a_rep1)
    assert client.get(url).status_code == 403


def test_recycle_badge_on_customer(client, login_as, org, clock):
    set_pool(org.store_a, follow_up_days=10)
    c = make_customer(org.a_rep1)
    clock.shift(timedelta(days=8))
    login_as(org.a_rep1)
    page = client.get(f"/customers/{c.id}").get_data(as_text=True)
    assert "High seas in 2 days" in page


def test_days_until_recycle_column_in_the_customer_list(client, login_as, org, clock):
    """The customer list's registered column: days left for owned customers, "—" for exempt ones (won);
    pool customers have none."""
    from crm.highseas import sweep as recycling

    set_pool(org.store_a, follow_up_days=10, level_days={"a": 20})
    soon = make_customer(org.a_rep1, name="Col Soon")
    key = make_customer(org.a_rep1, name="Col Key", level="a")
    won = make_customer(org.a_rep1, name="Col Won")
    won.won = True
    in_pool = pooled(org, name="Col Pool")
    db.session.commit()
    clock.shift(timedelta(days=8))
    login_as(org.a_sup)
    page = client.get("/customers?cols=days_until_recycle&cols=owner").get_data(as_text=True)
    assert "Days until recycle" in page

    def cell(customer):
        row = page.split(f'data-customer-id="{customer.id}"', 1)[1].split("</tr>", 1)[0]
        return row.split("<td")[3].split(">", 1)[1].split("</td>")[0].strip()

    assert cell(soon) == "2 days"
    assert cell(key) == "12 days"
    assert cell(won) == "—"
    assert f'data-customer-id="{in_pool.id}"' not in page  # a supervisor sees their team's, not the pool
    assert recycling.days_until_recycle_many([in_pool]) == {}
    # not chosen: not computed, not shown
    assert "Days until recycle</th>" not in client.get("/customers").get_data(as_text=True)


def test_days_until_recycle_in_sql_matches_the_rules(org, clock):
    """The SQL reading of the rules (the list column) agrees with `days_until_recycle` on random clocks,
    levels, deal rule, won and locked customers."""
    import random

    from crm.highseas import sweep as recycling

    rnd = random.Random(11)
    set_pool(org.store_a, follow_up_days=30, deal_days=45, level_days={"a": 60, "c": 15}, exempt_won=True)
    now = services.utcnow()
    rows = []
    for _ in range(40):
        c = make_customer(org.a_rep1, level=rnd.choice(["a", "b", "c", "d"]))
        c.owned_since = now - timedelta(days=rnd.randint(0, 50), hours=rnd.randint(0, 23))
        c.last_follow_up_at = now - timedelta(days=rnd.randint(0, 50), hours=rnd.randint(0, 23)) \
            if rnd.random() < 0.7 else None
        c.last_deal_at = now - timedelta(days=rnd.randint(0, 50)) if rnd.random() < 0.5 else None
        c.won = rnd.random() < 0.2
        c.locked = rnd.random() < 0.1
        rows.append(c)
    db.session.commit()
    many = recycling.days_until_recycle_many(rows)
    single = {c.id: recycling.days_until_recycle(c) for c in rows}
    assert many == {cid: d for cid, d in single.items() if d is not None}
    assert len(many) > 10


def test_pool_export_and_import_into_the_pool_from_the_page(client, login_as, org, clock):
    """The page's export (CSV of the store's pool with its filters) and its import link, which opens the
    customers import with the store chosen and "to the high seas" as the owner of rows without one."""
    import io

    pooled(org, name="Page Export One", level="c")
    make_customer(org.a_rep1, name="Page Owned")
    login_as(org.a_manager)
    page = client.get(f"/high-seas/?store_id={org.store_a.id}").get_data(as_text=True)
    assert 'id="pool-export-csv"' in page and 'id="pool-import"' in page
    body = client.get(f"/high-seas/export?store_id={org.store_a.id}&level=c&format=csv").get_data(as_text=True)
    assert "Page Export One" in body and "Page Owned" not in body
    assert client.get(f"/high-seas/export?store_id={org.store_a.id}&format=doc").status_code == 422
    upload = client.get(f"/customers/import?store_id={org.store_a.id}&to=pool").get_data(as_text=True)
    assert 'name="to" value="pool"' in upload
    resp = client.post("/customers/import", data={
        "csrf_token": csrf(client, f"/customers/import?store_id={org.store_a.id}&to=pool"), "target": "customers",
        "store_id": str(org.store_a.id), "to": "pool",
        "file": (io.BytesIO(b"name,mobile\nImported To Pool,13812345678\n"), "pool.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 302 and "to=pool" in resp.headers["Location"]
    mapping = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert '<option value="pool" selected' in mapping
    login_as(org.a_rep2)  # a salesperson cannot export
    assert client.get(f"/high-seas/export?store_id={org.store_a.id}").status_code == 403
    assert 'id="pool-export-csv"' not in client.get("/high-seas/").get_data(as_text=True)


def test_admin_and_managers_reach_the_high_seas_and_the_rules_page(org, login_as):
    """"HQ sees all": the default HQ manager and subsidiary manager roles open any pool of their scope, and
    the admin role (which holds `highseas.configure`) opens the pool and its rules from the menu."""
    for user in (org.hq_manager, org.east_manager):
        page = login_as(user).get(f"/high-seas/?store_id={org.store_b.id}")
        assert page.status_code == 200 and "Store B" in page.get_data(as_text=True), user.name
    admin = login_as(org.a_admin)  # scope "all" below its own place: store A
    assert admin.get("/high-seas/").status_code == 200
    assert 'href="/high-seas/settings"' in admin.get("/").get_data(as_text=True)  # the Administration menu
    resp = admin.get("/high-seas/settings")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/high-seas/settings/{org.store_a.id}")
    assert admin.get(resp.headers["Location"]).status_code == 200
    # The east manager's scope stops at the subsidiary: store C (south) is not theirs.
    east = login_as(org.east_manager)
    assert f"?store_id={org.store_c.id}" not in east.get("/high-seas/").get_data(as_text=True)
    assert east.get(f"/high-seas/settings/{org.store_c.id}").status_code in (403, 404)
