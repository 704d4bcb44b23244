"""The OpenAPI document and Swagger UI."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from crm.auth import rest as common


@pytest.fixture
def spec(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def _api_routes(app):
    """(OpenAPI path, method) of every route of the API blueprints."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(common.API_PREFIX) or rule.endpoint.startswith("api-docs."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API token"}
    assert spec["security"] == [{"bearerAuth": []}]


def test_every_route_is_documented(app, spec):
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    routes = _api_routes(app)
    assert documented == routes
    assert len(routes) == 192
    assert {path for path, _ in routes} >= {
        "/api/v1/me", "/api/v1/org-units/{unit_id}", "/api/v1/users/{user_id}/disable", "/api/v1/roles/{role_id}",
        "/api/v1/tokens/{token_id}", "/api/v1/tasks/{task_id}/complete", "/api/v1/process-instances/{instance_id}/retry",
        "/api/v1/tasks/{task_id}/attachments/{attachment_id}", "/api/v1/customers/{customer_id}/follow-ups",
    }


def test_every_operation_documents_its_schemas_and_problems(spec):
    refs = spec["components"]["responses"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            responses = op["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, where
            content = responses.get("200", {}).get("content", {})
            files = ("application/octet-stream", "application/pdf",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            if any(kind in content for kind in files):  # a file download
                assert "application/json" not in content, where
            elif success != ["204"]:
                assert "$ref" in str(responses[success[0]]["content"]["application/json"]["schema"]), where
            assert responses["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}, where
            if "{" in path:
                assert "404" in responses, where
            if method in ("post", "patch") and "requestBody" in op:  # a body to refuse field by field
                assert "422" in responses, where
            if path not in ("/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{token_id}"):
                assert "403" in responses and op.get("x-permissions"), where
    for name in ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "UNPROCESSABLE_ENTITY", "CONFLICT", "DEFAULT_ERROR"):
        assert refs[name]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert set(spec["components"]["schemas"]["Problem"]["properties"]) == {"type", "title", "status", "detail", "errors"}


def test_path_variables_carry_the_isolation_names(spec):
    names = {p["name"] for ops in spec["paths"].values() for p in ops.get("parameters", []) if p["in"] == "path"}
    assert names == {"unit_id", "user_id", "role_id", "token_id", "task_id", "attachment_id", "product_id", "category_id",
                     "image_id", "request_id", "chain_id", "announcement_id", "notification_id", "instance_id", "key",
                     "customer_id", "contact_id", "job_id", "lead_id", "quote_id", "opportunity_id", "store_id",
                     "claim_id", "order_id", "rule_id", "payment_id", "voucher_id", "screenshot_id", "version",
                     "invoice_id", "make_up_id", "settlement_id", "work_task_id", "subtask_id",
                     "work_attachment_id", "case_id", "work_report_id", "endpoint_id", "delivery_id"}


def test_list_operations_share_the_page_envelope(spec):
    schemas = spec["components"]["schemas"]
    for path in ("/api/v1/org-units", "/api/v1/users", "/api/v1/roles", "/api/v1/tokens", "/api/v1/tasks",
                 "/api/v1/process-instances"):
        op = spec["paths"][path]["get"]
        assert {p["name"] for p in op["parameters"]} >= {"limit", "cursor"}
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schemas[ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"items", "next_cursor"}


def test_secrets_are_not_in_the_schemas(spec):
    text = str(spec["components"]["schemas"])
    assert "password_hash" not in text and "token_hash" not in text and "security_stamp" not in text
    user_create = spec["components"]["schemas"]["UserCreate"]
    assert "password" in user_create["properties"] and "password" not in spec["components"]["schemas"]["User"]["properties"]


@pytest.mark.parametrize("path", ["/api/v1/tasks/{task_id}/attachments", "/api/v1/customers/imports"])
def test_uploads_are_documented_as_one_multipart_body(spec, path):
    op = spec["paths"][path]["post"]
    body = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "parameters" not in op or all(p["in"] == "path" for p in op["parameters"])
    assert body  # a $ref to the upload schema with `file` (binary) and its plain fields


def test_swagger_ui(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "/api/v1/openapi.json" in page and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        static = client.get(f"/static/vendor/swagger-ui/{asset}")
        assert static.status_code == 200
        static.close()


def test_documents_need_no_token(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
