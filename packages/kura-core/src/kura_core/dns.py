"""Kubernetes name rules (RFC 1123 labels and subdomains, label keys and values)."""

from __future__ import annotations

import re

DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DNS_LABEL_MAX = 63
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
DNS_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


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


def is_dns_subdomain(value: str) -> bool:
    """RFC 1123 subdomain: what an object name (and a label key prefix) must be."""
    return len(value) <= DNS_SUBDOMAIN_MAX and bool(_DNS_SUBDOMAIN.match(value))


def is_label_value(value: str) -> bool:
    """Empty, or at most 63 of ``[A-Za-z0-9-_.]`` starting and ending alphanumeric."""
    return value == "" or (len(value) <= LABEL_VALUE_MAX and bool(_LABEL_NAME.match(value)))


def is_label_key(key: str) -> bool:
    """``[prefix/]name``: prefix a DNS subdomain, name a non-empty label value."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns_subdomain(prefix):
        return False
    return name != "" and is_label_value(name)
