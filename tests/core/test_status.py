"""A gateway's status and its Ready condition, as every ingress provider computes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kura_core import (
    READY_CONDITION,
    Condition,
    KuraGateway,
    make_gateway_status,
    parse_gateway,
    ready_condition,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)


def earlier(status: str) -> list[Condition]:
    return [
        Condition.model_validate(
            {
                "type": "Ready",
                "status": status,
                "lastTransitionTime": EARLIER.isoformat(),
                "reason": "Earlier",
                "message": "earlier",
            }
        )
    ]


@pytest.mark.parametrize(
    ("before", "ready", "transition"),
    [
        (None, True, NOW),
        ("True", True, EARLIER),
        ("False", False, EARLIER),
        ("False", True, NOW),
        ("True", False, NOW),
    ],
)
def test_the_transition_time_moves_only_with_the_status(
    before: str | None, ready: bool, transition: datetime
) -> None:
    condition = ready_condition(
        earlier(before) if before else None,
        ready=ready,
        reason="Now",
        message="now",
        generation=3,
        now=NOW,
    )
    assert (condition.type, condition.status) == (READY_CONDITION, "True" if ready else "False")
    assert (condition.reason, condition.observed_generation) == ("Now", 3)
    assert condition.last_transition_time == transition


def gateway() -> KuraGateway:
    return parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": {"name": "kgw-abc123-us-east", "namespace": "kura", "generation": 4},
            "spec": {"region": "us-east", "ingressClassName": "kura-us-east-kgw-abc123"},
            "status": {"conditions": [c.model_dump(by_alias=True) for c in earlier("False")]},
        }
    )


def test_a_gateway_status_carries_phase_condition_and_observations() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    status = make_gateway_status(
        gateway(),
        ready=False,
        reason="AddressPending",
        message="no address yet",
        now=tokyo,
        ready_replicas=None,
        load_balancer="",
    )
    assert (status.phase, status.message, status.observed_generation) == (
        "Pending",
        "no address yet",
        4,
    )
    assert status.last_reconciled_at == NOW
    assert status.last_reconciled_at is not None
    assert status.last_reconciled_at.utcoffset() == timedelta(0)
    (condition,) = status.conditions or []
    assert condition.last_transition_time == EARLIER
    assert status.ingress_class_name == "kura-us-east-kgw-abc123"
    ready = make_gateway_status(
        gateway(),
        ready=True,
        reason="GatewayReady",
        message="ok",
        now=NOW,
        ready_replicas=2,
        load_balancer="203.0.113.7",
        service_name="svc",
    )
    assert (ready.phase, ready.ready_replicas, ready.load_balancer, ready.service_name) == (
        "Ready",
        2,
        "203.0.113.7",
        "svc",
    )
    assert (ready.conditions or [])[0].last_transition_time == NOW


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_gateway_status(
            gateway(),
            ready=True,
            reason="R",
            message="m",
            now=NOW.replace(tzinfo=None),
            ready_replicas=1,
            load_balancer="x",
        )
