"""What every number on the dashboard means, its unit and its window: the help screen's glossary.

Taken from the queries the ingress provider supplies (kura_core.metric_queries) and the capacity
model, so the words match what is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kura_dashboard.data.state import DIM_AFTER, STALE_AFTER
from kura_dashboard.data.thresholds import (
    CERT_EXPIRY,
    RELOAD_FAILED,
    TIME_SUFFIXES,
    Threshold,
    Unit,
)


@dataclass(frozen=True)
class Term:
    name: str
    meaning: str
    window: str


def _span(seconds: float) -> str:
    """``8d``, ``1s``, ``0.2s``: the largest unit that shows a whole number."""
    for suffix, size in reversed(TIME_SUFFIXES):
        if seconds and suffix != "ms" and (seconds / size).is_integer():
            return f"{seconds / size:g}{suffix}"
    return f"{seconds:g}s"


def _threshold(threshold: Threshold) -> str:
    if threshold.unit is Unit.FLAG:
        return "CRIT at once, no WARN"

    def shown(value: float) -> str:
        return f"{value * 100:g}%" if threshold.unit is Unit.RATIO else _span(value)

    worse, better = ("below", "above") if threshold.falling else ("above", "below")
    held = f" when held {threshold.sustain:g}s" if threshold.sustain else ""
    return (
        f"WARN {worse} {shown(threshold.warn)}, CRIT {worse} {shown(threshold.crit)}{held}; "
        f"cleared {shown(threshold.margin)} {better}"
    )


def glossary(window: str, thresholds: Sequence[Threshold]) -> list[Term]:
    """``window`` is the rate window of the metric source (Prometheus: the provider's)."""
    levels = {t.metric: _threshold(t) for t in thresholds}
    return [
        Term("IN", "bytes per second clients send through the gateway, in Gbps", window),
        Term("OUT", "bytes per second the gateway sends to clients, in Gbps", window),
        Term(
            "LB IN / LB OUT",
            "the regional load balancer's own bandwidth into it and out of it, in Gbps, as its "
            "cloud measured it (TLS and PROXY bytes included); '-' when its provider cannot read "
            "it or has no credentials (hetzner: HCLOUD_TOKEN). The region panel adds the client "
            "connections open through it and when it was sampled",
            "the cloud's latest sample (hetzner: per minute)",
        ),
        Term(
            "CEILING",
            "the capacity model's ceiling: the smallest component (LB, node NIC, the data plane's "
            "nginx workers or Envoy proxies, CNI, Kura node) x replicas; BINDS names the one that "
            "sets it. 'unknown (≤ X)' when a term has no figure (Envoy's, on the Gateway API "
            "provider): X is what the other terms allow, and SATURATION, shown '≥', a lower bound",
            "configuration",
        ),
        Term(
            "SATURATION",
            "load ÷ ceiling; load is bytes in + out (the offered demand when simulated). "
            + levels.get("saturation", ""),
            window,
        ),
        Term("REQ/S", "requests finished per second", window),
        Term(
            "P50 / P90 / P95 / P99",
            "50th (median) / 90th / 95th / 99th percentile request duration, from the client's "
            "first byte to its last (the worst shard for a region). P95: "
            + levels.get("p95 latency", ""),
            window,
        ),
        Term(
            "SUCCESS",
            "share of responses with neither a 4xx nor a 5xx status. Cache misses are 404s, so "
            "a low figure is not by itself a gateway fault; 5XX is",
            window,
        ),
        Term("5XX", "share of responses with a 5xx status. " + levels.get("5xx", ""), window),
        Term("CONN", "client connections open now", "instant"),
        Term(
            "RELOADS",
            "successful config reloads of the gateway's controllers (all its pods) in the window; "
            "FAILED when its last reload failed, for a region when any of its gateways' did "
            "(the drill-down and the event log name which). "
            + levels.get(RELOAD_FAILED.metric, ""),
            f"{window}; FAILED: the last reload",
        ),
        Term(
            "CERT",
            "time until the soonest of the gateway's TLS certificates expires, rounded down "
            "(a region: over every gateway, dedicated ones too). "
            + levels.get(CERT_EXPIRY.metric, ""),
            "instant",
        ),
        Term("DED", "dedicated gateways in the region", "instant"),
        Term(
            "AGE",
            f"time since the last good sample: dimmed after {DIM_AFTER:g} refresh intervals, "
            f"STALE after {STALE_AFTER:g}",
            "instant",
        ),
        Term("HISTORY", "saturation per refresh, oldest left, 100% at the top", "history held"),
        Term(
            "LADDER",
            "kura_core's scaling ladder from the peak shared load held: hold, replicas, shards, "
            "or a dedicated gateway for an account above the dedicated fraction of a shard",
            "history held",
        ),
    ]
