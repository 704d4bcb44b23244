"""What every resource of the REST API shares: the blueprint class (permission checks, documented problem
responses), token-only authentication, the webargs parser that answers in the request's language, and
the pagination arguments.

Errors leave the API as RFC 9457 problem details (`crm.core.web.problem`): `DomainError`s raised by the
services and `HTTPException`s (webargs' 422 included, with its messages flattened to field -> messages)
are turned into them by the application's error handlers."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import inspect
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from functools import wraps
from http import HTTPStatus
from typing import Any
from typing import NoReturn

import marshmallow as ma
from flask import Flask
from flask import current_app
from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Api
from flask_smorest import Blueprint
from marshmallow import fields
from marshmallow import validate
from webargs.flaskparser import FlaskParser
from webargs.flaskparser import abort
from werkzeug.datastructures import CombinedMultiDict

from crm.auth import apidoc
from crm.auth import idempotency
from crm.auth.scopes import get_visible
from crm.auth.scopes import request_store_filter
from crm.core.errors import DomainError
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page
from crm.core.validation import REQUIRED_TEXT_PATTERN
from crm.core.validation import TEXT_PATTERN
from crm.core.web import keeps_changes_despite_error

API_PREFIX = "/api/v1"
PROBLEM_CONTENT_TYPE = "application/problem+json"


# Problem details ---------------------------------------------------------------------------------------
class ProblemSchema(ma.Schema):
    """An RFC 9457 problem-details document (documentation only; `crm.core.web.problem` writes it)."""

    type = fields.Str(metadata={"description": "Always about:blank.", "example": "about:blank"})
    title = fields.Str(metadata={"description": "A short summary in the request's language."})
    status = fields.Int(metadata={"description": "The HTTP status code."})
    detail = fields.Str(metadata={"description": "What went wrong, in the request's language."})
    errors = fields.Dict(
        keys=fields.Str(),
        values=fields.List(fields.Str()),
        metadata={"description": "Field name -> messages, for invalid input.", "example": {"mobile": ["…"]}},
    )


def document_problem_responses(api: Api) -> None:
    """Make flask-smorest's shared error responses (one per status code, and DEFAULT_ERROR) describe
    problem details served as application/problem+json. Must run before blueprints are registered:
    operations resolve these references when they are added to the spec."""
    spec = api.spec
    assert spec is not None
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    spec.components.schema("Problem", schema=ProblemSchema)
    # flask-smorest registered its own error schema at init; nothing refers to it any more.
    spec.components.schemas.pop("Error", None)
    content = {PROBLEM_CONTENT_TYPE: {"schema": "Problem"}}
    for status in HTTPStatus:
        if status >= 400:
            spec.components.response(status.name, {"description": status.phrase, "content": content}, lazy=True)
    spec.components.response(
        api.DEFAULT_ERROR_RESPONSE_NAME, {"description": "Error (problem details)", "content": content}, lazy=True
    )


DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


def decimal_as_string(self: Any, field: ma.fields.Field, **kwargs: Any) -> dict[str, Any]:
    """Money and rates leave the API as strings ("72.00", "0.9000"): document them as strings with a
    decimal pattern (apispec would say `number`, and a client that validates would refuse the answer)."""
    if isinstance(field, fields.Decimal) and field.as_string:
        places = field.places
        if places is not None and not isinstance(places, int):  # marshmallow keeps the quantum, Decimal("0.01")
            places = -int(places.as_tuple().exponent)
        example = ("1280.00" if places == 2 else "0." + "9".ljust(places, "0")) if places else "1280.50"
        pattern = rf"^-?\d+\.\d{{{places}}}$" if places is not None else DECIMAL_PATTERN
        return {"type": "string", "pattern": pattern, "example": example}
    return {}


IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[!-~]([ -~]{0,198}[!-~])?$",
               "example": "9b2f6a7e-collection-42-1"},
    "description": "Makes the write safe to retry: the same key and request within 24 hours answer the first "
                   "result (with `Idempotency-Replayed: true`) without writing again; the same key with another "
                   "request answers 422.",
}


def finish_document(doc: dict[str, Any]) -> dict[str, Any]:
    """What the generated document cannot say by itself: a PATCH body changes at least one field
    (`minProperties: 1`; an empty body is a 422); idempotent writes take an `Idempotency-Key` header; a
    create answer links to the operations on what it created (`crm.auth.apidoc`)."""
    doc = copy.deepcopy(doc)  # apispec hands out its own dicts: never change them twice
    schemas = doc.get("components", {}).get("schemas", {})
    for ops in doc.get("paths", {}).values():
        for op in ops.values():
            if isinstance(op, dict) and op.get("x-idempotent"):
                op.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
        patch = ops.get("patch")
        if not patch or "requestBody" not in patch:
            continue
        body = patch["requestBody"]["content"].get("application/json", {}).get("schema", {})
        ref = body.get("$ref", "")
        target = schemas.get(ref.rsplit("/", 1)[1]) if ref else body
        if target is not None:
            target["minProperties"] = 1
    apidoc.add_links(doc)
    apidoc.add_examples(doc)
    apidoc.describe_text_inputs(doc, TEXT_PATTERN, REQUIRED_TEXT_PATTERN)
    return doc


# Marshmallow / webargs messages in the request's language ------------------------------------------------
_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field is required."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid list.": _l("Send a list of values."),
    "Unknown field.": _l("This field is not part of the request."),
    "Invalid input type.": _l("Send a JSON object."),
    "Invalid value.": _l("Choose a valid value."),
}


def translate_messages(messages: Any) -> Any:
    """marshmallow's built-in messages (English only) -> ours, translated; nesting is kept."""
    if isinstance(messages, dict):
        return {key: translate_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [translate_messages(m) for m in messages]
    if isinstance(messages, str) and messages in _MESSAGES:
        return str(_MESSAGES[messages])
    return str(messages)


class ApiParser(FlaskParser):
    def handle_error(  # type: ignore[override]
        self,
        error: ma.ValidationError,
        req: Any,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        abort(
            error_status_code or self.DEFAULT_VALIDATION_STATUS,
            exc=error,
            messages=translate_messages(error.messages),
            schema=schema,
            headers=error_headers,
        )

    def _handle_invalid_json_error(self, error: Any, req: Any, *args: Any, **kwargs: Any) -> NoReturn:
        abort(400, exc=error, messages={"json": [str(_l("The request body is not valid JSON."))]})

    def load_multipart(self, req: Any, schema: ma.Schema) -> Any:
        """A multipart/form-data body: its files and its plain fields in one schema (one requestBody)."""
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


ApiParser.__location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}


# Blueprint ----------------------------------------------------------------------------------------------
class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose views answer only to API tokens (see `register_auth`).
    `location="multipart"` reads a file upload with its plain fields (documented as multipart/form-data)."""

    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_require_token)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """flask-smorest's `arguments`; a JSON body of a PATCH must change something: an empty one is a 422
        (PATCH changes only the fields sent, so `{}` is a mistake, never a no-op)."""
        parse = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse

        def decorator(view: Any) -> Any:
            parsed = parse(view)

            @wraps(parsed)
            def wrapped(*a: Any, **kw: Any) -> Any:
                if request.method == "PATCH" and request.get_json(silent=True) in ({}, None):
                    raise ValidationFailed({}, _l("Send at least one field to change."))
                return parsed(*a, **kw)

            return wrapped

        return decorator

    def idempotent(self, view: Any) -> Any:
        """A write an `Idempotency-Key` header makes safe to retry: the same key and request within 24 hours
        answer the first result without writing again; the same key with another request is a 422 on
        `Idempotency-Key` (crm.auth.idempotency). Put it right below `requires`."""

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(idempotency.HEADER)
            if key is None:
                return view(*args, **kwargs)
            row, replay = idempotency.claim(current_user.id, key.strip(), _request_fingerprint())
            if replay:
                answer = current_app.response_class(row.body or "", status=row.status_code,
                                                    content_type=row.content_type)
                answer.headers["Idempotency-Replayed"] = "true"
                return answer
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except DomainError as exc:
                if not getattr(exc, "keep_changes", False):
                    raise  # refused before anything was done: rolled back with the key, free to retry
                response = current_app.make_response(current_app.handle_user_exception(exc))
            # Stripe's rule: a success, or a refusal that kept what it did (a failed process step recorded
            # on its instance), is the key's answer for good; a refusal that changed nothing (4xx rolled
            # back) keeps no key, so the same key may be sent again once the cause is fixed.
            kept = response.status_code < 400 or keeps_changes_despite_error()
            if kept and not response.direct_passthrough:
                idempotency.record(row, response.status_code, response.content_type, response.get_data(as_text=True))
            return response

        return self.doc(**{"x-idempotent": True})(wrapped)

    def errors(self, *codes: int) -> Callable[[Any], Any]:
        """Document the problem responses a view may answer with (besides 401, 403 and 422)."""

        def decorator(view: Any) -> Any:
            for code in codes:
                view = self.alt_response(code, response=HTTPStatus(code).name)(view)
            return view

        return decorator

    def requires(self, *permissions: str, any_of: bool = False) -> Callable[[Any], Any]:
        """Every named permission (or, with any_of, one of them), else 403. Put it above the other
        decorators so it runs before the arguments are parsed."""

        def decorator(view: Any) -> Any:
            @wraps(view)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                check = any if any_of else all
                if not check(current_user.can(p) for p in permissions):
                    raise PermissionDenied()
                return view(*args, **kwargs)

            wrapped.required_permissions = permissions  # type: ignore[attr-defined]
            joiner = " or " if any_of else " and "
            needed = joiner.join(f"`{p}`" for p in permissions)
            # flask-smorest reads summary and description from the docstring.
            wrapped.__doc__ = f"{inspect.cleandoc(view.__doc__ or '')}\n\nRequires the permission {needed}."
            wrapped = self.alt_response(403, response=HTTPStatus.FORBIDDEN.name)(wrapped)
            return self.doc(**{"x-permissions": list(permissions)})(wrapped)

        return decorator

    def register_views_in_doc(self, api: Api, app: Flask, spec: Any, *, name: str, parameters: Any) -> None:
        # Every operation needs a token: document 401 on all of them.
        for endpoint_doc in self._docs.values():
            for method, doc in endpoint_doc.items():
                if method != "parameters":
                    responses = doc.setdefault("response", {}).setdefault("responses", {})
                    responses.setdefault(401, [HTTPStatus.UNAUTHORIZED.name])
        super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)


def _request_fingerprint() -> str:
    """What makes two requests "the same" for an idempotency key: method, path, query and the body's
    content — JSON compared as data (key order and spacing aside), a multipart body by its fields and its
    files' contents (its boundary differs on every send)."""
    digest = hashlib.sha256(f"{request.method} {request.path}?{request.query_string.decode('latin-1')}\n".encode())
    if request.mimetype == "multipart/form-data":
        for name in sorted(request.form):
            for value in request.form.getlist(name):
                digest.update(json.dumps(["field", name, value]).encode())
        for name in sorted(request.files):
            for upload in request.files.getlist(name):
                content = upload.stream.read()
                upload.stream.seek(0)
                digest.update(json.dumps(["file", name, upload.filename, hashlib.sha256(content).hexdigest()]).encode())
    else:
        data = request.get_json(silent=True)
        if data is not None:
            digest.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
        else:
            digest.update(request.get_data())
    return digest.hexdigest()


# Authentication --------------------------------------------------------------------------------------
# Tokens only: crm.auth.views.load_user declines /api/ requests, so Flask-Login falls through to the
# request loader (load_user_from_token), which checks the token and `api.use`.
def _require_token() -> Any:
    if request.method == "OPTIONS":
        return None
    if not current_user.is_authenticated:
        response = current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
        return response
    # The store switcher is a browser-session preference; the API always answers for the whole scope.
    # Lazily: a request whose rows involve the caller directly never builds the scope.
    request_store_filter(current_user._get_current_object(), None)
    return None


# Pagination -------------------------------------------------------------------------------------------
class PageArgsSchema(ma.Schema):
    limit = fields.Int(
        load_default=50,
        validate=validate.Range(1, 200, error=_l("Use a number from %(min)d to %(max)d.", min=1, max=200)),
        metadata={"description": "Items per page (1–200)."},
    )
    cursor = fields.Str(
        load_default=None,
        metadata={"description": "The `next_cursor` of the previous page; omit for the first page.",
                  "pattern": "^[A-Za-z0-9_-]+$"},
    )


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope: `{"items": [...], "next_cursor": "..." | null}`."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.Str(
                required=True,
                allow_none=True,
                metadata={"description": "Pass as `cursor` to get the next page; null on the last page."},
            ),
        },
        name=name,
    )



