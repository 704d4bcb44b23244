"""What the OpenAPI document says that no single route can: the links from an operation that creates an
object to the operations on that object (OpenAPI `links`, which clients and schemathesis' stateful tests
follow), derived from the document itself so that every new create route gets them without a line of its
own."""

from __future__ import annotations

import re
from typing import Any

_PARAM = re.compile(r"\{(\w+)\}")
_METHODS = ("get", "put", "patch", "post", "delete")


def _pointer(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    return response.get("content", {}).get("application/json", {}).get("schema", {}) or {}


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[1]
        return name, schemas.get(name, {})
    return None, schema


def _created(op: dict[str, Any], schemas: dict[str, Any]) -> tuple[str | None, dict[str, Any], str] | None:
    """(schema name, schema, JSON pointer of the new object's id in the body) of a 201 answer whose object
    has an `id`; a list of new objects (one per assignee) links through its first one."""
    response = op.get("responses", {}).get("201")
    if not isinstance(response, dict):
        return None
    name, schema = _resolve(_json_schema(response), schemas)
    pointer = "/id"
    if schema.get("type") == "array":
        name, schema = _resolve(schema.get("items", {}), schemas)
        pointer = "/0/id"
    if "id" not in schema.get("properties", {}):
        return None
    return name, schema, pointer


def _item_path(path: str, name: str | None, paths: dict[str, Any], schemas: dict[str, Any]) -> str | None:
    """The path of the created object: the one ending in a parameter whose GET answers the same schema
    (`/orders/{order_id}/collections` creates a Payment of `/payments/{payment_id}`), else the create
    path's own `/{…_id}` (`/customers` -> `/customers/{customer_id}`)."""
    candidates = [p for p in paths if re.search(r"/\{\w+\}$", p)]
    if name:
        for candidate in candidates:
            get = paths[candidate].get("get", {})
            answer = _json_schema(get.get("responses", {}).get("200", {}))
            if answer.get("$ref", "").rsplit("/", 1)[-1] == name:
                return candidate
    for candidate in candidates:
        if candidate.rsplit("/", 1)[0] == path:
            return candidate
    return None


def _link_name(item: str, target: str, method: str) -> str:
    rest = _PARAM.sub("", target[len(item):]).strip("/").replace("/", "_")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{method}_{rest}" if rest else method)


def add_links(doc: dict[str, Any]) -> None:
    """Every operation answering 201 with a new object links to the operations on that object — its own
    path and the paths under it (`/customers/{customer_id}/follow-ups`, `/orders/{order_id}/cancel`) —
    whose every path parameter the answer or the request can fill: the new object's `id` for the item's
    parameter, a property of the answer of the same name (`customer_id` of a new contact), or the same
    parameter of the create request's own path."""
    paths: dict[str, Any] = doc.get("paths", {})
    schemas = doc.get("components", {}).get("schemas", {})
    for path, ops in paths.items():
        for method, op in ops.items():
            created = _created(op, schemas) if method in _METHODS else None
            if created is None:
                continue
            name, schema, id_pointer = created
            item = _item_path(path, name, paths, schemas)
            if item is None:
                continue
            id_param = _PARAM.findall(item)[-1]
            own = set(_PARAM.findall(path))
            properties = schema.get("properties", {})
            links: dict[str, Any] = {}
            for target, target_ops in paths.items():
                if target != item and not target.startswith(item + "/"):
                    continue
                parameters: dict[str, str] = {}
                for param in _PARAM.findall(target):
                    if param == id_param:
                        parameters[param] = f"$response.body#{id_pointer}"
                    elif param in properties and id_pointer == "/id":
                        parameters[param] = f"$response.body#/{param}"
                    elif param in own:
                        parameters[param] = f"$request.path.{param}"
                    else:
                        break
                else:
                    for target_method in target_ops:
                        if target_method in _METHODS:
                            links[_link_name(item, target, target_method)] = {
                                "operationRef": _pointer(target, target_method), "parameters": parameters}
            if links:
                op["responses"]["201"]["links"] = links


def _request_schemas(doc: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(component schemas reached from request bodies, those reached from responses), nesting followed."""

    def walk(node: Any, into: set[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in into:
                    into.add(name)
                    walk(doc["components"]["schemas"].get(name), into)
            for value in node.values():
                walk(value, into)
        elif isinstance(node, list):
            for value in node:
                walk(value, into)

    requests: set[str] = set()
    responses: set[str] = set()
    for ops in doc.get("paths", {}).values():
        for method, op in ops.items():
            if method in _METHODS:
                walk(op.get("requestBody"), requests)
                walk(op.get("responses"), responses)
    return requests, responses


def describe_text_inputs(doc: dict[str, Any], pattern: str, required_pattern: str) -> None:
    """Text sent to the API may not hold control characters (`check_text` refuses them) and a required text
    is not blank: say so on every free-text property of the request bodies (those without an enum, a
    format or a pattern of their own). Schemas that answers use too are left alone."""
    requests, responses = _request_schemas(doc)

    def describe(schema: dict[str, Any]) -> None:
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            target = prop.get("items", {}) if prop.get("type") == "array" else prop
            if target.get("type") == "string" and not {"enum", "format", "pattern", "$ref"} & set(target):
                target["pattern"] = required_pattern if name in required and target is prop else pattern

    for name in requests - responses:
        describe(doc["components"]["schemas"][name])
    for ops in doc.get("paths", {}).values():
        for method, op in ops.items():
            if method in _METHODS:
                for media in op.get("requestBody", {}).get("content", {}).values():
                    if "$ref" not in media.get("schema", {}):
                        describe(media.get("schema", {}))


# Examples of operations whose route another context owns (a step of its process, say) --------------------
_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {}


def add_example(method: str, path: str, *, request: Any = None, response: Any = None, status: int = 200) -> None:
    """Document an example request body and answer of an operation from the context whose flow it is (the
    order's signing is the completion of its `op_sign` task, whose route the inbox owns). Routes of one's
    own take `example=` on `arguments` and `response` instead."""
    _EXAMPLES[(method.lower(), path)] = {"request": request, "response": response, "status": str(status)}


def add_examples(doc: dict[str, Any]) -> None:
    for (method, path), example in _EXAMPLES.items():
        op = doc.get("paths", {}).get(path, {}).get(method)
        if op is None:
            continue
        if example["request"] is not None:
            for media in op.get("requestBody", {}).get("content", {}).values():
                media["example"] = example["request"]
        answer = op.get("responses", {}).get(example["status"], {}).get("content", {}).get("application/json")
        if example["response"] is not None and answer is not None:
            answer["example"] = example["response"]
