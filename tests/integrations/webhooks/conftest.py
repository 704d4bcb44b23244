"""Webhook test support: a local HTTPS receiver (a self-signed certificate made with the openssl command for
each test), endpoints made through the services, the deliveries of an endpoint."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.integrations.webhooks import services
from crm.integrations.webhooks.models import WebhookDelivery

PUBLIC_URL = "https://93.184.216.34/hooks"  # an address literal: no DNS needed to check it


@dataclass
class Receiver:
    """What the HTTPS server received: (headers, body) per request; it answers `statuses` in turn (then 200)."""

    url: str
    cert: Path
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


def _certificate(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def receiver(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An HTTPS server on localhost whose certificate the sender trusts (WEBHOOK_CA_FILE); private
    addresses allowed, as in development."""
    cert, key = _certificate(tmp_path)
    state = Receiver(url="", cert=cert)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.received.append(({k: v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"https://localhost:{server.server_address[1]}/crm-hooks?source=crm"
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", True)
    monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", str(cert))
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def endpoint(actor: Any, *, store: Any = None, events: list[str] | None = None, url: str = PUBLIC_URL,
             name: str = "ERP") -> tuple[Any, str]:
    made = services.create_endpoint({"name": name, "url": url, "events": events or services.EVENTS_ALL,
                                     "store_id": store.id if store is not None else None}, actor=actor)
    db.session.commit()
    return made


def deliveries(endpoint: Any, event: str | None = None) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if event:
        stmt = stmt.where(WebhookDelivery.event == event)
    return list(db.session.scalars(stmt.order_by(WebhookDelivery.id)))


def payload(delivery: WebhookDelivery) -> dict[str, Any]:
    return json.loads(delivery.body)
