"""Web hardening at the edge: one validator for every user-supplied redirect (`crm.core.web.safe_next`),
and the security headers on every answer: pages, API, error pages, static files.

(How sessions end: tests/auth/test_sessions.py; log-in throttling: tests/auth/test_throttle.py; the 503
of a lost database connection: tests/core/test_db_unavailable.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from crm.auth.services import create_token
from crm.core.web import safe_next
from crm.extensions import db
from crm.org.models import User
from tests.auth.conftest import login
from tests.conftest import csrf
from tests.factories import PASSWORD
from tests.factories import Org

ROOT = Path(__file__).resolve().parents[2]

# What the server sees in `next` after the query string or form is decoded once.
HOSTILE = [
    "//evil.example",
    "//evil.example/login",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",         # POST /login?next=/%09/evil.example: a browser drops the tab -> //evil.example
    "/\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\r\nSet-Cookie: evil=1",  # header injection (answered 500 before)
    "/\x00/evil.example",
    "/%09/evil.example",        # double-encoded forms: decoded once more by whoever reads them next
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%0d%0aSet-Cookie:%20evil=1",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
    "/\uff0f/evil.example",      # fullwidth solidus: NFKC makes it "/"
    "/\u3000/evil.example",
    "evil.example",
    "",
]
FRIENDLY = ["/", "/account", "/account/password?x=1", "/customers/?q=%E7%8E%8B&sort=name", "/customers/?q=王",
            "/customers/?q=a%20b", "/processes/a:b"]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses(target: str) -> None:
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", FRIENDLY)
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target, "/home") == target


def test_safe_next_refuses_what_is_not_text() -> None:
    assert safe_next(None, "/home") == "/home"
    assert safe_next(["/x"], "/home") == "/home"  # type: ignore[arg-type]
    assert safe_next("/" + "a" * 5000, "/home") == "/home"


def _assert_local(resp: Any, expected: str = "/") -> None:
    assert resp.status_code in (302, 303), resp.status_code
    assert resp.headers["Location"] == expected
    assert not any("evil" in c for c in resp.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("target", [t for t in HOSTILE if t])
def test_log_in_never_redirects_off_site(client: FlaskClient, fang: User, target: str) -> None:
    resp = client.post("/login?next=" + quote(target, safe=""),
                       data={"identifier": fang.mobile, "password": PASSWORD, "csrf_token": csrf(client)})
    _assert_local(resp)


@pytest.mark.parametrize("raw_query", ["next=/%09/evil.example", "next=/%0d%0aSet-Cookie:%20evil=1",
                                       "next=%2F%2Fevil.example", "next=/%5Cevil", "next=//evil",
                                       "next=https://evil", "next=javascript:alert(1)"])
def test_log_in_with_the_reported_urls(client: FlaskClient, fang: User, raw_query: str) -> None:
    """The query strings exactly as the report sent them."""
    resp = client.post("/login?" + raw_query,
                       data={"identifier": fang.mobile, "password": PASSWORD, "csrf_token": csrf(client)})
    _assert_local(resp)


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    resp = client.post("/language", data={"lang": "zh", "next": target, "csrf_token": csrf(client)})
    _assert_local(resp)


@pytest.mark.parametrize("target", HOSTILE)
def test_the_store_switch_never_redirects_off_site(client: FlaskClient, login_as: Any, org: Org,
                                                   target: str) -> None:
    login_as(org.hq_manager)
    resp = client.post("/store-filter", data={"store_id": "", "next": target, "csrf_token": csrf(client, "/")})
    _assert_local(resp)


def test_local_targets_still_work(client: FlaskClient, fang: User) -> None:
    resp = login(client, fang.mobile, PASSWORD, next_url=quote("/account?tab=a b", safe=""))
    _assert_local(resp, "/account?tab=a%20b")
    resp = client.post("/language", data={"lang": "en", "next": "/customers/?q=王", "csrf_token": csrf(client, "/")})
    _assert_local(resp, "/customers/?q=%E7%8E%8B")


def test_customer_bulk_back_with_a_newline_is_no_500(client: FlaskClient, login_as: Any, org: Org) -> None:
    login_as(org.a_rep1)
    resp = client.post("/customers/bulk", data={"csrf_token": csrf(client, "/"), "action": "export",
                                                "back": "q=x\r\nSet-Cookie: evil=1"})
    _assert_local(resp, "/customers")


# Security headers -------------------------------------------------------------------------------------------
def _assert_hardened(resp: Any, *, framed: bool = False) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"], csp  # no inline script, no eval
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert "'unsafe-eval'" not in csp
    if framed:
        assert directives["frame-ancestors"] == ["*"]
        assert "X-Frame-Options" not in resp.headers
    else:
        assert directives["frame-ancestors"] == ["'none'"]
        assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    permissions = resp.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions
    assert "Strict-Transport-Security" not in resp.headers  # plain HTTP (see tests/auth/test_sessions.py)


def test_headers_on_a_page(client: FlaskClient, login_as: Any, org: Org) -> None:
    _assert_hardened(client.get("/login"))
    login_as(org.a_rep1)
    resp = client.get("/customers/")
    assert resp.status_code == 200
    _assert_hardened(resp)


def test_headers_on_api_answers(client: FlaskClient, org: Org) -> None:
    unauthenticated = client.get("/api/v1/me")
    assert unauthenticated.status_code == 401
    _assert_hardened(unauthenticated)
    _row, token = create_token(org.hq_admin, "headers")
    db.session.commit()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    _assert_hardened(resp)
    _assert_hardened(client.get("/api/v1/openapi.json"))


def test_headers_on_error_answers(client: FlaskClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    _assert_hardened(missing)
    missing_api = client.get("/api/v1/no-such-thing")
    assert missing_api.status_code in (401, 404)
    _assert_hardened(missing_api)
    no_csrf = client.post("/logout")
    assert no_csrf.status_code == 400
    _assert_hardened(no_csrf)
    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405
    _assert_hardened(wrong_method)


def test_headers_on_static_files(client: FlaskClient) -> None:
    for path in ("/static/crm.css", "/static/crm.js", "/static/vendor/htmx/htmx.min.js"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        _assert_hardened(resp)
        resp.close()


def test_the_public_lead_form_may_be_embedded(client: FlaskClient, org: Org) -> None:
    """It is made to sit in an <iframe> on the company's sites (the setup page shows that code)."""
    from crm.customers.leads import services as leads

    form = leads.create_web_form(org.store_a.id, "Contact us", actor=org.a_manager)
    db.session.commit()
    resp = client.get(f"/f/{form.token}")
    assert resp.status_code == 200
    _assert_hardened(resp, framed=True)


def test_swagger_ui_runs_without_inline_script(client: FlaskClient) -> None:
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    _assert_hardened(resp)
    page = resp.get_data(as_text=True)
    assert 'id="swagger-ui-config"' in page and "/static/api/swagger-init.js" in page
    assert not _INLINE_SCRIPT.search(page)


# No template may need an inline script ---------------------------------------------------------------------
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
_INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I | re.S)


def test_templates_have_no_inline_scripts_or_handlers() -> None:
    found = []
    for path in sorted((ROOT / "crm").rglob("*.html")):
        if "static" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (_INLINE_SCRIPT, _INLINE_HANDLER, re.compile(r"javascript:", re.I)):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)[:80]!r}" for m in pattern.finditer(text)]
    assert not found, "the Content-Security-Policy blocks these; use a static file:\n" + "\n".join(found)


def test_our_scripts_set_no_inline_handlers_or_eval() -> None:
    found = []
    for path in sorted((ROOT / "crm" / "static").rglob("*.js")):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\.on[a-z]+\s*=[^=]", r"setAttribute\(\s*['\"]on", r"\beval\(", r"new Function\b",
                        r"setTimeout\(\s*['\"]"):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in re.finditer(pattern, text)]
    assert not found, "\n".join(found)
