"""Readings of observed cluster objects: is a rollout done, a resource Ready, an LB addressed.

Pure: each takes the object as the API returned it (a dict, or None when absent) and answers
with a verdict and the words to show. The waits and the platform check poll through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Reading(NamedTuple):
    ok: bool
    state: str


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def deployment_rollout(deployment: Mapping[str, Any] | None) -> Reading:
    """Done when, as for ``kubectl rollout status``, every wanted replica is updated and ready."""
    if deployment is None:
        return Reading(False, "not found")
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = _int(deployment.get("metadata", {}).get("generation"))
    wanted = _int(spec.get("replicas", 1))
    updated, ready = _int(status.get("updatedReplicas")), _int(status.get("readyReplicas"))
    available, total = _int(status.get("availableReplicas")), _int(status.get("replicas"))
    state = f"{ready}/{wanted} ready, {updated} updated, {available} available"
    if _int(status.get("observedGeneration")) < generation:
        return Reading(False, f"{state}; generation {generation} not observed yet")
    if updated < wanted or total > updated or available < updated or ready < wanted:
        return Reading(False, state)
    return Reading(True, state)


def load_balancer_address(service: Mapping[str, Any] | None) -> str:
    """The first LB ingress entry's hostname, else its IP; "" when there is none."""
    if service is None:
        return ""
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if not ingress or not isinstance(ingress[0], Mapping):
        return ""
    return str(ingress[0].get("hostname") or ingress[0].get("ip") or "")


def _ready_condition(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition
    return None


def resource_ready(obj: Mapping[str, Any] | None) -> Reading:
    """A KuraGateway or KuraInstance is Ready: phase Ready for the current generation."""
    if obj is None:
        return Reading(False, "not found")
    status = obj.get("status") or {}
    phase = str(status.get("phase") or "no status yet")
    message = status.get("message")
    state = f"{phase}: {message}" if message else phase
    generation = _int(obj.get("metadata", {}).get("generation"))
    observed = status.get("observedGeneration")
    if isinstance(observed, int) and observed < generation:
        return Reading(False, f"{state} (generation {generation} not observed yet)")
    condition = _ready_condition(status)
    if condition is not None and condition.get("status") != "True":
        reason = condition.get("reason") or condition.get("message") or "not ready"
        return Reading(False, f"{state} (condition Ready={condition.get('status')}: {reason})")
    return Reading(phase == "Ready", state)
