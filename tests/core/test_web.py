"""The web edge: domain errors become an HTML page for browsers and RFC 9457 problem+json for API clients;
one transaction per request (commit below 400, roll back otherwise); safe redirects; int_arg.

The routes under test are registered on an app of their own (the shared test app has served requests
already, after which Flask refuses new routes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Blueprint
from flask import Flask
from flask import abort
from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.core.errors import Conflict
from crm.core.errors import DomainError
from crm.core.errors import InvalidTransition
from crm.core.errors import NotFound
from crm.core.errors import PermissionDenied
from crm.core.errors import ValidationFailed
from crm.core.web import int_arg
from crm.core.web import safe_next
from crm.extensions import db
from crm.org.models import OrgUnit
from tests.conftest import RequestIsolatedClient
from tests.conftest import make_test_app

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

ERRORS: dict[str, Any] = {
    "not-found": lambda: NotFound(),
    "denied": lambda: PermissionDenied(),
    "conflict": lambda: Conflict(),
    "transition": lambda: InvalidTransition(),
    "domain": lambda: DomainError("The order is already paid."),
    "field": lambda: DomainError("Too early.", field="due_on"),
    "invalid": lambda: ValidationFailed({"name": "Enter a name.", "mobile": ["Too short.", "Not a number."]}),
}

bp = Blueprint("probe", __name__)


@bp.route("/probe/raise/<kind>", methods=["GET", "POST"])
def raise_error(kind: str) -> Any:
    raise ERRORS[kind]()


@bp.route("/probe/abort/<int:code>")
def abort_with(code: int) -> Any:
    abort(code)


@bp.route("/probe/crash")
def crash() -> Any:
    raise RuntimeError("secret internals: password=hunter2")


@bp.route("/probe/write", methods=["POST"])
def write_then() -> Any:
    """Rename HQ, then answer as asked: ok, a domain error, a crash, or a 4xx response."""
    hq = db.session.scalar(select(OrgUnit).where(OrgUnit.id == int(request.form["unit_id"])))
    assert hq is not None
    hq.name = request.form["name"]
    db.session.flush()
    outcome = request.form["outcome"]
    if outcome == "domain":
        raise ValidationFailed({"name": "No."})
    if outcome == "crash":
        raise RuntimeError("boom")
    if outcome == "integrity":
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))
    if outcome == "400":
        return "bad", 400
    return "ok", 200


@bp.route("/probe/duplicate", methods=["POST"])
def duplicate() -> Any:
    """A flush the database refuses (two units with one code)."""
    db.session.add_all([OrgUnit(kind="department", name="One", code="DUP"),
                        OrgUnit(kind="department", name="Two", code="DUP")])
    db.session.flush()
    return "unreachable"


@bp.route("/api/v1/probe/not-found")
def api_not_found() -> Any:
    raise NotFound()


@pytest.fixture(scope="module")
def probe_app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url, WTF_CSRF_ENABLED=False)
    app.register_blueprint(bp)
    app.test_client_class = RequestIsolatedClient
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def probe(probe_app: Flask) -> Any:
    return probe_app.test_client()


@pytest.mark.parametrize(
    ("kind", "status", "title", "detail", "errors"),
    [
        ("not-found", 404, "Not found", "Not found.", None),
        ("denied", 403, "Not allowed", "You do not have permission to do this.", None),
        ("conflict", 409, "Conflict", "This record was changed by someone else. Reload and try again.", None),
        ("transition", 409, "Conflict", "This action is not possible in the current state.", None),
        ("domain", 422, "Could not complete the request", "The order is already paid.", None),
        ("field", 422, "Some fields are invalid", "Too early.", {"due_on": ["Too early."]}),
        ("invalid", 422, "Some fields are invalid", "Some fields are invalid.",
         {"name": ["Enter a name."], "mobile": ["Too short.", "Not a number."]}),
    ],
)
def test_domain_errors_as_problem_json(probe: Any, kind: str, status: int, title: str, detail: str,
                                       errors: dict[str, list[str]] | None) -> None:
    resp = probe.get(f"/probe/raise/{kind}", headers={"Accept": "application/json"})
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    expected = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        expected["errors"] = errors
    assert resp.get_json() == expected


@pytest.mark.parametrize(("kind", "status", "text"), [
    ("not-found", 404, "Not found."),
    ("denied", 403, "You do not have permission to do this."),
    ("domain", 422, "The order is already paid."),
    ("invalid", 422, "Some fields are invalid."),
])
def test_domain_errors_as_html_page(probe: Any, kind: str, status: int, text: str) -> None:
    resp = probe.post(f"/probe/raise/{kind}", headers={"Accept": BROWSER_ACCEPT})
    assert resp.status_code == status
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert text in page
    assert f">{status}<" in page


@pytest.mark.parametrize(("accept", "json"), [
    (None, False),
    ("*/*", False),
    (BROWSER_ACCEPT, False),
    ("application/json", True),
    ("application/json, text/html;q=0.5", True),
    ("text/html, application/json;q=0.9", False),
    ("application/problem+json, application/json", True),
])
def test_content_negotiation(probe: Any, accept: str | None, json: bool) -> None:
    headers = {"Accept": accept} if accept else {}
    resp = probe.get("/probe/raise/not-found", headers=headers)
    assert resp.status_code == 404
    assert (resp.mimetype == "application/problem+json") is json


def test_api_paths_always_answer_json(probe: Any) -> None:
    resp = probe.get("/api/v1/probe/not-found", headers={"Accept": BROWSER_ACCEPT})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == 404
    unknown = probe.get("/api/v1/no-such-endpoint", headers={"Accept": BROWSER_ACCEPT})
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"


@pytest.mark.parametrize(("code", "title"), [(400, "Bad request"), (404, "Not found"), (405, "Method not allowed"),
                                             (413, "Too large"), (429, "Too many requests")])
def test_http_errors(probe: Any, code: int, title: str) -> None:
    resp = probe.get(f"/probe/abort/{code}", headers={"Accept": "application/json"})
    assert resp.status_code == code
    assert resp.get_json()["title"] == title
    html = probe.get(f"/probe/abort/{code}")
    assert html.status_code == code
    assert title in html.get_data(as_text=True)


def test_unknown_page_and_wrong_method(probe: Any) -> None:
    assert probe.get("/no/such/page").status_code == 404
    resp = probe.delete("/probe/raise/not-found", headers={"Accept": "application/json"})
    assert resp.status_code == 405
    assert resp.get_json()["title"] == "Method not allowed"


def test_unexpected_errors_answer_500_without_internals(probe: Any, caplog: pytest.LogCaptureFixture) -> None:
    for accept in ("application/json", BROWSER_ACCEPT):
        resp = probe.get("/probe/crash", headers={"Accept": accept})
        assert resp.status_code == 500
        body = resp.get_data(as_text=True)
        assert "Something went wrong" in body
        assert "hunter2" not in body
        assert "Traceback" not in body
    assert "unhandled error" in caplog.text  # ... but it is logged


@pytest.fixture
def hq_id(probe_app: Flask) -> int:
    """The id of an HQ unit committed to the test's transaction (the probe app's requests end their
    session, so tests keep ids, not objects)."""
    unit = OrgUnit(kind="hq", name="Original", path="/x/")
    db.session.add(unit)
    db.session.commit()
    return unit.id


def _name(unit_id: int) -> str:
    db.session.expire_all()
    return db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == unit_id))


@pytest.mark.parametrize(("outcome", "status", "kept"), [
    ("ok", 200, True),
    ("domain", 422, False),
    ("crash", 500, False),
    ("integrity", 409, False),
    ("400", 400, False),
])
def test_one_transaction_per_request(probe: Any, hq_id: int, outcome: str, status: int, kept: bool) -> None:
    resp = probe.post("/probe/write", data={"unit_id": hq_id, "name": "Renamed", "outcome": outcome})
    assert resp.status_code == status
    assert _name(hq_id) == ("Renamed" if kept else "Original")


def test_failed_flush_of_a_signed_in_user_answers_409(probe_app: Flask, probe: Any) -> None:
    """After a failed flush the session must be rolled back before the error page is translated (the
    locale comes from the signed-in user, read through that same session)."""
    from tests.factories import OrgUnitFactory
    from tests.factories import UserFactory

    hq = OrgUnitFactory(kind="hq", name="HQ")
    user = UserFactory(name="Signed in", unit=hq)
    db.session.commit()
    with probe.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    for accept in ("application/json", BROWSER_ACCEPT):
        resp = probe.post("/probe/duplicate", headers={"Accept": accept})
        assert resp.status_code == 409
        assert "This change clashes with data saved meanwhile" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("target", "expected"), [
    ("/customers?page=2", "/customers?page=2"),
    ("/", "/"),
    ("//evil.example", "/home"),
    ("//evil.example/path", "/home"),
    ("https://evil.example", "/home"),
    ("http:/evil.example", "/home"),
    ("/\\evil.example", "/home"),
    ("\\\\evil.example", "/home"),
    ("javascript:alert(1)", "/home"),
    ("evil.example", "/home"),
    ("", "/home"),
    (None, "/home"),
])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target, "/home") == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("5", 5), ("0", None), ("-3", None), ("abc", None), ("", None), (str(2**31), None), ("2147483647", 2147483647),
    ("1.5", None), ("99999999999999999999", None),
])
def test_int_arg(probe_app: Flask, raw: str, expected: int | None) -> None:
    with probe_app.test_request_context(f"/?n={raw}"):
        assert int_arg("n") == expected
        assert int_arg("missing", 7) == 7


def test_object_links_show_a_name_the_reader_may_see_else_the_id(app: Any) -> None:
    """`object_page` (task and instance pages link to the business object they are about): the name the
    context's resolver gives, "#id" when it gives none (outside the reader's scope) or has no resolver."""
    from crm.core import objects as web

    web.register_object_page("probe_named", "auth.login", "next", "Probe", lambda oid: {7: "P-007"}.get(oid))
    web.register_object_page("probe_plain", "auth.login", "next", "Plain")
    try:
        with app.test_request_context():
            assert web.object_page("probe_named", 7)[::2] == ("Probe", "P-007")
            assert web.object_page("probe_named", 8)[2] == "#8"
            assert web.object_page("probe_plain", 9)[2] == "#9"
            assert web.object_page("unknown", 9) is None
    finally:
        web._OBJECT_PAGES.pop("probe_named", None)
        web._OBJECT_PAGES.pop("probe_plain", None)


@pytest.mark.parametrize(("endpoint", "id_arg", "values"), [
    ("inbox.task_detail", "task_id", {}),
    ("work.task_complete", "work_task_id", {}),
    ("sales.order_detail", "order_id", {"tab": "history"}),
])
def test_id_url_builds_what_url_for_builds(app: Flask, endpoint: str, id_arg: str, values: dict[str, Any]) -> None:
    from flask import url_for

    from crm.core.urls import id_url

    with app.test_request_context("/"):
        url = id_url(endpoint, id_arg, **values)
        for object_id in (1, 7, 42, 2**31 - 1):
            assert url(object_id) == url_for(endpoint, **{id_arg: object_id}, **values)


def test_day_boundaries_of_the_first_and_last_dates_do_not_overflow() -> None:
    """A filter of 0001-01-01 or 9999-12-31 (schemathesis sends them) reads as "from the beginning" / "to the
    end", not a 500 from an instant outside what a datetime holds."""
    from datetime import UTC
    from datetime import date
    from datetime import datetime

    from crm.core.clock import local_day_end
    from crm.core.clock import local_day_start

    assert local_day_start(date.min) == datetime.min.replace(tzinfo=UTC)
    assert local_day_end(date.max) == datetime.max.replace(tzinfo=UTC)
    assert local_day_start(date(2026, 12, 7)) == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert local_day_end(date(2026, 12, 7)) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
