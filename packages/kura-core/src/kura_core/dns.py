"""Kubernetes name rules (RFC 1123 labels and subdomains, label keys and values, hostnames).

The patterns are written once, as strings, for three readers: Python's ``re`` (always with
``fullmatch``), the CRD's OpenAPI ``pattern`` and its CEL ``matches()`` (both RE2). They use only
syntax the two engines read alike: ASCII classes, no ``\\d``/``\\w``/``\\s``, no lookaround.
"""

from __future__ import annotations

import re

DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_SUBDOMAIN_MAX = 253
# A DNS name as an Ingress host and a certificate need it: a subdomain whose every label is at
# most 63 characters (an object name may have longer ones; a resolvable host may not).
HOSTNAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LABEL_VALUE_MAX = 63
# A label or annotation key (a "qualified name"): an optional DNS-subdomain prefix and "/", then
# a name of at most 63 characters. The prefix's length limit is checked apart (a regex cannot).
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_KEY_MAX = DNS_SUBDOMAIN_MAX + 1 + LABEL_VALUE_MAX
_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN_PATTERN)
_HOSTNAME = re.compile(HOSTNAME_PATTERN)
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)
_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)


def is_dns_label(value: str) -> bool:
    return len(value) <= DNS_LABEL_MAX and bool(_DNS_LABEL.fullmatch(value))


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
    return len(value) <= DNS_SUBDOMAIN_MAX and bool(_DNS_SUBDOMAIN.fullmatch(value))


def is_hostname(value: str) -> bool:
    """A subdomain of labels of at most 63 characters, at most 253 in all."""
    return len(value) <= DNS_SUBDOMAIN_MAX and bool(_HOSTNAME.fullmatch(value))


def is_label_value(value: str) -> bool:
    """Empty, or at most 63 of ``[A-Za-z0-9-_.]`` starting and ending alphanumeric."""
    return len(value) <= LABEL_VALUE_MAX and bool(_LABEL_VALUE.fullmatch(value))


def is_label_key(key: str) -> bool:
    """``[prefix/]name``: prefix a DNS subdomain, name a non-empty label value."""
    return bool(_LABEL_KEY.fullmatch(key)) and key.find("/") <= DNS_SUBDOMAIN_MAX
