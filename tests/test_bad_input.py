"""Bad input never answers 500 (DESIGN §11): unknown and absurd ids, and every route of the app fed with
hostile form fields, query arguments and JSON bodies.

Like the isolation crawler, the routes come from `app.url_map`, so new routes are covered without
editing this file. The actor is the super admin (they reach every view past its permission and scope
checks, into the form handling). Form field names are read from the route's own GET page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from crm.auth.services import create_token
from crm.auth.services import save_role
from crm.core import saved_views
from crm.customers import imports as customer_imports
from crm.customers import services as customer_services
from crm.customers.leads import services as customer_leads
from crm.customers.services import follow_ups as customer_follow_ups
from crm.extensions import db
from crm.sales.catalog import services as sales_services
from crm.workflow.tasks import files as task_files
from crm.workflow.tasks import filters as task_filters
from crm.workflow.tasks import services as task_services
from tests.conftest import RequestIsolatedClient
from tests.conftest import csrf
from tests.conftest import deploy_inbox_process
from tests.conftest import start_review
from tests.factories import Org

# Hostile values for any field; each variant fills every field of a form at once.
HOSTILE: list[Any] = [
    "",
    "abc",
    "99999999999999999999",
    "x" * 5000,
    "a\x00b",
    "１２３💥",
    "-1 %(name)s {0} %s <script>",
    ["1", "2"],
]
HOSTILE_JSON: list[Any] = [None, True, -1, 10**20, 1.5, "", "x" * 5000, "a\x00b", [1, "a"], {"a": {"b": None}}]
HOSTILE_QUERY: list[Any] = ["", "abc", "-1", "99999999999999999999", "a\x00b", "x" * 3000]
COMMON_FIELDS = ["name", "mobile", "email", "kind", "parent_id", "org_unit_id", "supervisor_id", "head_id",
                 "transfer_to_id", "role_ids", "password", "current_password", "new_password", "confirm_password",
                 "data_scope", "permissions", "key", "description", "code", "platform", "shop_name", "position",
                 "gender", "lang", "next", "store_id", "identifier", "cursor", "limit", "q", "active", "reason", "token",
                 "confirm", "task_id", "xml", "comment", "status", "started_by_id", "started_from", "has_error",
                 "chat_id", "level", "intention", "tags", "content", "next_contact_at", "to_user_id", "access",
                 "expires_at", "source_id", "lock_version", "on_duplicate", "map_name", "ids", "action",
                 "format", "locked", "owner_id", "user_id", "what", "priority", "daily_capacity",
                 "provinces", "platforms", "member_ids", "website", "message", "customer_ids", "role",
                 "follow_up_days", "deal_days", "remind_days", "return_visit_days", "cooldown_days",
                 "daily_claim_quota", "max_owned", "max_locked", "level_days_a"]
COMMON_QUERY = ["cursor", "limit", "q", "unit_id", "org_unit_id", "parent_id", "kind", "active", "role_id",
                "store_id", "supervisor_id", "page", "sort", "order", "status", "started_by_id",
                "started_from", "started_to", "has_error", "process", "a", "b", "owner", "level", "no_follow_days",
                "created_from", "follow_to", "dir", "cols", "view_id", "format", "ids", "tag", "bucket", "audit"]
def _claim(org: Any, customer_services: Any) -> Any:
    """A high-seas claim application of store A (a pool customer, the row written directly)."""
    from crm.highseas.models import HighSeasClaim

    pooled = customer_services.create_customer({"name": "Fuzz pool", "mobile": "13512340009", "owner_id": "pool"},
                                               actor=org.a_manager)
    row = HighSeasClaim(store_id=org.store_a.id, customer_id=pooled.id, applicant_id=org.a_rep1.id, reason="fuzz")
    db.session.add(row)
    db.session.flush()
    return row


NOT_FUZZED = {"static", "auth.logout", "api-docs.openapi_json", "api-docs.openapi_swagger_ui",
              "api-docs.openapi_redoc", "api-docs.openapi_rapidoc"}
WRITES = ("POST", "PATCH", "PUT", "DELETE")


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


@pytest.fixture
def admin(app: Flask, org: Org, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The super admin signed in (page client + bearer token), and real ids for every kind of URL variable."""
    custom = save_role(None, {"key": "fuzz", "name": "Fuzz", "data_scope": "self", "permissions": []}, actor=org.hq_admin)
    token, _plain = create_token(org.hq_admin, "to revoke")
    _row, bearer = create_token(org.hq_admin, "fuzzer")
    # A task the super admin may work on (a candidate), with a comment, a file and a saved filter.
    monkeypatch.setitem(app.config, "TASK_ATTACHMENT_DIR", str(tmp_path / "uploads"))
    deploy_inbox_process()
    task = start_review(org.store_a, candidates=[org.hq_admin])
    comment = task_services.add_comment(task.id, "A comment", actor=org.hq_admin)
    attachment = task_files.add_attachment(task.id, "note.txt", io.BytesIO(b"hello"), actor=org.hq_admin)
    saved = task_filters.save_filter("Mine", "view=mine", actor=org.hq_admin)
    category = sales_services.create_category({"name": "Pallets"}, actor=org.hq_admin)
    product = sales_services.create_product({"sku": "PL-1", "name": "Pallet", "list_price": "80",
                                             "category_id": category.id}, actor=org.hq_admin)
    customer = customer_services.create_customer({"name": "Fuzz customer", "mobile": "13512340000"},
                                                 actor=org.a_manager)
    contact = customer_services.add_contact(customer, {"name": "Fuzz contact"}, actor=org.a_manager)
    follow_up = customer_follow_ups.record_follow_up(customer, {"kind": "phone", "content": "Fuzz"}, actor=org.a_manager,
                                                     files=[("f.txt", io.BytesIO(b"x"))])
    view = saved_views.save_view("customers", "Fuzz view", "q=x", [], actor=org.hq_admin)
    job = customer_imports.upload("f.csv", io.BytesIO(b"name,mobile\nA,13512340001\n"), actor=org.hq_admin,
                                  store_id=org.store_a.id)
    lead = customer_leads.create_lead({"name": "Fuzz lead", "mobile": "13512340002"}, actor=org.a_manager)
    web_form = customer_leads.create_web_form(org.store_a.id, "Fuzz form", actor=org.a_manager)
    lead_rule = customer_leads.save_rule(org.store_a.id, {"name": "Fuzz rule", "member_ids": [str(org.a_rep1.id)]},
                                         actor=org.a_manager)
    from crm.sales.quotes import services as quote_services

    quote = quote_services.create_quote({"customer_id": customer.id, "lines": [
        {"product_id": product.id, "quantity": 2, "unit_price": "70"}]}, actor=org.a_manager)
    from crm.sales.opportunities import services as opportunity_services

    pipeline = opportunity_services.save_pipeline(None, {"name": "Fuzz", "store_id": org.store_a.id, "stages": [
        {"name": "One", "win_rate": "10"}, {"name": "Two", "win_rate": "50"}]}, actor=org.hq_admin)
    opportunity = opportunity_services.create_opportunity({"customer_id": customer.id, "pipeline_id": pipeline.id,
                                                           "name": "Fuzz deal"}, actor=org.a_manager)
    ids = {"quote_id": quote.id, "pipeline_id": pipeline.id, "opportunity_id": opportunity.id, "lead_id": lead.id, "rule_id": lead_rule.id, "token": web_form.token, "customer_id": customer.id, "contact_id": contact.id, "follow_up_id": follow_up.id, "index": "0",
           "view_id": view.id, "job_id": job.id,
           "user_id": org.a_rep2.id, "unit_id": org.a_sales_sub.id, "role_id": custom.id, "token_id": token.id,
           "filename": "crm.css", "lang": "en", "task_id": task.id, "comment_id": comment.id,
           "attachment_id": attachment.id, "filter_id": saved.id, "product_id": product.id, "category_id": category.id,
           "image_id": sales_services.add_image(product, "p.png", io.BytesIO(PNG_BYTES), actor=org.hq_admin).id,
           "instance_id": task.instance_id, "key": "wf_inbox", "version": 1, "store_id": org.store_a.id,
           "claim_id": _claim(org, customer_services).id}
    db.session.commit()
    app.test_client_class = RequestIsolatedClient
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = org.hq_admin.get_id()
        sess["_fresh"] = True
    return {"client": client, "csrf": csrf(client, "/"), "bearer": bearer, "ids": ids, "org": org}


def rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in NOT_FUZZED), key=lambda r: r.rule)


def url(rule: Rule, ids: dict[str, Any]) -> str | None:
    if any(name not in ids for name in rule.arguments):
        return None  # an unclassified variable: the isolation crawler fails on it
    built = rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)
    return built[1] if built else None


def form_fields(client: FlaskClient, path: str) -> list[str]:
    page = client.get(path).get_data(as_text=True)
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page))
    return sorted(names - {"csrf_token"})


def assert_no_server_errors(failures: list[str]) -> None:
    assert failures == [], f"{len(failures)} requests answered 5xx:\n" + "\n".join(failures[:40])


# Specific ids ---------------------------------------------------------------------------------------------
PAGE_IDS = [
    "/admin/users/999999", "/admin/users/99999999999999", "/admin/users/0", "/admin/users/abc",
    "/admin/users/-1", "/admin/users/1.5", "/admin/units/99999999999999999999999", "/admin/users/%00",
    "/admin/roles/999999/edit", "/admin/roles/99999999999999/edit", "/account/tokens/99999999999999/revoke",
    "/tasks/999999", "/tasks/99999999999999", "/tasks/0", "/tasks/abc", "/tasks/filters/99999999999999",
    "/tasks/1/attachments/99999999999999",
    "/processes/999999", "/processes/99999999999999", "/processes/definitions/nope",
    "/processes/definitions/wf_inbox/99999999999999", "/processes/999999/migrate",
    "/quotes/99999999999999", "/quotes/0/pdf", "/quotes/999999/edit",
    "/orders/99999999999999", "/orders/0", "/orders/999999/diagram", "/quotes/99999999999999/order",
]
API_IDS = [
    "/api/v1/users/abc", "/api/v1/users/999999", "/api/v1/users/99999999999999", "/api/v1/users/0",
    "/api/v1/org-units/99999999999999999999", "/api/v1/roles/999999", "/api/v1/roles/99999999999999",
    "/api/v1/no-such-thing", "/api/v1/quotes/99999999999999", "/api/v1/quotes/0/pdf",
    "/api/v1/orders/99999999999999", "/api/v1/orders/0/tasks",
]


