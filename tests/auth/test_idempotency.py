"""`Idempotency-Key` on the API's writes: the same key and request within 24 hours answer the first result
without writing again, another request with the key is a 422, a refused write keeps no key, the cleanup
job forgets keys after 24 hours, and two concurrent requests with one key execute once (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from crm.auth.jobs import purge_idempotency_keys
from crm.auth.models import IdempotencyKey
from crm.auth.services import create_token
from crm.core.clock import utcnow
from crm.customers.models import Customer
from crm.extensions import db
from tests.conftest import assert_problem
from tests.conftest import committed_app
from tests.conftest import grant
from tests.conftest import requires_postgres

CUSTOMERS = "/api/v1/customers"


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def _count(mobile: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.mobile_norm == mobile))


def test_the_same_key_and_request_answer_the_first_result(call: Any, api_org: Any) -> None:
    rep = api_org.a_rep1
    body = {"name": "Retry Ltd", "mobile": "13722220001", "level": "a"}
    first = call("POST", CUSTOMERS, rep, json=body, headers=_key("order-7-create"))
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    # The same data in another order and spacing is the same request.
    again = call("POST", CUSTOMERS, rep, json={"level": "a", "mobile": "13722220001", "name": "Retry Ltd"},
                 headers=_key("order-7-create"))
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.mimetype == "application/json"
    assert _count("13722220001") == 1
    # Without the key the retry is a new write (refused here as a duplicate).
    assert_problem(call("POST", CUSTOMERS, rep, json=body), 422, "mobile")
    # Another request with the key is refused; so is a blank or overlong key.
    other = assert_problem(call("POST", CUSTOMERS, rep, json={**body, "company": "ACME"},
                                headers=_key("order-7-create")), 422, "Idempotency-Key")
    assert "different request" in other["errors"]["Idempotency-Key"][0]
    assert_problem(call("POST", CUSTOMERS, rep, json={**body, "mobile": "13722220009"},
                        headers=_key("k" * 201)), 422, "Idempotency-Key")
    # Keys are per user: another person's same key is theirs.
    own = call("POST", CUSTOMERS, api_org.a_rep2, json={**body, "mobile": "13722220002"}, headers=_key("order-7-create"))
    assert own.status_code == 201 and "Idempotency-Replayed" not in own.headers


def test_a_refused_write_keeps_no_key(call: Any, api_org: Any) -> None:
    rep = api_org.a_rep1
    assert_problem(call("POST", CUSTOMERS, rep, json={"name": "Typo Ltd", "mobile": "123"}, headers=_key("k-2")),
                   422, "mobile")
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    fixed = call("POST", CUSTOMERS, rep, json={"name": "Typo Ltd", "mobile": "13722220003"}, headers=_key("k-2"))
    assert fixed.status_code == 201 and "Idempotency-Replayed" not in fixed.headers


def test_a_refusal_is_not_the_keys_answer_the_same_request_runs_again(call: Any, api_org: Any) -> None:
    """Stripe's rule: a request refused before doing anything (422, 409, 403, 404) stores nothing, so the
    same key and the SAME body, sent again, run again: refused again while the cause stands, carried out
    once it is gone, and only then replayed."""
    rep = api_org.a_rep1
    holder = call("POST", CUSTOMERS, rep, json={"name": "Holder Ltd", "mobile": "13722220004"}).get_json()
    body = {"name": "Retry Ltd", "mobile": "13722220004"}
    for _ in range(2):  # a duplicate mobile: refused each time, never replayed, no key kept
        refused = call("POST", CUSTOMERS, rep, json=body, headers=_key("k-5"))
        assert_problem(refused, 422, "mobile")
        assert "Idempotency-Replayed" not in refused.headers
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    # The cause goes away (the other customer's number is corrected): the same key and body now succeed …
    assert call("PATCH", f"{CUSTOMERS}/{holder['id']}", rep, json={"mobile": "13722220005"}).status_code == 200
    done = call("POST", CUSTOMERS, rep, json=body, headers=_key("k-5"))
    assert done.status_code == 201 and "Idempotency-Replayed" not in done.headers
    # … and from then on answer that success without writing again.
    again = call("POST", CUSTOMERS, rep, json=body, headers=_key("k-5"))
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == done.get_json() and _count("13722220004") == 1
    # A 404 keeps no key either.
    assert call("POST", "/api/v1/orders/999999/cancel", rep, json={"reason": "x"},
                headers=_key("k-6")).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "k-6")) == 0


def test_a_task_completed_twice_with_one_key_is_completed_once(call: Any, review: Any, api_org: Any) -> None:
    task = review(candidates=[api_org.a_rep1])
    assert call("POST", f"/api/v1/tasks/{task.id}/claim", api_org.a_rep1).status_code == 200
    data = {"data": {"amount": "1234.5", "quantity": 3, "decision": "reject",
                     "lines": [{"product": "Pallet", "qty": 2}]}}
    first = call("POST", f"/api/v1/tasks/{task.id}/complete", api_org.a_rep1, json=data, headers=_key("done-1"))
    assert first.status_code == 200, first.get_json()
    again = call("POST", f"/api/v1/tasks/{task.id}/complete", api_org.a_rep1, json=data, headers=_key("done-1"))
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert_problem(call("POST", f"/api/v1/tasks/{task.id}/complete", api_org.a_rep1, json=data), 409)


def test_keys_expire_after_a_day_and_the_job_removes_them(call: Any, api_org: Any) -> None:
    rep = api_org.a_rep1
    assert call("POST", CUSTOMERS, rep, json={"name": "Old Ltd", "mobile": "13722220004"},
                headers=_key("k-3")).status_code == 201
    assert call("POST", CUSTOMERS, rep, json={"name": "Kept Ltd", "mobile": "13722220005"},
                headers=_key("k-4")).status_code == 201
    old = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "k-3"))
    old.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    # An expired key starts afresh: another request with it is a new write, not a 422.
    fresh = call("POST", CUSTOMERS, rep, json={"name": "New Ltd", "mobile": "13722220006"}, headers=_key("k-3"))
    assert fresh.status_code == 201 and "Idempotency-Replayed" not in fresh.headers
    stale = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "k-4"))
    stale.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert purge_idempotency_keys() == 1
    assert {k.key for k in db.session.scalars(select(IdempotencyKey))} == {"k-3"}


def test_the_document_offers_the_header_on_writes_that_move_money_or_state(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/orders", "/api/v1/orders/{order_id}/collections", "/api/v1/tasks/{task_id}/complete",
                 "/api/v1/high-seas/customers/{customer_id}/claim", "/api/v1/settlements", "/api/v1/customers",
                 "/api/v1/orders/{order_id}/invoices", "/api/v1/orders/{order_id}/after-sales"):
        names = {p["name"] for p in spec["paths"][path]["post"].get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in names, path
    assert "Idempotency-Key" not in str(spec["paths"]["/api/v1/customers"]["get"])


# Two requests at once (PostgreSQL) ------------------------------------------------------------------------
@pytest.fixture
def race_world(tmp_path: Any) -> Any:
    def setup(org: Any, roles: Any) -> dict[str, Any]:
        grant(roles["salesperson"], "api.use")
        _row, first = create_token(org.a_rep1, "phone")
        _row, second = create_token(org.a_rep1, "tablet")  # two tokens: no shared token row to wait on
        return {"store_a": org.store_a.id, "tokens": [first, second], "rep": org.a_rep1.id}

    with committed_app(tmp_path, "crm_idem_race", setup) as (_url, app, ids):
        yield app, ids


def _waiting(app: Any, count: int) -> None:
    """Until `count` other backends wait on a lock (bounded: a hang fails the test, nothing is timed)."""
    import time

    with app.app_context():
        for _ in range(600):
            waiting = db.session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                " AND application_name = current_setting('application_name')"))
            db.session.rollback()
            if waiting >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} requests never waited on a lock")


@requires_postgres("two connections racing for one key need PostgreSQL")
@pytest.mark.committed
def test_two_concurrent_requests_with_one_key_execute_once(race_world: Any) -> None:
    app, ids = race_world
    body = {"name": "Twice Sent Ltd", "mobile": "13722229999"}
    answers: dict[int, Any] = {}

    def send(n: int) -> None:
        with app.test_client() as client:
            resp = client.post(CUSTOMERS, json=body, headers={
                "Authorization": f"Bearer {ids['tokens'][n]}", "Idempotency-Key": "at-once"})
            answers[n] = (resp.status_code, resp.get_json(), resp.headers.get("Idempotency-Replayed"))

    with app.app_context():
        # Hold the store's row: the first request inserts its key, then waits to insert the customer.
        holder = db.engine.connect()
        holder_tx = holder.begin()
        holder.execute(text("SELECT id FROM org_unit WHERE id = :id FOR UPDATE"), {"id": ids["store_a"]})
        first = threading.Thread(target=send, args=(0,))
        first.start()
        _waiting(app, 1)
        second = threading.Thread(target=send, args=(1,))  # waits on the first one's key (the unique index)
        second.start()
        _waiting(app, 2)
        holder_tx.commit()
        holder.close()
        for thread in (first, second):
            thread.join(timeout=60)
            assert not thread.is_alive()
        assert answers[0][0] == answers[1][0] == 201, answers
        assert answers[0][1] == answers[1][1]
        assert sorted(str(a[2]) for a in answers.values()) == ["None", "true"]
        assert db.session.scalar(select(func.count()).select_from(Customer).where(
            Customer.mobile_norm == "13722229999")) == 1
        assert db.session.scalar(select(func.count()).select_from(IdempotencyKey).where(
            IdempotencyKey.user_id == ids["rep"])) == 1
        db.session.remove()
