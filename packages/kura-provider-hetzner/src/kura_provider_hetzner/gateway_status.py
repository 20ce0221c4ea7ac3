"""A dedicated gateway's status from its observed Deployment and Service.

Phase and message are upstream's (docs/upstream.md); the ``Ready`` condition
and ``observedGeneration`` are added so ``kubectl wait --for=condition=Ready`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from kura_core import (
    DEFAULT_GATEWAY_REPLICAS,
    Condition,
    KuraGateway,
    KuraGatewayStatus,
    gateway_workload_name,
)

READY = "Ready"
PENDING = "Pending"
READY_CONDITION = "Ready"


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


def _transition_time(
    gateway: KuraGateway, status: Literal["True", "False"], now: datetime
) -> datetime:
    """``now``, unless the previous Ready condition already had this status."""
    previous = (gateway.status.conditions if gateway.status else None) or []
    for condition in previous:
        if condition.type == READY_CONDITION and condition.status == status:
            return condition.last_transition_time
    return now


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
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    want = gateway.spec.replicas or DEFAULT_GATEWAY_REPLICAS
    ready = ready_replicas(deployment)
    address = load_balancer_address(service)
    phase = PENDING
    condition: Literal["True", "False"] = "False"
    if deployment is None:
        reason, message = "DeploymentMissing", "Deployment has not been created yet"
    elif ready >= want and address:
        phase, condition = READY, "True"
        reason, message = "GatewayReady", f"{ready}/{want} gateway replicas ready"
    else:
        reason = "ReplicasNotReady" if ready < want else "LoadBalancerPending"
        message = (
            f"{ready}/{want} gateway replicas ready, loadBalancer={str(bool(address)).lower()}"
        )
    generation = gateway.metadata.generation
    return KuraGatewayStatus(
        phase=phase,
        message=message,
        last_reconciled_at=now,
        observed_generation=generation,
        conditions=[
            Condition(
                type=READY_CONDITION,
                status=condition,
                observed_generation=generation,
                last_transition_time=_transition_time(gateway, condition, now),
                reason=reason,
                message=message,
            )
        ],
        ingress_class_name=gateway.spec.ingress_class_name,
        service_name=gateway_workload_name(gateway.metadata.name),
        ready_replicas=ready,
        load_balancer=address,
    )
