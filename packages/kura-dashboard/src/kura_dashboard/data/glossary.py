"""What every number on the dashboard means, its unit and its window: the help screen's glossary.

Taken from the queries the ingress provider supplies (kura_core.metric_queries) and the capacity
model, so the words match what is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kura_dashboard.data.state import DIM_AFTER, STALE_AFTER
from kura_dashboard.data.thresholds import Threshold, Unit


@dataclass(frozen=True)
class Term:
    name: str
    meaning: str
    window: str


def _threshold(threshold: Threshold) -> str:
    def shown(value: float) -> str:
        return f"{value * 100:g}%" if threshold.unit is Unit.RATIO else f"{value:g}s"

    return (
        f"WARN above {shown(threshold.warn)}, CRIT above {shown(threshold.crit)} when held "
        f"{threshold.sustain:g}s; cleared {shown(threshold.margin)} below"
    )


def glossary(window: str, thresholds: Sequence[Threshold]) -> list[Term]:
    """``window`` is the rate window of the metric source (Prometheus: the provider's)."""
    levels = {t.metric: _threshold(t) for t in thresholds}
    return [
        Term("IN", "bytes per second clients send through the gateway, in Gbps", window),
        Term("OUT", "bytes per second the gateway sends to clients, in Gbps", window),
        Term(
            "CEILING",
            "the capacity model's ceiling: the smallest component (LB, node NIC, nginx workers, "
            "CNI, Kura node) x replicas; BINDS names the one that sets it",
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
            "P95 / P99",
            "95th / 99th percentile request duration (the worst shard for a region; P99 when the "
            "source has it). " + levels.get("p95 latency", ""),
            window,
        ),
        Term("5XX", "share of responses with a 5xx status. " + levels.get("5xx", ""), window),
        Term("CONN", "client connections open now", "instant"),
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
