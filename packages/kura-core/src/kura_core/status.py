"""The status an ingress provider computes for a KuraGateway: its phase and its ``Ready``
condition, whose ``lastTransitionTime`` moves only when the condition's status does, so
``kubectl wait --for=condition=Ready`` and alerts on a transition see each change once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from kura_core.resources import Condition, KuraGateway, KuraGatewayStatus

READY_CONDITION = "Ready"
READY = "Ready"
PENDING = "Pending"


def ready_condition(
    previous: Sequence[Condition] | None,
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> Condition:
    """The ``Ready`` condition; its transition time is ``now`` unless ``previous`` (the
    conditions last written) has a Ready condition of the same status, whose time it keeps."""
    status: Literal["True", "False"] = "True" if ready else "False"
    transition = next(
        (
            condition.last_transition_time
            for condition in previous or []
            if condition.type == READY_CONDITION and condition.status == status
        ),
        now,
    )
    return Condition(
        type=READY_CONDITION,
        status=status,
        observed_generation=generation,
        last_transition_time=transition,
        reason=reason,
        message=message,
    )


def make_gateway_status(
    gateway: KuraGateway,
    *,
    ready: bool,
    reason: str,
    message: str,
    now: datetime,
    ready_replicas: int | None,
    load_balancer: str,
    service_name: str | None = None,
) -> KuraGatewayStatus:
    """A gateway's status: phase Ready or Pending, with the message, the Ready condition and
    what the provider observed. ``now`` must be timezone-aware; it is stored in UTC."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    generation = gateway.metadata.generation
    return KuraGatewayStatus(
        phase=READY if ready else PENDING,
        message=message,
        last_reconciled_at=now,
        observed_generation=generation,
        conditions=[
            ready_condition(
                gateway.status.conditions if gateway.status else None,
                ready=ready,
                reason=reason,
                message=message,
                generation=generation,
                now=now,
            )
        ],
        ingress_class_name=gateway.spec.ingress_class_name,
        service_name=service_name,
        ready_replicas=ready_replicas,
        load_balancer=load_balancer,
    )