def page_of(items: Iterable[Any], args: Mapping[str, Any]) -> Page[Any]:
    """A short list that is read whole (a customer's contacts, the process definitions, a chain's steps) in
    the one list envelope: `limit` items from where `cursor` says, and the cursor of the rest. The cursor
    is as opaque as a keyset one; a forged one is a 422 on `cursor`."""
    rows = list(items)
    limit = int(args.get("limit") or 50)
    start = 0
    if args.get("cursor"):
        try:
            raw = base64.urlsafe_b64decode(str(args["cursor"]) + "=" * (-len(str(args["cursor"])) % 4))
            start = int(json.loads(raw)["offset"])
            if not 0 < start < 2**31:
                raise ValueError
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise ValidationFailed({"cursor": _l("Invalid page cursor.")}) from None
    end = start + limit
    cursor = None
    if end < len(rows):
        cursor = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode().rstrip("=")
    return Page(items=rows[start:end], next_cursor=cursor, limit=limit)


def visible_or_field_error(model: type, object_id: Any, field: str, message: Any) -> Any:
    """The visible row for an id sent in a request body; a field error (not 404) when it is missing or
    outside the caller's scope, with the same message either way."""
    try:
        return get_visible(model, object_id, current_user)
    except NotFound:
        raise ValidationFailed({field: message}) from None


# Registration ----------------------------------------------------------------------------------------------
_resources: dict[str, tuple[int, ApiBlueprint]] = {}


def add_resource(blp: ApiBlueprint, *, order: int) -> None:
    """Offer a resource's blueprint (a context's wiring does, in `init_app`); `register_resources` adds
    them to the app by `order`, which is the order of the OpenAPI document's tags and paths."""
    _resources[blp.name] = (order, blp)


def register_resources(app: Flask) -> None:
    """Called by `create_app` once every context's wiring has offered its resources."""
    from crm.extensions import api
    from crm.extensions import csrf

    document_problem_responses(api)
    for _order, blp in sorted(_resources.values(), key=lambda item: item[0]):
        # The API authenticates with bearer tokens only, never cookies, so CSRF does not apply.
        csrf.exempt(blp)
        api.register_blueprint(blp)
    spec = api.spec
    assert spec is not None
    generate = spec.to_dict
    spec.to_dict = lambda: finish_document(generate())  # type: ignore[method-assign]
