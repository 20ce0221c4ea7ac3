"""A dedicated gateway's status from its observed ``Gateway``.

The Gateway API reports what ingress-nginx's Deployment and Service report: ``Accepted`` (the
controller took the Gateway), ``Programmed`` (its data plane is running and has an address) and
``status.addresses``. A condition counts only when its ``observedGeneration`` is the Gateway's
current generation; an older one describes a spec that is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kura_core import KuraGateway, KuraGatewayStatus, make_gateway_status
from kura_provider_gateway_api.envoy_gateway import available_replicas


def _conditions(gateway_object: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    generation = (gateway_object.get("metadata") or {}).get("generation")
    found = (gateway_object.get("status") or {}).get("conditions") or []
    current = {}
    for condition in found:
        if not isinstance(condition, Mapping):
            continue
        observed = condition.get("observedGeneration")
        if generation is None or observed is None or observed == generation:
            current[str(condition.get("type"))] = condition
    return current


def gateway_address(gateway_object: Mapping[str, Any] | None) -> str:
    """The first address in ``status.addresses`` (hostname or IP); "" while there is none."""
    addresses = ((gateway_object or {}).get("status") or {}).get("addresses") or []
    for address in addresses:
        if isinstance(address, Mapping) and isinstance(address.get("value"), str):
            return str(address["value"])
    return ""


def _state(gateway_object: Mapping[str, Any] | None, address: str) -> tuple[bool, str, str]:
    """(ready, reason, message) from the Gateway's current conditions."""
    if gateway_object is None:
        return False, "GatewayMissing", "Gateway has not been created yet"
    conditions = _conditions(gateway_object)
    for kind in ("Accepted", "Programmed"):
        condition = conditions.get(kind)
        if condition is None:
            return False, f"Not{kind}", f"Gateway has no current {kind} condition yet"
        if condition.get("status") != "True":
            reason = str(condition.get("reason") or f"Not{kind}")
            return (
                False,
                reason,
                f"Gateway not {kind.lower()}: {condition.get('message') or reason}",
            )
    if not address:
        return False, "AddressPending", "Gateway is programmed but has no address yet"
    return (
        True,
        "GatewayReady",
        str(conditions["Programmed"].get("message") or "Gateway programmed"),
    )


def compute_gateway_status(
    gateway: KuraGateway, *, gateway_object: Mapping[str, Any] | None, now: datetime
) -> KuraGatewayStatus:
    """Ready when the Gateway is Accepted and Programmed at its generation and has an address.

    ``now`` must be timezone-aware; it is stored in UTC.
    """
    address = gateway_address(gateway_object)
    ready, reason, message = _state(gateway_object, address)
    programmed = _conditions(gateway_object or {}).get("Programmed") or {}
    return make_gateway_status(
        gateway,
        ready=ready,
        reason=reason,
        message=message,
        now=now,
        ready_replicas=available_replicas(str(programmed.get("message") or "")),
        load_balancer=address,
    )
