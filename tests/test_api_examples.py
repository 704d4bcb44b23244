"""The examples of the OpenAPI document (issue 27): the main operations show a request and an answer, and
every example the document declares — of a body, an answer or a single property — is valid against the
schema it illustrates (a generated client or a reader copying it gets something the API accepts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import oas30_format_checker

MAIN = {  # operation -> (a request example expected, the answer's status)
    ("post", "/api/v1/customers"): (True, "201"),
    ("get", "/api/v1/customers"): (False, "200"),
    ("post", "/api/v1/quotes"): (True, "201"),
    ("post", "/api/v1/orders"): (True, "201"),
    ("post", "/api/v1/tasks/{task_id}/complete"): (True, "200"),
    ("post", "/api/v1/orders/{order_id}/collections"): (True, "201"),
}


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def _examples(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) of every example in the document."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            places = [("request", op.get("requestBody", {}).get("content", {}))]
            places += [(f"answer {code}", response.get("content", {})) for code, response in op["responses"].items()]
            for label, content in places:
                for media_type, media in content.items():
                    where = f"{method.upper()} {path} {label} {media_type}"
                    if "example" in media:
                        yield where, media["schema"], media["example"]
                    for name, example in media.get("examples", {}).items():
                        yield f"{where} {name}", media["schema"], example["value"]

    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
        if isinstance(node, dict):
            if "example" in node and ("type" in node or "enum" in node or "properties" in node):
                yield where, {k: v for k, v in node.items() if k != "example"}, node["example"]
            for key, value in node.items():
                yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}.{i}")

    yield from walk(doc["components"]["schemas"], "components.schemas")
    yield from walk(doc["paths"], "paths")


def test_the_main_operations_show_a_request_and_an_answer(spec: dict[str, Any]) -> None:
    for (method, path), (with_request, status) in MAIN.items():
        op = spec["paths"][path][method]
        if with_request:
            assert all("example" in media for media in op["requestBody"]["content"].values()), (method, path)
        assert "example" in op["responses"][status]["content"]["application/json"], (method, path)


def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    checked = 0
    invalid = []
    for where, schema, example in _examples(spec):
        if schema.get("format") == "binary":
            continue
        validator = OAS30Validator({**schema, "components": spec["components"]}, format_checker=oas30_format_checker)
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(example)]
        if errors:
            invalid.append(f"{where}: {errors[:3]}")
        checked += 1
    assert checked > 50
    assert not invalid, "\n".join(invalid)


def test_an_invalid_example_would_be_caught(spec: dict[str, Any]) -> None:
    """The check above can fail: an example with a wrong enum value and money as a number is refused."""
    op = spec["paths"]["/api/v1/quotes"]["post"]
    schema = op["responses"]["201"]["content"]["application/json"]["schema"]
    example = {**op["responses"]["201"]["content"]["application/json"]["example"], "status": "signed", "total": 950}
    validator = OAS30Validator({**schema, "components": spec["components"]}, format_checker=oas30_format_checker)
    assert {e.absolute_path[-1] for e in validator.iter_errors(example)} == {"status", "total"}
