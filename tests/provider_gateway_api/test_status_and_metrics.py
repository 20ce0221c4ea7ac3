"""Gateway conditions to KuraGateway status, and the Envoy metric queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kura_core import Metric
from kura_provider_gateway_api.metrics import GATEWAY_LABEL, envoy_queries
from kura_provider_gateway_api.provider import GatewayApiProvider
from tests.provider_gateway_api.objects import gateway

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
PROGRAMMED = "Address assigned to the Gateway, 2/3 envoy replicas available"


def observed(
    *, accepted: str = "True", programmed: str = "True", generation: int = 4, seen: int = 4
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "addresses": [{"type": "IPAddress", "value": "203.0.113.7"}],
            "conditions": [
                {
                    "type": "Accepted",
                    "status": accepted,
                    "reason": "Accepted",
                    "observedGeneration": seen,
                },
                {
                    "type": "Programmed",
                    "status": programmed,
                    "reason": "Programmed" if programmed == "True" else "AddressNotAssigned",
                    "message": PROGRAMMED,
                    "observedGeneration": seen,
                },
            ],
        },
    }


def test_accepted_programmed_and_addressed_is_ready() -> None:
    status = GatewayApiProvider().gateway_status(
        gateway(), children={"Gateway": observed()}, now=NOW
    )
    assert (status.phase, status.load_balancer, status.ready_replicas) == (
        "Ready",
        "203.0.113.7",
        2,
    )
    assert status.conditions is not None
    assert status.conditions[0].status == "True"


@pytest.mark.parametrize(
    ("gateway_object", "reason"),
    [
        (None, "GatewayMissing"),
        (observed(programmed="False"), "AddressNotAssigned"),
        (observed(accepted="False"), "Accepted"),
        # Conditions of an older generation describe a spec that is gone.
        (observed(generation=5, seen=4), "NotAccepted"),
    ],
)
def test_anything_less_is_pending(gateway_object: dict[str, Any] | None, reason: str) -> None:
    children = {"Gateway": gateway_object} if gateway_object is not None else {}
    status = GatewayApiProvider().gateway_status(gateway(), children=children, now=NOW)
    assert status.phase == "Pending"
    assert status.conditions is not None
    assert status.conditions[0].reason == reason


def test_an_ingress_nginx_data_plane_does_not_make_it_ready() -> None:
    workload = {"kind": "Deployment", "status": {"readyReplicas": 2}}
    status = GatewayApiProvider().gateway_status(
        gateway(), children={"Deployment": workload}, now=NOW
    )
    assert status.phase == "Pending"


def test_every_metric_is_answered_per_gateway_and_per_pod() -> None:
    queries = envoy_queries()
    assert queries.gateway_label == GATEWAY_LABEL
    assert set(queries.by_pod) == set(Metric)
    assert all('="{gateway}"' in promql for promql in queries.by_pod.values())
    assert all(GATEWAY_LABEL in q.promql for q in queries.by_gateway)
