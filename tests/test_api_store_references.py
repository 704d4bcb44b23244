"""Every API write that takes the id of another object refuses one the caller cannot see (another store's
customer, user, quote, order, store …) with a 422 naming that field, and writes nothing (issue 27): it is
never silently replaced by something of the caller's, nor answered as a 404 of the URL's object."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from crm.customers.leads import services as lead_services
from crm.extensions import db
from crm.highseas import services as highseas_services
from crm.sales.opportunities import services as opportunity_services
from crm.work.tasks import services as work_services
from crm.workflow import runtime
from tests.conftest import assert_problem
from tests.factories import make_customer
from tests.sales.conftest import line
from tests.sales.conftest import open_task
from tests.sales.conftest import order_from_quote
from tests.sales.conftest import submitted

API = "/api/v1"


@pytest.fixture
def world(api_org: Any, products: Any, customers: Any, quote_process: Any, staff: Any) -> dict[str, Any]:
    """Store A's objects the requests are about, and store B's objects whose ids they send."""
    org = api_org
    pipelines = {store: opportunity_services.save_pipeline(None, {
        "store_id": org.units[store].id, "name": f"Pipeline {store}", "stages": [{"name": "Lead", "win_rate": "10"}]},
        actor=org.hq_admin) for store in ("store_a", "store_b")}
    db.session.flush()
    opportunity_b = opportunity_services.create_opportunity({
        "customer_id": customers["b"].id, "pipeline_id": pipelines["store_b"].id, "name": "B deal"}, actor=org.b_rep)
    quote_a = submitted(org.a_rep1, customers["a"], line(products["p100"], "100.00", 2))
    quote_b = submitted(org.b_rep, customers["b"], line(products["p100"], "100.00", 2))
    order_a = order_from_quote(org, quote_a)
    runtime.complete_task(open_task(order_a, "op_sign").id, {}, actor_id=org.a_rep1.id)  # signed: after-sales
    pool_a = make_customer(org.a_rep1, name="In A's high seas")
    highseas_services.move_to_pool([pool_a], "test", actor=org.a_manager)
    order_b = order_services_order(org, quote_b)
    task_a = work_services.create_tasks({"title": "A's own"}, actor=org.a_rep1)[0]
    tag_b = work_services.create_tag({"name": "B tag", "store_id": org.store_b.id}, actor=org.hq_admin)
    opportunity_a = opportunity_services.create_opportunity({
        "customer_id": customers["a"].id, "pipeline_id": pipelines["store_a"].id, "name": "A deal"}, actor=org.a_rep1)
    pool_b = make_customer(org.b_rep, name="In B's high seas")
    highseas_services.move_to_pool([pool_b], "test", actor=org.b_manager)
    rule_a = lead_services.save_rule(org.store_a.id, {"name": "A rule", "member_ids": [org.a_rep1.id]},
                                     actor=org.hq_admin)
    db.session.commit()
    return {"org": org, "customers": customers, "products": products, "pipeline_a": pipelines["store_a"],
            "opportunity_b": opportunity_b, "quote_a": quote_a, "quote_b": quote_b, "order_a": order_a,
            "order_b": order_b, "task_a": task_a, "pool_a": pool_a, "tag_b": tag_b,
            "opportunity_a": opportunity_a, "pipeline_b": pipelines["store_b"], "pool_b": pool_b, "rule_a": rule_a,
            "finance": staff["finance"]}


def order_services_order(org: Any, quote: Any) -> Any:
    from crm.sales.orders import services as order_services

    order = order_services.create_from_quote(quote.id, {"payment_mode": "prepay", "terminal": "pc",
                                                        "ship_address": "x"}, actor=org.b_rep)
    db.session.commit()
    assert open_task(order, "op_sign")
    return order


# (who, method, path, body, the field named) — `w` is the world above; ids of store B's objects.
Case = tuple[str, str, Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], dict[str, Any]], str]
CASES: dict[str, Case] = {
    "customer store_id": ("a_rep1", "POST", lambda w: "/customers",
                          lambda w: {"name": "X", "mobile": "13700001111", "store_id": w["org"].store_b.id}, "store_id"),
    "customer owner_id": ("a_manager", "POST", lambda w: "/customers",
                          lambda w: {"name": "X", "mobile": "13700001112", "owner_id": w["org"].b_rep.id}, "owner_id"),
    "customer transfer to_user_id": ("a_manager", "POST", lambda w: f"/customers/{w['customers']['a'].id}/transfer",
                                     lambda w: {"to_user_id": w["org"].b_rep.id}, "to_user_id"),
    "customer team user_id": ("a_rep1", "POST", lambda w: f"/customers/{w['customers']['a'].id}/team",
                              lambda w: {"user_id": w["org"].b_rep.id}, "user_id"),
    "lead store_id": ("a_rep1", "POST", lambda w: "/leads",
                      lambda w: {"name": "X", "mobile": "13700001113", "store_id": w["org"].store_b.id}, "store_id"),
    "lead rule member_ids": ("a_manager", "POST", lambda w: "/leads/rules",
                             lambda w: {"name": "R", "member_ids": [w["org"].b_rep.id]}, "member_ids"),
    "quote customer_id": ("a_rep1", "POST", lambda w: "/quotes",
                          lambda w: {"customer_id": w["customers"]["b"].id,
                                     "lines": [{"product_id": w["products"]["p100"].id, "quantity": 1,
                                                "unit_price": "100.00"}]}, "customer_id"),
    "quote opportunity_id": ("a_rep1", "POST", lambda w: "/quotes",
                             lambda w: {"opportunity_id": w["opportunity_b"].id,
                                        "lines": [{"product_id": w["products"]["p100"].id, "quantity": 1,
                                                   "unit_price": "100.00"}]}, "opportunity_id"),
    "opportunity customer_id": ("a_rep1", "POST", lambda w: "/opportunities",
                                lambda w: {"customer_id": w["customers"]["b"].id, "pipeline_id": w["pipeline_a"].id,
                                           "name": "X"}, "customer_id"),
    "order quote_id": ("a_rep1", "POST", lambda w: "/orders",
                       lambda w: {"quote_id": w["quote_b"].id, "payment_mode": "prepay"}, "quote_id"),
    "order customer_id": ("a_rep1", "POST", lambda w: "/orders",
                          lambda w: {"customer_id": w["customers"]["b"].id, "payment_mode": "prepay",
                                     "lines": [{"product_id": w["products"]["p100"].id, "quantity": 1,
                                                "unit_price": "100.00"}]}, "customer_id"),
    "high-seas assign owner_id": ("a_manager", "POST", lambda w: "/high-seas/assign",
                                  lambda w: {"customer_ids": [w["pool_a"].id], "owner_id": w["org"].b_rep.id},
                                  "owner_id"),
    "work task assignee_ids": ("a_manager", "POST", lambda w: "/work/tasks",
                               lambda w: {"title": "T", "assignee_ids": [w["org"].b_rep.id]}, "assignee_ids"),
    "work task participant_ids": ("a_rep1", "POST", lambda w: "/work/tasks",
                                  lambda w: {"title": "T", "participant_ids": [w["org"].b_rep.id]}, "participant_ids"),
    "work task object_id": ("a_rep1", "POST", lambda w: "/work/tasks",
                            lambda w: {"title": "T", "object_type": "customer", "object_id": w["customers"]["b"].id},
                            "object_id"),
    "work task edit participant_ids": ("a_rep1", "PATCH", lambda w: f"/work/tasks/{w['task_a'].id}",
                                       lambda w: {"participant_ids": [w["org"].b_rep.id]}, "participant_ids"),
    "work comment mention_ids": ("a_rep1", "POST", lambda w: f"/work/tasks/{w['task_a'].id}/comments",
                                 lambda w: {"body": "hi", "mention_ids": [w["org"].b_rep.id]}, "mention_ids"),
    "work report recipient_ids": ("a_rep1", "POST", lambda w: "/work/reports",
                                  lambda w: {"kind": "daily", "done": "x", "recipient_ids": [w["org"].b_rep.id]},
                                  "recipient_ids"),
    "after-sales order_line_id": ("a_rep1", "POST", lambda w: f"/orders/{w['order_a'].id}/after-sales",
                                  lambda w: {"type": "exchange", "reason": "broken", "lines": [
                                      {"order_line_id": w["order_b"].lines[0].id, "quantity": 1}]},
                                  "lines.0.order_line_id"),
    "enquiry figures store_id": ("a_manager", "POST", lambda w: "/enquiries/platform",
                                 lambda w: {"rows": [{"store_id": w["org"].store_b.id, "day": "2026-12-01",
                                                     "enquiries": 1, "new_enquiries": 1}]}, "rows.0.store_id"),
    "enquiry figures user_id": ("a_rep1", "POST", lambda w: "/enquiries/salespeople",
                                lambda w: {"rows": [{"user_id": w["org"].b_rep.id, "day": "2026-12-01",
                                                     "wechat_adds": 1, "contacts": 1}]}, "rows.0.user_id"),
    "announcement unit_id": ("a_manager", "POST", lambda w: "/announcements/publish",
                             lambda w: {"title": "T", "body": "B", "audience": "unit", "unit_id": w["org"].store_b.id},
                             "unit_id"),
    "announcement user_ids": ("a_manager", "POST", lambda w: "/announcements/publish",
                              lambda w: {"title": "T", "body": "B", "audience": "users",
                                         "user_ids": [w["org"].b_rep.id]}, "user_ids"),
    "opportunity pipeline_id": ("a_rep1", "POST", lambda w: "/opportunities",
                                lambda w: {"customer_id": w["customers"]["a"].id, "pipeline_id": w["pipeline_b"].id,
                                           "name": "X"}, "pipeline_id"),
    "opportunity move stage_id": ("a_rep1", "POST", lambda w: f"/opportunities/{w['opportunity_a'].id}/move",
                                  lambda w: {"stage_id": w["pipeline_b"].stages[0].id}, "stage_id"),
    "high-seas assign customer_ids": ("a_manager", "POST", lambda w: "/high-seas/assign",
                                      lambda w: {"customer_ids": [w["pool_b"].id], "owner_id": w["org"].a_rep1.id},
                                      "customer_ids"),
    "lead rule edit member_ids": ("a_manager", "PATCH", lambda w: f"/leads/rules/{w['rule_a'].id}",
                                  lambda w: {"member_ids": [w["org"].b_rep.id]}, "member_ids"),
    "work task tag_ids": ("a_rep1", "POST", lambda w: "/work/tasks",
                          lambda w: {"title": "T", "tag_ids": [w["tag_b"].id]}, "tag_ids"),
    "customer import store_id": ("a_manager", "POST", lambda w: "/customers/imports",
                                 lambda w: {"store_id": str(w["org"].store_b.id), "file": _csv()}, "store_id"),
    "settlement lines order_id": ("finance", "POST", lambda w: "/settlements",
                                  lambda w: {"payer": "Tmall", "reference": "T-1", "amount": "10.00",
                                             "lines": json.dumps([{"order_id": w["order_b"].id, "amount": "10.00"}]),
                                             "vouchers": _picture()}, "lines.0.order_id"),
}


def _csv() -> tuple[io.BytesIO, str]:
    return io.BytesIO(b"name,mobile\nX,13700001119\n"), "customers.csv"


def _picture() -> tuple[io.BytesIO, str]:
    from crm.finance.demo import VOUCHER

    return io.BytesIO(VOUCHER), "voucher.png"


def _rows() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.mark.parametrize("name", list(CASES))
def test_an_id_of_another_stores_object_is_a_field_error(name: str, call: Any, token: Any,
                                                         world: dict[str, Any]) -> None:
    who, method, path, body, field = CASES[name]
    token(world[who] if who in world else getattr(world["org"], who))  # the caller's token exists before the count
    db.session.commit()
    before = _rows()
    user = world[who] if who in world else getattr(world["org"], who)
    sent = body(world)
    if any(isinstance(value, tuple) for value in sent.values()):  # files: a multipart request
        resp = call(method, API + path(world), user, data=sent, content_type="multipart/form-data")
    else:
        resp = call(method, API + path(world), user, json=sent)
    problem = assert_problem(resp, 422, field)
    assert problem["title"] == "Some fields are invalid"
    db.session.rollback()
    assert _rows() == before
