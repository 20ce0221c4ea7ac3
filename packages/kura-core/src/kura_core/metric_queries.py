"""The gateway metrics a dashboard reads, as PromQL an ingress provider supplies.

Gateway queries aggregate by a label that identifies a gateway (``gateway_label``), so one refresh
sends the same number of queries whatever the number of gateways. A query may answer several
metrics at once when they share a selector and a range: the request rate split by status class
gives requests and both ratios, and the request-duration histogram's bucket rates give every
percentile (:class:`Shape`). Prometheus evaluates a selector once per appearance in a query, so
four ``histogram_quantile`` calls cost four times one bucket query; the percentiles are therefore
interpolated here from the buckets, the way ``histogram_quantile`` does.

A gateway query may name the recording rule that records it (:attr:`GatewayQuery.record`):
``kura recording-rules`` renders those rules from the same PromQL, and a reader that finds the
rule loaded reads the recorded series instead, the same series under the rule's name, without
evaluating the query again.

Rates, ratios, percentiles and reload counts are over :attr:`MetricQueries.window`; connections,
the reload state and certificate expiry are instant. ``by_pod`` queries drill into one gateway,
one per metric; they carry a ``{gateway}`` placeholder for the value of
:attr:`MetricQueries.gateway_label`.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class Shape(StrEnum):
    """How the series of a gateway query carry its metrics."""

    VALUE = "value"
    """One series per gateway: the value of the query's one metric."""
    STATUS_CLASSES = "status_classes"
    """Requests per second of a gateway, one series per :data:`STATUS_CLASS_LABEL` value
    (``2xx``, ``4xx``, ``5xx``, ...): requests, the 5xx share and the share of neither 4xx nor
    5xx."""
    BUCKETS = "buckets"
    """Per-second rates of a gateway's cumulative request-duration histogram buckets, one series
    per ``le`` (upper bound, ``+Inf`` last; in seconds unless the query's ``bucket_unit`` says
    otherwise): every latency percentile."""

    @property
    def split_label(self) -> str | None:
        """The label that splits a gateway's series in this shape's answer."""
        if self is Shape.STATUS_CLASSES:
            return STATUS_CLASS_LABEL
        if self is Shape.BUCKETS:
            return BUCKET_LABEL
        return None

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """What a query of this shape answers; a value query names its one metric."""
        if self is Shape.STATUS_CLASSES:
            return (Metric.REQUESTS, Metric.ERROR_RATIO, Metric.SUCCESS_RATIO)
        if self is Shape.BUCKETS:
            return tuple(QUANTILES)
        return ()


STATUS_CLASS_LABEL = "status_class"
BUCKET_LABEL = "le"
QUANTILE_LABEL = "quantile"
# A metric name with the colon Prometheus keeps for recording rules.
RECORD_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*$"
QUANTILES: dict[Metric, float] = {
    Metric.P50_LATENCY: 0.5,
    Metric.P90_LATENCY: 0.9,
    Metric.P95_LATENCY: 0.95,
    Metric.P99_LATENCY: 0.99,
}
# A recorded percentile's quantile label: the rules write it, a reader maps it back.
_QUANTILE_METRICS = {f"{q:g}": metric for metric, q in QUANTILES.items()}

# One answered series: its labels and its value.
Sample = tuple[Mapping[str, str], float]
Readings = dict[str, dict[Metric, float | None]]


