"""The gateway metrics a dashboard reads, as PromQL an ingress provider supplies.

Queries aggregate by a label that identifies a gateway (``by_gateway``), so one refresh sends the
same number of queries whatever the number of gateways: one per :class:`Metric`. Rates, ratios,
percentiles and reload counts are over :attr:`MetricQueries.window`; connections, the reload
state and certificate expiry are instant. ``by_pod`` queries drill into one gateway;
they carry a ``{gateway}`` placeholder for the value of :attr:`MetricQueries.gateway_label`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator


class Metric(StrEnum):
    BYTES_IN = "bytes_in"
    """Request bytes per second, clients to the gateway."""
    BYTES_OUT = "bytes_out"
    """Response bytes per second, the gateway to clients."""
    REQUESTS = "requests"
    """Requests per second."""
    P50_LATENCY = "p50_latency"
    """Median request duration, seconds."""
    P90_LATENCY = "p90_latency"
    """90th percentile request duration, seconds."""
    P95_LATENCY = "p95_latency"
    """95th percentile request duration, seconds."""
    P99_LATENCY = "p99_latency"
    """99th percentile request duration, seconds."""
    ERROR_RATIO = "error_ratio"
    """Share of responses with a 5xx status, 0 to 1."""
    SUCCESS_RATIO = "success_ratio"
    """Share of responses with neither a 4xx nor a 5xx status, 0 to 1."""
    ACTIVE_CONNECTIONS = "active_connections"
    """Client connections open now."""
    CONFIG_RELOAD_FAILED = "config_reload_failed"
    """1 when the gateway's last config reload failed (on any of its pods), else 0; now."""
    CONFIG_RELOADS = "config_reloads"
    """Successful config reloads within the window, summed over the gateway's pods."""
    CERT_EXPIRY = "cert_expiry"
    """Seconds until the soonest expiry of the gateway's TLS certificates (negative once expired);
    no series when the gateway serves no certificate."""


class MetricQueries(BaseModel):
    """PromQL per metric: one series per gateway, and one per pod of a gateway."""

    model_config = ConfigDict(frozen=True)

    gateway_label: str
    pod_label: str
    window: str
    by_gateway: dict[Metric, str]
    by_pod: dict[Metric, str]

    @model_validator(mode="after")
    def _complete(self) -> MetricQueries:
        for name, table in (("by_gateway", self.by_gateway), ("by_pod", self.by_pod)):
            missing = sorted(set(Metric) - set(table))
            if missing:
                raise ValueError(f"{name} lacks {', '.join(missing)}")
        unplaced = sorted(m for m, q in self.by_pod.items() if "{gateway}" not in q)
        if unplaced:
            raise ValueError(f"by_pod queries without a {{gateway}} placeholder: {unplaced}")
        return self

    def for_gateway(self, metric: Metric, gateway: str) -> str:
        """The per-pod query of ``metric`` for one gateway label value."""
        return self.by_pod[metric].replace("{gateway}", gateway)
