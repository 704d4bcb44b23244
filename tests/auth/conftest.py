"""Log-in test support: signing in through the form and what the page then says (the user `fang` is in
tests/conftest.py: the web security tests sign her in too)."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import csrf

WRONG = "Wrong mobile number, e-mail or password."
LOCKED = "Too many failed log-ins. This account is locked for 15 minutes; try again later."
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def login(client: FlaskClient, identifier: str, password: str, next_url: str | None = None) -> Any:
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"identifier": identifier, "password": password, "csrf_token": csrf(client)})


def error_text(resp: Any) -> str:
    match = re.search(r'id="login-error">([^<]*)<', resp.get_data(as_text=True))
    return match.group(1).strip() if match else ""


def signed_in_as(client: FlaskClient) -> str | None:
    resp = client.get("/")
    if resp.status_code != 200:
        return None
    match = re.search(r'id="welcome">([^<]*)<', resp.get_data(as_text=True))
    return match.group(1).strip() if match else None
