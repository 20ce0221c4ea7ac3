"""Checks of the URLs kura is given, in words that never repeat a password a URL carries."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be a server's base URL, in words; ``None`` when it can."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a bad port raises only when read
    except ValueError:
        return "is not a URL"
    if parts.username is not None or parts.password is not None:
        return "carries credentials; the client credentials come from the shared Secret"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an https URL with a host"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must be https (plain http only on loopback)"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None