class GatewayQuery(BaseModel):
    """One PromQL query of a refresh, aggregated by the gateway label, and what it answers."""

    model_config = ConfigDict(frozen=True)

    promql: str
    shape: Shape = Shape.VALUE
    metric: Metric | None = None
    """The metric of a :attr:`Shape.VALUE` query; the other shapes' metrics are fixed."""
    bucket_unit: float = Field(default=1.0, gt=0)
    """Seconds per unit of a :attr:`Shape.BUCKETS` query's bounds: 0.001 for a histogram in
    milliseconds (PromQL cannot rescale an ``le`` label; the percentiles scale with the bounds)."""
    record: str | None = Field(default=None, pattern=RECORD_NAME)
    """The series a recording rule of :attr:`promql` records, named as Prometheus's convention
    has it (``level:metric:operations``); None when the query has no rule."""
    quantile_record: str | None = Field(default=None, pattern=RECORD_NAME)
    """A buckets query's percentiles in seconds, recorded from :attr:`record` as
    ``histogram_quantile`` computes them, one series per :data:`QUANTILE_LABEL` value: four
    series a gateway to read, whatever the number of buckets."""

    @model_validator(mode="after")
    def _one_metric_for_a_value(self) -> GatewayQuery:
        if (self.shape is Shape.VALUE) != (self.metric is not None):
            raise ValueError("a value query names its metric, and only a value query does")
        if self.bucket_unit != 1.0 and self.shape is not Shape.BUCKETS:
            raise ValueError("only a buckets query has a bucket unit")
        if self.quantile_record is not None and (
            self.shape is not Shape.BUCKETS or self.record is None
        ):
            raise ValueError("only a recorded buckets query has a quantile record")
        return self

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (self.metric,) if self.metric is not None else self.shape.metrics

    @property
    def records(self) -> tuple[str, ...]:
        """Every series this query's rules record: a reader needs them all healthy."""
        return tuple(name for name in (self.record, self.quantile_record) if name is not None)

    @property
    def reads_record(self) -> str | None:
        """The record whose series a reader takes for this query's answer."""
        return self.quantile_record or self.record

    def recording_rules(self) -> list[dict[str, Any]]:
        """The Prometheus rules that record this query (in evaluation order: the quantiles
        read the buckets the same evaluation recorded)."""
        if self.record is None:
            return []
        rules: list[dict[str, Any]] = [{"record": self.record, "expr": self.promql}]
        if self.quantile_record is not None:
            scale = "" if self.bucket_unit == 1.0 else f" * {self.bucket_unit:g}"
            rules.extend(
                {
                    "record": self.quantile_record,
                    "expr": f"histogram_quantile({text}, {self.record}){scale}",
                    "labels": {QUANTILE_LABEL: text},
                }
                for text in _QUANTILE_METRICS
            )
        return rules

    def recorded(self, gateway_label: str) -> str | None:
        """The query of what :attr:`reads_record` names, answering with the labels of what it
        recorded: the rule aggregated by them already, and aggregating by them again drops the
        record's name and any label the rule's group adds (a smaller answer). ``max``, not
        ``sum``: where the rules are loaded twice (two rule files, Thanos without
        deduplication), the copies are equal, and a sum would double every figure."""
        record = self.reads_record
        if record is None:
            return None
        split = QUANTILE_LABEL if self.quantile_record is not None else self.shape.split_label
        labels = ", ".join(label for label in (gateway_label, split) if label)
        return f"max by ({labels}) ({record})"

    def read_recorded(self, samples: Iterable[Sample], gateway_label: str) -> Readings:
        """Each gateway's metrics from the answer of :meth:`recorded`."""
        if self.quantile_record is None:
            return self.read(samples, gateway_label)
        read: Readings = {}
        for labels, value in samples:
            gateway = labels.get(gateway_label)
            metric = _QUANTILE_METRICS.get(labels.get(QUANTILE_LABEL, ""))
            if gateway is None or metric is None:
                continue
            percentiles = read.get(gateway)
            if percentiles is None:
                percentiles = read[gateway] = dict.fromkeys(QUANTILES)
            percentiles[metric] = _finite(value)
        return read

    def read(self, samples: Iterable[Sample], gateway_label: str) -> Readings:
        """Each gateway's metrics from this query's answer; series without the gateway label
        are not a gateway's and are left out."""
        metric = self.metric
        if metric is not None:
            return {
                labels[gateway_label]: {metric: _finite(value)}
                for labels, value in samples
                if gateway_label in labels
            }
        if self.shape is Shape.STATUS_CLASSES:
            return _status_classes(samples, gateway_label)
        return _percentiles(samples, gateway_label, self.bucket_unit)


