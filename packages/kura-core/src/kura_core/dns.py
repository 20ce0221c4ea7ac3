"""Kubernetes name rules (RFC 1123 labels), shared by every model that carries a name."""

from __future__ import annotations

import re

DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)


def is_dns_label(value: str) -> bool:
    return len(value) <= DNS_LABEL_MAX and bool(_DNS_LABEL.match(value))


def require_dns_label(value: str, what: str) -> str:
    """Return ``value`` unchanged, or raise ``ValueError`` naming ``what``."""
    if not is_dns_label(value):
        raise ValueError(
            f"{what} {value!r} is not a DNS label (lowercase letters, digits and '-', "
            f"starting and ending alphanumeric, at most {DNS_LABEL_MAX} characters)"
        )
    return value