def test_unknown_page_ids_answer_404(admin: dict[str, Any], subtests: Any) -> None:
    client = admin["client"]
    for path in PAGE_IDS:
        with subtests.test(path=path):
            method = "POST" if path.endswith("/revoke") else "GET"
            resp = client.open(path, method=method, data={"csrf_token": admin["csrf"]} if method == "POST" else None)
            assert resp.status_code == 404
            assert "Not found" in resp.get_data(as_text=True)


def test_unknown_api_ids_answer_404(app: Flask, admin: dict[str, Any], subtests: Any) -> None:
    for path in API_IDS:
        with subtests.test(path=path):
            resp = app.test_client().get(path, headers={"Authorization": f"Bearer {admin['bearer']}"})
            assert resp.status_code == 404
            assert resp.mimetype == "application/problem+json"
            assert resp.get_json()["status"] == 404


# Every route, hostile input -------------------------------------------------------------------------------
def test_pages_survive_hostile_forms_and_queries(app: Flask, admin: dict[str, Any]) -> None:
    client, failures = admin["client"], []
    for rule in rules(app):
        if rule.rule.startswith("/api/"):
            continue
        path = url(rule, admin["ids"])
        if path is None:
            continue
        if "GET" in (rule.methods or set()):
            for value in HOSTILE_QUERY:  # every argument at once
                resp = client.get(path, query_string={name: value for name in COMMON_QUERY})
                if resp.status_code >= 500:
                    failures.append(f"GET {path}?...={value[:20]!r}: {resp.status_code}")
        writes = [m for m in WRITES if m in (rule.methods or set())]
        if not writes:
            continue
        names = sorted(set(form_fields(client, path) if "GET" in (rule.methods or set()) else []) | set(COMMON_FIELDS))
        for method in writes:
            for value in HOSTILE:
                data: dict[str, Any] = {name: value for name in names}
                data["csrf_token"] = admin["csrf"]
                resp = client.open(path, method=method, data=data)
                if resp.status_code >= 500:
                    failures.append(f"{method} {path} with every field = {str(value)[:20]!r}: {resp.status_code}")
    assert_no_server_errors(failures)


