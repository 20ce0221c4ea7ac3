"""A dedicated gateway's status from its observed Deployment and Service, table-driven."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider
from kura_core.resources import KuraGateway, KuraGatewayStatus, parse_gateway

HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)


def ingress_nginx() -> IngressProvider:
    return HOST.ingress_provider("ingress-nginx")


def gateway(
    *, replicas: int | None = 3, status: dict[str, Any] | None = None, generation: int = 4
) -> KuraGateway:
    spec: dict[str, Any] = {"region": "us-east", "ingressClassName": "kura-us-east-kgw-abc123"}
    if replicas is not None:
        spec["replicas"] = replicas
    data: dict[str, Any] = {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "metadata": {"name": "kgw-abc123-us-east", "namespace": "kura", "generation": generation},
        "spec": spec,
    }
    if status is not None:
        data["status"] = status
    return parse_gateway(data)


def deployment(ready: int | None) -> dict[str, Any]:
    return {"kind": "Deployment", "status": {} if ready is None else {"readyReplicas": ready}}


def service(*ingress: dict[str, str]) -> dict[str, Any]:
    return {"kind": "Service", "status": {"loadBalancer": {"ingress": list(ingress)}}}


IP = {"ip": "203.0.113.7"}
HOSTNAME = {"hostname": "lb.example.com", "ip": "203.0.113.8"}


@dataclass(frozen=True)
class Case:
    id: str
    deployment: dict[str, Any] | None
    service: dict[str, Any] | None
    phase: str
    message: str
    ready_replicas: int
    load_balancer: str
    condition: str
    reason: str
    replicas: int | None = 3


CASES = [
    Case(
        "no-deployment",
        None,
        None,
        "Pending",
        "Deployment has not been created yet",
        0,
        "",
        "False",
        "DeploymentMissing",
    ),
    Case(
        "no-deployment-but-lb",
        None,
        service(IP),
        "Pending",
        "Deployment has not been created yet",
        0,
        "203.0.113.7",
        "False",
        "DeploymentMissing",
    ),
    Case(
        "ready",
        deployment(3),
        service(IP),
        "Ready",
        "3/3 gateway replicas ready",
        3,
        "203.0.113.7",
        "True",
        "GatewayReady",
    ),
    Case(
        "more-than-wanted",
        deployment(4),
        service(IP),
        "Ready",
        "4/3 gateway replicas ready",
        4,
        "203.0.113.7",
        "True",
        "GatewayReady",
    ),
    Case(
        "hostname-first",
        deployment(3),
        service(HOSTNAME, IP),
        "Ready",
        "3/3 gateway replicas ready",
        3,
        "lb.example.com",
        "True",
        "GatewayReady",
    ),
    Case(
        "replicas-short",
        deployment(2),
        service(IP),
        "Pending",
        "2/3 gateway replicas ready, loadBalancer=true",
        2,
        "203.0.113.7",
        "False",
        "ReplicasNotReady",
    ),
    Case(
        "no-ready-field",
        deployment(None),
        service(IP),
        "Pending",
        "0/3 gateway replicas ready, loadBalancer=true",
        0,
        "203.0.113.7",
        "False",
        "ReplicasNotReady",
    ),
    Case(
        "lb-pending",
        deployment(3),
        service(),
        "Pending",
        "3/3 gateway replicas ready, loadBalancer=false",
        3,
        "",
        "False",
        "LoadBalancerPending",
    ),
    Case(
        "service-missing",
        deployment(3),
        None,
        "Pending",
        "3/3 gateway replicas ready, loadBalancer=false",
        3,
        "",
        "False",
        "LoadBalancerPending",
    ),
    Case(
        "empty-lb-entry",
        deployment(3),
        service({"ip": ""}),
        "Pending",
        "3/3 gateway replicas ready, loadBalancer=false",
        3,
        "",
        "False",
        "LoadBalancerPending",
    ),
    Case(
        "default-two-replicas",
        deployment(2),
        service(IP),
        "Ready",
        "2/2 gateway replicas ready",
        2,
        "203.0.113.7",
        "True",
        "GatewayReady",
        replicas=None,
    ),
]


def status_of(
    gateway: KuraGateway,
    *,
    deployment: dict[str, Any] | None,
    service: dict[str, Any] | None,
    now: datetime,
) -> KuraGatewayStatus:
    """The provider's status from the children the operator observed (absent ones left out)."""
    children = {"Deployment": deployment, "Service": service}
    observed = {kind: obj for kind, obj in children.items() if obj is not None}
    return ingress_nginx().gateway_status(gateway, children=observed, now=now)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_status_table(case: Case) -> None:
    status = status_of(
        gateway(replicas=case.replicas),
        deployment=case.deployment,
        service=case.service,
        now=NOW,
    )
    assert status.phase == case.phase
    assert status.message == case.message
    assert status.ready_replicas == case.ready_replicas
    assert status.load_balancer == case.load_balancer
    assert status.ingress_class_name == "kura-us-east-kgw-abc123"
    assert status.service_name == "kgw-abc123-us-east-controller"
    assert status.last_reconciled_at == NOW
    assert status.observed_generation == 4
    (condition,) = status.conditions or []
    assert condition.type == "Ready"
    assert condition.status == case.condition
    assert condition.reason == case.reason
    assert condition.message == case.message
    assert condition.observed_generation == 4
    assert condition.last_transition_time == NOW


def previous(condition_status: str) -> dict[str, Any]:
    return {
        "phase": "Ready" if condition_status == "True" else "Pending",
        "conditions": [
            {
                "type": "Ready",
                "status": condition_status,
                "lastTransitionTime": EARLIER.isoformat(),
                "reason": "Earlier",
                "message": "earlier",
            }
        ],
    }


@pytest.mark.parametrize(
    ("before", "ready", "transition"),
    [
        ("True", 3, EARLIER),  # still ready: kept
        ("False", 1, EARLIER),  # still not ready, even with another reason: kept
        ("False", 3, NOW),  # became ready
        ("True", 1, NOW),  # lost readiness
    ],
)
def test_transition_time_moves_only_when_the_status_changes(
    before: str, ready: int, transition: datetime
) -> None:
    status = status_of(
        gateway(status=previous(before)),
        deployment=deployment(ready),
        service=service(IP),
        now=NOW,
    )
    (condition,) = status.conditions or []
    assert condition.last_transition_time == transition


def test_now_is_stored_in_utc_and_must_be_aware() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    status = status_of(gateway(), deployment=None, service=None, now=tokyo)
    assert status.last_reconciled_at == NOW
    assert status.last_reconciled_at is not None
    assert status.last_reconciled_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        status_of(gateway(), deployment=None, service=None, now=NOW.replace(tzinfo=None))


def test_the_status_dumps_with_upstream_wire_names() -> None:
    status = status_of(gateway(), deployment=deployment(3), service=service(IP), now=NOW)
    dumped = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert set(dumped) == {
        "phase",
        "message",
        "lastReconciledAt",
        "observedGeneration",
        "conditions",
        "ingressClassName",
        "serviceName",
        "readyReplicas",
        "loadBalancer",
    }
