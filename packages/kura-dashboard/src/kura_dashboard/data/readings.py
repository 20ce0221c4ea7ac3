"""What sources read: gateway metrics per refresh, and the cluster's gateways and instances.

Units are the wire's: bytes per second, requests per second, seconds, ratios from 0 to 1. A metric
a source could not read is ``None``, never zero: a missing number must not look like an idle
gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kura_core import LoadBalancerTraffic


@dataclass(frozen=True, slots=True)
class GatewayMetrics:
    """One gateway's metrics at one instant."""

    bytes_in: float | None = None
    bytes_out: float | None = None
    requests: float | None = None
    p95_latency: float | None = None
    error_ratio: float | None = None
    active_connections: float | None = None
    p99_latency: float | None = None
    # Demand in bits per second, when the source knows it (the simulation does; Prometheus only
    # sees what was served).
    offered_bps: float | None = None
    p50_latency: float | None = None
    p90_latency: float | None = None
    success_ratio: float | None = None
    """Share of responses with neither a 4xx nor a 5xx status."""
    config_reloads: float | None = None
    """Successful config reloads within the window."""
    config_reload_failed: float | None = None
    """1 when the last config reload failed (a region: how many of its gateways)."""
    cert_expiry: float | None = None
    """Seconds until the soonest certificate expiry; negative once expired."""

    @property
    def throughput_bps(self) -> float | None:
        """Bits per second in and out together: what the capacity ceiling is compared with."""
        if self.bytes_in is None and self.bytes_out is None:
            return None
        return ((self.bytes_in or 0.0) + (self.bytes_out or 0.0)) * 8

    @property
    def load_bps(self) -> float | None:
        """The offered load when known, else the throughput."""
        return self.offered_bps if self.offered_bps is not None else self.throughput_bps


@dataclass(frozen=True)
class MetricsReadout:
    """Every gateway's metrics at ``at`` (epoch seconds), keyed by the gateway label's value.

    ``problems`` are queries that failed while others answered (a degraded source).
    ``account_demand`` maps (region, account) to bits per second when the source knows which
    account sends what (the simulation); the ladder uses it to spot dedicated candidates.
    ``note`` says how the source read them when it has more than one way (Prometheus: recording
    rules or raw queries).
    """

    at: float
    gateways: Mapping[str, GatewayMetrics]
    problems: tuple[str, ...] = ()
    account_demand: Mapping[tuple[str, str], float] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class TrafficReadout:
    """Each region's load balancer traffic, keyed by region id, as its cloud measured it.

    ``problems`` are load balancers that could not be read while others were (degraded).
    """

    at: float
    regions: Mapping[str, LoadBalancerTraffic]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewayObject:
    """A dedicated ``KuraGateway`` as the cluster reports it."""

    name: str
    namespace: str
    region: str
    ingress_class: str
    controller_class: str | None
    replicas: int
    phase: str | None = None
    message: str | None = None
    load_balancer: str | None = None
    ready_replicas: int | None = None


@dataclass(frozen=True)
class InstanceObject:
    """A ``KuraInstance``: one account's cache in one region, and the class it is routed by."""

    name: str
    namespace: str
    account: str
    region: str
    ingress_class: str | None
    gateway: str | None
    replicas: int
    phase: str | None = None
    ready_replicas: int | None = None


@dataclass(frozen=True)
class Inventory:
    """The cluster's kura objects at ``at``; ``problems`` are objects that could not be read."""

    at: float
    gateways: tuple[GatewayObject, ...] = ()
    instances: tuple[InstanceObject, ...] = ()
    problems: tuple[str, ...] = ()


class SourceError(Exception):
    """A source could not be read. ``unreachable`` says it could not be reached at all."""

    def __init__(self, message: str, *, unreachable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