def _status_classes(samples: Iterable[Sample], gateway_label: str) -> Readings:
    """Requests and ratios, summed in one pass over the answer. No 5xx series means no 5xx
    responses: a ratio of 0, not unknown. Without requests there is no ratio."""
    # Per gateway: all requests, 5xx, 4xx.
    sums: dict[str, list[float]] = {}
    for labels, value in samples:
        gateway = labels.get(gateway_label)
        if gateway is None:
            continue
        totals = sums.get(gateway)
        if totals is None:
            totals = sums[gateway] = [0.0, 0.0, 0.0]
        totals[0] += value
        status = labels.get(STATUS_CLASS_LABEL)
        if status == "5xx":
            totals[1] += value
        elif status == "4xx":
            totals[2] += value
    read: Readings = {}
    for gateway, (total, server, client) in sums.items():
        ratios = total > 0 and math.isfinite(total)
        read[gateway] = {
            Metric.REQUESTS: _finite(total),
            Metric.ERROR_RATIO: server / total if ratios else None,
            Metric.SUCCESS_RATIO: (total - server - client) / total if ratios else None,
        }
    return read


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _percentiles(samples: Iterable[Sample], gateway_label: str, unit: float) -> Readings:
    """Every percentile of each gateway in seconds, its buckets (bounds in ``unit`` seconds)
    gathered in one pass over the answer."""
    # Each distinct ``le`` text is parsed once: every gateway repeats the same few bounds.
    bounds: dict[str, float | None] = {}
    counts: dict[str, dict[float, float]] = {}
    for labels, value in samples:
        gateway = labels.get(gateway_label)
        if gateway is None:
            continue
        merged = counts.get(gateway)
        if merged is None:
            merged = counts[gateway] = {}
        text = labels.get(BUCKET_LABEL, "")
        if text in bounds:
            bound = bounds[text]
        else:
            bound = bounds[text] = _bound(text)
        if bound is not None:  # else not a bucket, as histogram_quantile ignores it
            merged[bound] = merged.get(bound, 0.0) + value
    qs = tuple(QUANTILES.values())
    return {
        gateway: {
            metric: None if value is None else value * unit
            for metric, value in zip(QUANTILES, _merged_quantiles(merged, qs), strict=True)
        }
        for gateway, merged in counts.items()
    }


def _bound(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def bucket_quantiles(
    buckets: Iterable[tuple[float, float]], qs: Iterable[float]
) -> list[float | None]:
    """The ``qs``-quantiles of cumulative ``(upper bound, count)`` buckets, as Prometheus's
    ``histogram_quantile`` computes them, each None where it answers NaN.

    Linear within a bucket, from 0 for the lowest one when its bound is positive (else that
    bound); in the ``+Inf`` bucket, the highest finite bound. Buckets of one bound are added
    together and a count lower than the one before it is raised to it (the histogram's envelope).
    Without a ``+Inf`` bucket, with fewer than two bounds or no observations: None.
    """
    merged: dict[float, float] = {}
    for bound, count in buckets:
        merged[bound] = merged.get(bound, 0.0) + count
    return _merged_quantiles(merged, tuple(qs))


def _merged_quantiles(merged: Mapping[float, float], qs: tuple[float, ...]) -> list[float | None]:
    """:func:`bucket_quantiles` of buckets already added together by bound."""
    bounds = sorted(merged)
    counts = list(itertools.accumulate((merged[bound] for bound in bounds), max))
    if len(bounds) < 2 or bounds[-1] != math.inf or not counts[-1] > 0:
        return [None for _ in qs]
    return [_quantile(q * counts[-1], bounds, counts) for q in qs]


def _quantile(rank: float, bounds: list[float], counts: list[float]) -> float:
    # The first bucket holding the rank, short of the +Inf one.
    index = bisect.bisect_left(counts, rank, hi=len(counts) - 1)
    if index == len(counts) - 1:
        return bounds[-2]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, below = (bounds[index - 1], counts[index - 1]) if index > 0 else (0.0, 0.0)
    return start + (bounds[index] - start) * (rank - below) / (counts[index] - below)


class MetricQueries(BaseModel):
    """PromQL for every metric: per gateway, and per pod of one gateway."""

    model_config = ConfigDict(frozen=True)

    gateway_label: str
    pod_label: str
    window: str
    by_gateway: tuple[GatewayQuery, ...]
    by_pod: dict[Metric, str]

    @model_validator(mode="after")
    def _complete(self) -> MetricQueries:
        answered = [metric for query in self.by_gateway for metric in query.metrics]
        twice = sorted({m for m in answered if answered.count(m) > 1})
        if twice:
            raise ValueError(f"by_gateway answers {', '.join(twice)} more than once")
        records = [record for query in self.by_gateway for record in query.records]
        shared = sorted({r for r in records if records.count(r) > 1})
        if shared:
            raise ValueError(f"by_gateway records more than one query as {', '.join(shared)}")
        for name, table in (("by_gateway", answered), ("by_pod", self.by_pod)):
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
