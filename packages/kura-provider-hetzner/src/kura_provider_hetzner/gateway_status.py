"""A dedicated gateway's status from its observed Deployment and Service.

Phase and message are upstream's (docs/upstream.md); the ``Ready`` condition
and ``observedGeneration`` are added so ``kubectl wait --for=condition=Ready`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kura_core import (
    DEFAULT_GATEWAY_REPLICAS,
    KuraGateway,
    KuraGatewayStatus,
    gateway_workload_name,
    make_gateway_status,
)


def _dig(data: Mapping[str, Any] | None, *keys: str) -> Any:
    current: Any = data
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def ready_replicas(deployment: Mapping[str, Any] | None) -> int:
    value = _dig(deployment, "status", "readyReplicas")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def load_balancer_address(service: Mapping[str, Any] | None) -> str:
    """The first LB ingress entry's hostname, else its IP; "" while none is provisioned."""
    entries = _dig(service, "status", "loadBalancer", "ingress")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], Mapping):
        return ""
    first = entries[0]
    for key in ("hostname", "ip"):
        value = first.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def compute_gateway_status(
    gateway: KuraGateway,
    *,
    deployment: Mapping[str, Any] | None,
    service: Mapping[str, Any] | None,
    now: datetime,
) -> KuraGatewayStatus:
    """Ready when every desired replica is ready and the LB has an address; Pending otherwise.

    ``now`` must be timezone-aware; it is stored in UTC.
    """
    want = gateway.spec.replicas or DEFAULT_GATEWAY_REPLICAS
    ready = ready_replicas(deployment)
    address = load_balancer_address(service)
    is_ready = deployment is not None and ready >= want and bool(address)
    if deployment is None:
        reason, message = "DeploymentMissing", "Deployment has not been created yet"
    elif is_ready:
        reason, message = "GatewayReady", f"{ready}/{want} gateway replicas ready"
    else:
        reason = "ReplicasNotReady" if ready < want else "LoadBalancerPending"
        message = (
            f"{ready}/{want} gateway replicas ready, loadBalancer={str(bool(address)).lower()}"
        )
    return make_gateway_status(
        gateway,
        ready=is_ready,
        reason=reason,
        message=message,
        now=now,
        ready_replicas=ready,
        load_balancer=address,
        service_name=gateway_workload_name(gateway.metadata.name),
    )
