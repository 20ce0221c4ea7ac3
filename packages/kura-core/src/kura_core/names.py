"""Every object name kura derives, upstream-compatible (docs/upstream.md).

A customer's handle appears only in instance names and hosts, never in a gateway's name, class,
load-balancer name or labels: gateway names hash the account id instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from kura_core.errors import InputError

GATEWAY_PREFIX = "kgw-"
GATEWAY_HASH_LENGTH = 12


def account_hash(account_id: int) -> str:
    """First 12 hex chars of SHA-256 over ``account:<id>``: stable and opaque."""
    digest = hashlib.sha256(f"account:{account_id}".encode()).hexdigest()
    return digest[:GATEWAY_HASH_LENGTH]


def gateway_name(account_id: int, region_id: str) -> str:
    """``kgw-<hash>-<region>``, e.g. ``kgw-1a2b3c4d5e6f-us-east``."""
    return f"{GATEWAY_PREFIX}{account_hash(account_id)}-{region_id}"


def regional_ingress_class(region_id: str) -> str:
    return f"kura-{region_id}"


def dedicated_ingress_class(region_id: str, gateway: str) -> str:
    """``kura-<region>-<gateway>``, e.g. ``kura-us-east-kgw-1a2b3c4d5e6f-us-east``."""
    return f"kura-{region_id}-{gateway}"


def gateway_workload_name(gateway: str) -> str:
    """The ConfigMap, Service and Deployment of a dedicated gateway share this name."""
    return f"{gateway}-controller"


def dedicated_load_balancer_name(gateway: str) -> str:
    return f"tuist-{gateway}-ingress"


def regional_load_balancer_name(region_id: str) -> str:
    return f"tuist-kura-{region_id}-ingress"


def require_own_load_balancer(gateway: str, region_ids: Iterable[str]) -> None:
    """Refuse a gateway name whose load balancer would be a region's shared one (a gateway
    called ``kura-<region>``), which its Service would otherwise take over."""
    name = dedicated_load_balancer_name(gateway)
    if name in {regional_load_balancer_name(region_id) for region_id in region_ids}:
        raise InputError(
            f"KuraGateway {gateway}: its load balancer would be {name!r}, a region's shared "
            "gateway's; choose another name"
        )


def regional_gateway_values_key(region_id: str) -> str:
    """The platform chart's values block (and Helm alias) of a region's shared gateway."""
    return f"kura-{region_id}-ingress-nginx"


def instance_name(handle: str, cluster_id: str) -> str:
    """``kura-<handle>-<cluster id>``, handle lowercased."""
    return f"kura-{handle.lower()}-{cluster_id}"
