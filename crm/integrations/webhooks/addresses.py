"""Where a webhook may be sent (SSRF): HTTPS only (plain HTTP only to localhost, and only where
WEBHOOK_ALLOW_HTTP_LOCALHOST is on: tests, development), and never to a private, loopback, link-local or
otherwise non-public address unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is on. Checked when an endpoint is saved
and again before every attempt, on the addresses the connection then uses (`resolve`): a host name that
later resolves to an internal address is refused at that point."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

LOCALHOST = frozenset({"localhost", "127.0.0.1", "::1"})


class Refused(Exception):
    """The URL may not be called; `message` says why (translated lazily)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(url: str) -> tuple[str, int, list[str]]:
    """(host, port, addresses to connect to) of a URL that may be called; raises Refused otherwise."""
    config = current_app.config
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http":
        if not (host in LOCALHOST and config.get("WEBHOOK_ALLOW_HTTP_LOCALHOST")):
            raise Refused(_l("Use an https:// URL."))
    elif parts.scheme != "https":
        raise Refused(_l("Use an https:// URL."))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(_l("The host name %(host)s does not resolve.", host=host)) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused(_l("The host name %(host)s does not resolve.", host=host))
    if not config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS") and any(_internal(a) for a in addresses):
        raise Refused(_l("%(host)s is a private, loopback or otherwise internal address: webhooks go to "
                         "public addresses only.", host=host))
    return host, port, addresses


def url_refusal(url: str) -> Any:
    """Why the URL may not be called, or None."""
    try:
        resolve(url)
    except Refused as exc:
        return exc.message
    return None
