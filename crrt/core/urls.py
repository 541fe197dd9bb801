"""URLs crrt itself sends requests to (a webhook endpoint, a federation peer): https, or plain
http to this machine only, for tests and a local relay; never credentials in the URL, where
logs and the audit log would keep them."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from crrt.core.errors import Invalid

MAX_URL = 2000


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(url: str, *, field: str = "url") -> str:
    """``url`` stripped, or :class:`Invalid` on ``field`` saying why crrt will not call it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise Invalid.field(field, "The URL is not valid.") from exc
    if len(url) > MAX_URL or not parts.hostname:
        raise Invalid.field(field, f"The URL needs a host (and at most {MAX_URL} characters).")
    if parts.username or parts.password:
        raise Invalid.field(field, "The URL must not hold a user name or password.")
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        raise Invalid.field(field, "The URL must use https:// (http:// only for 127.0.0.1, "
                                   "::1 or localhost).")
    return url