def test_api_survives_hostile_bodies_and_queries(app: Flask, admin: dict[str, Any]) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {admin['bearer']}"}
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    failures = []

    def properties(schema: dict[str, Any]) -> list[str]:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return sorted(schema.get("properties", {}))

    for rule in rules(app):
        if not rule.rule.startswith("/api/"):
            continue
        path = url(rule, admin["ids"])
        if path is None:
            continue
        spec_path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = spec.get("paths", {}).get(spec_path, {}).get(method.lower(), {})
            if method == "GET":
                names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
                for value in HOSTILE_QUERY:  # every argument at once, then cursor and limit alone
                    for query in ({name: value for name in names | {"cursor", "limit"}}, {"cursor": value},
                                  {"limit": value}):
                        resp = client.get(path, headers=auth, query_string=query)
                        if resp.status_code >= 500:
                            failures.append(f"GET {path}?{query}: {resp.status_code}"[:200])
                continue
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            names = properties(schema) if schema else []
            bodies: list[Any] = [None, [], "text", 5, {}, {"unknown_field": 1}]
            bodies += [{name: value for name in names} for value in HOSTILE_JSON]
            bodies += [{name: value} for name in names for value in (None, 10**20, "a\x00b", {})]
            for body in bodies:
                resp = client.open(path, method=method, headers=auth, json=body)
                if resp.status_code >= 500:
                    failures.append(f"{method} {path} json={str(body)[:60]}: {resp.status_code}")
            for raw, ctype in (("{not json", "application/json"), ("a=1", "application/x-www-form-urlencoded"),
                               ("\xff\xfe", "application/json")):
                resp = client.open(path, method=method, headers=auth, data=raw, content_type=ctype)
                if resp.status_code >= 500:
                    failures.append(f"{method} {path} body={raw!r} ({ctype}): {resp.status_code}")
    assert_no_server_errors(failures)


def test_hostile_headers(app: Flask, admin: dict[str, Any]) -> None:
    client = app.test_client()
    for headers in (
        {"Authorization": "Bearer"}, {"Authorization": "Bearer crm_" + "x" * 5000}, {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "bearer " + admin["bearer"].upper()}, {"Accept-Language": "xx;q=abc,,,;"},
        {"Accept": "application/json;q=nan"},
    ):
        resp = client.get("/api/v1/me", headers=headers)
        assert resp.status_code in (200, 401), headers
    page = admin["client"].get("/", headers={"Accept-Language": "zz-ZZ;q=2, *;q=-1"})
    assert page.status_code == 200


def test_bad_login_input(client: FlaskClient, org: Org) -> None:
    db.session.commit()
    token = csrf(client)
    for identifier, password in [("\x00", "\x00"), ("x" * 5000, "y" * 5000), ("' OR 1=1 --", ""), ("", "")]:
        resp = client.post("/login", data={"identifier": identifier, "password": password, "csrf_token": token})
        assert resp.status_code in (401, 422), (identifier[:10], resp.status_code)
