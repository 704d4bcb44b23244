"""The README's `make run` path as a real process: `flask crm serve` on a fresh SQLite file, with its
scheduler, answering a log-in over HTTP. Guards against start-up work that leaves the CLI's transaction
open (on SQLite its read lock made every commit wait until "database is locked")."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "run"]
PASSWORD = "Serve#2026"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port: int, method: str, path: str, body: str | None = None,
             cookie: str = "") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read_body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.stdout.read().decode() if server.stdout else "server exited")
        try:
            _request(port, "GET", "/login")
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the server did not answer within 60 s")


@pytest.fixture()
def served(tmp_path: Path):
    env = {**os.environ, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}"}
    env.pop("CRM_TEST_DATABASE_URL", None)
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*FLASK, "crm", "create-admin", "--mobile", "13900000001", "--name", "Admin",
                    "--password", PASSWORD], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*FLASK, "crm", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()


def test_serve_logs_in_over_http(served: int) -> None:
    page = _request(served, "GET", "/login")
    cookie = page.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(rb'name="csrf_token"\s+value="([^"]+)"', page.read_body)  # type: ignore[attr-defined]
    assert token, "the log-in form has a CSRF token"
    body = urllib.parse.urlencode({"csrf_token": token.group(1).decode(), "identifier": "13900000001",
                                   "password": PASSWORD})
    response = _request(served, "POST", "/login", body, cookie)
    assert response.status == 302, response.read_body  # type: ignore[attr-defined]
    session = response.getheader("Set-Cookie", "").split(";")[0]
    assert _request(served, "GET", "/", cookie=session).status == 200


def test_gunicorn_serves_with_the_repository_config(tmp_path: Path) -> None:
    """docs/operators.md's production command, run from the repository root, reads gunicorn.conf.py:
    `gunicorn` with no app argument serves `run:app` (its `wsgi_app`), and its worker hooks run."""
    env = {**os.environ, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}", "CRM_SECRET_KEY": "serve"}
    env.pop("CRM_TEST_DATABASE_URL", None)
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, server)
        assert _request(port, "GET", "/login").status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()


def test_gunicorn_hooks_freeze_what_the_worker_keeps() -> None:
    """The workers' garbage-collection hooks (see gunicorn.conf.py): after the app is loaded, and once
    more when the first requests have warmed the caches, never on every request."""
    import gc
    import runpy

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = type("Worker", (), {})()
    gc.unfreeze()
    try:
        config["post_worker_init"](worker)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        for _ in range(config["WARM_AFTER_REQUESTS"] - 1):
            config["post_request"](worker, None, {}, None)
        assert gc.get_freeze_count() == 0
        config["post_request"](worker, None, {}, None)
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        config["post_request"](worker, None, {}, None)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_serve_is_gunicorn_with_cached_static_files_and_a_favicon(served: int) -> None:
    """`make run` shows the real thing: gunicorn answers (never werkzeug's development server), static
    URLs carry a version stamp and are cached for a year, unstamped ones for an hour, and there is a
    favicon."""
    page = _request(served, "GET", "/login")
    assert "gunicorn" in (page.getheader("Server") or "").lower()
    assert "werkzeug" not in (page.getheader("Server") or "").lower()
    body = page.read_body.decode()  # type: ignore[attr-defined]
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="(/static/favicon\.svg\?v=[0-9a-f]+)"', body)
    assert icon, "the layout names a versioned favicon"
    stamped = _request(served, "GET", icon.group(1))
    assert stamped.status == 200 and stamped.getheader("Content-Type", "").startswith("image/svg+xml")
    assert stamped.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    css = re.search(r'href="(/static/crm\.css\?v=[0-9a-f]+)"', body)
    assert css and _request(served, "GET", css.group(1)).getheader("Cache-Control", "").endswith("immutable")
    plain = _request(served, "GET", "/static/crm.css")
    assert plain.getheader("Cache-Control") == "public, max-age=3600" and plain.getheader("ETag")
    legacy = _request(served, "GET", "/favicon.ico")
    assert legacy.status == 301 and legacy.getheader("Location", "").split("?")[0].endswith("/static/favicon.svg")
