"""One convention for the integrator (issue 27): the OpenAPI document types money and rates as they are served
(strings with a decimal pattern), every list answers `{items, next_cursor}` with `limit` and `cursor`,
PATCH changes only the fields sent (an empty body is a 422), one problem shape with one title per kind and
dotted field paths, `Allow` on a 405, one charset on CSV, references to another store refused, and every
built-in role may hold an API token."""

from __future__ import annotations

from typing import Any

import pytest

from crm.auth.defaults import DEFAULT_ROLES
from crm.extensions import db
from tests.conftest import assert_problem
from tests.sales.conftest import line
from tests.sales.conftest import quote

API = "/api/v1"


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    return client.get(f"{API}/openapi.json").get_json()


# The document -------------------------------------------------------------------------------------------------
def test_money_and_rates_are_documented_as_decimal_strings(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    total = schemas["Order"]["properties"]["total"]
    assert total["type"] == "string" and total["pattern"] == r"^-?\d+\.\d{2}$"
    assert schemas["Quote"]["properties"]["discount_rate"]["pattern"] == r"^-?\d+\.\d{6}$"
    assert schemas["Product"]["properties"]["list_price"]["type"] == "string"
    numbers = {(name, field) for name, schema in schemas.items()
               for field, prop in schema.get("properties", {}).items() if prop.get("type") == "number"}
    # Only durations in seconds (floats by nature) remain numbers.
    assert numbers and all(name == "ElementFigures" and field.endswith("seconds") for name, field in numbers), numbers


def test_every_list_answers_the_page_envelope(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        if not get:
            continue
        schema = get["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", path
        ref = schema.get("$ref", "")
        if ref and set(schemas[ref.rsplit("/", 1)[1]].get("properties", {})) == {"items", "next_cursor"}:
            assert {p["name"] for p in get.get("parameters", [])} >= {"limit", "cursor"}, path


def test_the_document_is_the_same_on_every_read(client: Any, spec: dict[str, Any]) -> None:
    assert client.get(f"{API}/openapi.json").get_json() == spec
    header = [p for p in spec["paths"][f"{API}/orders"]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert len(header) == 1


def test_a_patch_body_needs_a_field(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for path in (f"{API}/customers/{{customer_id}}", f"{API}/products/{{product_id}}",
                 f"{API}/product-categories/{{category_id}}", f"{API}/quotes/{{quote_id}}"):
        ref = spec["paths"][path]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        assert body["minProperties"] == 1, path
    assert "lines" not in schemas["QuotePatch"].get("required", [])


def test_the_document_states_what_the_writes_require(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    cancel = spec["paths"][f"{API}/orders/{{order_id}}/cancel"]["post"]["requestBody"]["content"]["application/json"]
    body = schemas[cancel["schema"]["$ref"].rsplit("/", 1)[1]]
    assert body["required"] == ["reason"] and body["properties"]["reason"]["minLength"] == 1
    create = schemas["CustomerCreate"]
    assert "name" in create["required"] and create["properties"]["name"]["minLength"] == 1
    assert "tmall" in create["properties"]["source_platform"]["enum"]
    query = {p["name"]: p for p in spec["paths"][f"{API}/customers"]["get"]["parameters"]}
    assert query["created_from"]["schema"]["format"] == "date"
    assert query["cursor"]["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"


# PATCH --------------------------------------------------------------------------------------------------------
def test_an_empty_patch_is_refused(call: Any, api_org: Any, products: dict[str, Any], customers: dict[str, Any]) -> None:
    admin = api_org.hq_admin
    category = call("POST", f"{API}/product-categories", admin, json={"name": "Pallets"}).get_json()
    for path, user in ((f"{API}/customers/{customers['a'].id}", api_org.a_rep1),
                       (f"{API}/products/{products['p100'].id}", admin),
                       (f"{API}/product-categories/{category['id']}", admin)):
        body = assert_problem(call("PATCH", path, user, json={}), 422)
        assert body["detail"] == "Send at least one field to change.", path
    # A field sent still changes it.
    resp = call("PATCH", f"{API}/customers/{customers['a'].id}", api_org.a_rep1, json={"company": "ACME"})
    assert resp.status_code == 200 and resp.get_json()["company"] == "ACME"


def test_a_quote_patch_changes_only_the_fields_sent(call: Any, api_org: Any, products: dict[str, Any],
                                                    customers: dict[str, Any]) -> None:
    draft = quote(api_org.a_rep1, customers["a"], line(products["p100"], "95.00", 3))
    resp = call("PATCH", f"{API}/quotes/{draft.id}", api_org.a_rep1,
                json={"note": "Delivery in March", "lock_version": draft.lock_version})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["note"] == "Delivery in March"
    assert [(ln["product_id"], ln["quantity"], ln["unit_price"]) for ln in body["lines"]] == [
        (products["p100"].id, 3, "95.00")]
    assert body["valid_until"] == draft.valid_until.isoformat()


# Errors -------------------------------------------------------------------------------------------------------
def test_one_title_per_kind_and_dotted_paths(call: Any, api_org: Any, products: dict[str, Any],
                                             customers: dict[str, Any]) -> None:
    rep = api_org.a_rep1
    by_schema = assert_problem(call("POST", f"{API}/customers", rep, json={}), 422, "name")
    by_rule = assert_problem(call("POST", f"{API}/customers", rep, json={"name": "X", "mobile": "123"}), 422, "mobile")
    assert by_schema["title"] == by_rule["title"] == "Some fields are invalid"
    nested = assert_problem(call("POST", f"{API}/quotes", rep, json={
        "customer_id": customers["a"].id, "lines": [{"product_id": products["p100"].id, "quantity": 1}]}),
        422, "lines.0.unit_price")
    assert nested["title"] == "Some fields are invalid" and set(nested["errors"]) == {"lines.0.unit_price"}


def test_a_405_says_which_methods_are_allowed(call: Any, api_org: Any) -> None:
    resp = call("DELETE", f"{API}/me", api_org.a_rep1)
    assert_problem(resp, 405)
    assert {m.strip() for m in resp.headers["Allow"].split(",")} >= {"GET"}


def test_csv_names_its_charset_once(call: Any, api_org: Any) -> None:
    resp = call("GET", f"{API}/payments/export?format=csv", api_org.hq_manager)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"


# Stores -------------------------------------------------------------------------------------------------------
def test_another_stores_id_is_refused_not_ignored(call: Any, api_org: Any) -> None:
    resp = call("POST", f"{API}/customers", api_org.a_rep1,
                json={"name": "Elsewhere Ltd", "mobile": "13700001111", "store_id": api_org.store_b.id})
    assert_problem(resp, 422, "store_id")
    own = call("POST", f"{API}/customers", api_org.a_rep1,
               json={"name": "Here Ltd", "mobile": "13700001112", "store_id": api_org.store_a.id})
    assert own.status_code == 201 and own.get_json()["store_id"] == api_org.store_a.id


# Lists --------------------------------------------------------------------------------------------------------
def test_short_lists_page_like_the_others(call: Any, api_org: Any, customers: dict[str, Any]) -> None:
    rep, customer = api_org.a_rep1, customers["a"]
    for name in ("Li Lei", "Han Meimei", "Wang Wu"):
        assert call("POST", f"{API}/customers/{customer.id}/contacts", rep, json={"name": name}).status_code == 201
    path = f"{API}/customers/{customer.id}/contacts"
    whole = call("GET", path, rep).get_json()
    assert [c["name"] for c in whole["items"]] == ["Li Lei", "Han Meimei", "Wang Wu"] and whole["next_cursor"] is None
    first = call("GET", f"{path}?limit=2", rep).get_json()
    assert [c["name"] for c in first["items"]] == ["Li Lei", "Han Meimei"] and first["next_cursor"]
    rest = call("GET", f"{path}?limit=2&cursor={first['next_cursor']}", rep).get_json()
    assert [c["name"] for c in rest["items"]] == ["Wang Wu"] and rest["next_cursor"] is None
    assert_problem(call("GET", f"{path}?cursor=bm9wZQ", rep), 422, "cursor")
    follow_ups = call("GET", f"{API}/customers/{customer.id}/follow-ups", rep).get_json()
    assert follow_ups == {"items": [], "next_cursor": None}


# Tokens and tasks -----------------------------------------------------------------------------------------------
def test_every_built_in_role_may_hold_a_token(call: Any, org: Any, staff: dict[str, Any]) -> None:
    assert all("api.use" in spec["permissions"] or spec["permissions"] == ["*"] for spec in DEFAULT_ROLES)
    for user in (org.a_rep1, org.a_sup, staff["warehouse"], staff["logistics"], staff["finance"]):
        resp = call("GET", f"{API}/me", user)
        assert resp.status_code == 200 and "api.use" in resp.get_json()["permissions"], user.name


def test_tasks_without_a_view_are_what_i_can_act_on(call: Any, review: Any, org: Any) -> None:
    from crm.workflow.tasks import services as tasks

    offered = review(order_no="SO-1", candidates=[org.a_rep1, org.a_rep2])
    mine = review(order_no="SO-2", candidates=[org.a_rep1])
    tasks.claim(mine.id, actor=org.a_rep1)
    review(order_no="SO-3", candidates=[org.a_rep2])  # not offered to a_rep1
    db.session.commit()
    resp = call("GET", f"{API}/tasks", org.a_rep1)
    assert resp.status_code == 200
    assert {t["id"] for t in resp.get_json()["items"]} == {offered.id, mine.id}
    assert [t["id"] for t in call("GET", f"{API}/tasks?view=mine", org.a_rep1).get_json()["items"]] == [mine.id]


def test_a_view_without_tasks_of_the_kind_asked_is_an_empty_page(call: Any, org: Any) -> None:
    # Work tasks are never claimable: the group view of work tasks lists none (it was a 500, found by schemathesis).
    resp = call("GET", f"{API}/tasks?view=group&kind=work", org.a_rep1)
    assert resp.status_code == 200 and resp.get_json() == {"items": [], "next_cursor": None}
