"""A simulation run's summary, built tick by tick in constant memory.

``kura simulate`` runs for as long as it is asked (a day at one-second ticks is 86,400 ticks per
gateway), so nothing here keeps a tick: each :class:`GatewayTally` holds running extremes, sums
and counts, and a :class:`LatencyHistogram` whose size is bounded by its bins, not by the run.

Run percentiles. Within one tick the simulator's request latency is an exponential sojourn time
of mean ``m`` shifted by the backlog's wait ``w`` (:mod:`kura_core.simulator`), so the latency of
every request of the run is a mixture of such distributions, weighted by each tick's requests.
The histogram keeps that mixture with ``m`` rounded to bins 1% apart (logarithmic) and ``w`` to
bins 0.1 s apart, and reads a quantile by bisection on the mixture's distribution function. A
quantile is therefore within 0.5% + 0.05 s of the exact one (the bins' half-widths): the test
suite compares it with the exact mixture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kura_core.simulator import P50_FACTOR, P95_FACTOR, GatewaySample

M_STEP = math.log(1.01)
WAIT_STEP = 0.1
_BISECTIONS = 40


class LatencyHistogram:
    """The latency of every request of a run: shifted exponentials, binned by mean and shift."""

    __slots__ = ("_bins", "_total")

    def __init__(self) -> None:
        self._bins: dict[tuple[int, int], float] = {}
        self._total = 0.0

    def add(self, mean: float, wait: float, requests: float) -> None:
        """``requests`` requests whose latency is ``wait`` + an exponential of mean ``mean``."""
        if requests <= 0 or mean <= 0:
            return
        key = (round(math.log(mean) / M_STEP), round(wait / WAIT_STEP))
        self._bins[key] = self._bins.get(key, 0.0) + requests
        self._total += requests

    @property
    def bins(self) -> int:
        return len(self._bins)

    def quantile(self, q: float) -> float | None:
        """The latency ``q`` of the run's requests stay within; ``None`` without requests."""
        if self._total <= 0:
            return None
        parts = [
            (math.exp(m * M_STEP), w * WAIT_STEP, weight / self._total)
            for (m, w), weight in self._bins.items()
        ]
        # The mixture's q-quantile lies between its parts' smallest and largest q-quantiles.
        spread = math.log(1 / (1 - q))
        low = min(wait + mean * spread for mean, wait, _ in parts)
        high = max(wait + mean * spread for mean, wait, _ in parts)
        for _ in range(_BISECTIONS):
            x = (low + high) / 2
            below = sum(
                share * -math.expm1(-(x - wait) / mean) for mean, wait, share in parts if x > wait
            )
            low, high = (x, high) if below < q else (low, x)
        return (low + high) / 2


def sojourn(sample: GatewaySample) -> tuple[float, float]:
    """A tick's exponential mean and backlog wait, from two of its percentiles."""
    mean = (sample.p95_latency - sample.p50_latency) / (P95_FACTOR - P50_FACTOR)
    return mean, max(0.0, sample.p50_latency - mean * P50_FACTOR)


@dataclass(slots=True)
class GatewayTally:
    """One gateway over a run: extremes, sums and counts, updated per tick."""

    scale_up: float
    ticks: int = 0
    offered_sum: float = 0.0
    peak_offered: float = 0.0
    peak_saturation: float = 0.0
    worst_p50: float = 0.0
    worst_p90: float = 0.0
    worst_p95: float = 0.0
    worst_p99: float = 0.0
    worst_error_ratio: float = 0.0
    least_success_ratio: float = 1.0
    config_reloads: int = 0
    ticks_reload_failed: int = 0
    least_cert_expiry: float = math.inf
    ticks_over_scale_up: int = 0
    ticks_overloaded: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, s: GatewaySample, tick_seconds: float) -> None:
        # Comparisons rather than max()/min(): this runs once per gateway and tick.
        self.ticks += 1
        self.offered_sum += s.offered_bps
        if s.offered_bps > self.peak_offered:
            self.peak_offered = s.offered_bps
        if s.saturation > self.peak_saturation:
            self.peak_saturation = s.saturation
        if s.p50_latency > self.worst_p50:
            self.worst_p50 = s.p50_latency
        if s.p90_latency > self.worst_p90:
            self.worst_p90 = s.p90_latency
        if s.p95_latency > self.worst_p95:
            self.worst_p95 = s.p95_latency
        if s.p99_latency > self.worst_p99:
            self.worst_p99 = s.p99_latency
        if s.error_ratio > self.worst_error_ratio:
            self.worst_error_ratio = s.error_ratio
        if s.success_ratio < self.least_success_ratio:
            self.least_success_ratio = s.success_ratio
        if s.cert_expiry < self.least_cert_expiry:
            self.least_cert_expiry = s.cert_expiry
        self.config_reloads += s.config_reloads
        if s.config_reload_failed:
            self.ticks_reload_failed += 1
        if s.saturation > self.scale_up:
            self.ticks_over_scale_up += 1
            if s.saturation > 1:
                self.ticks_overloaded += 1
        mean, wait = sojourn(s)
        self.latency.add(mean, wait, s.requests * tick_seconds)

    @property
    def mean_offered(self) -> float:
        return self.offered_sum / self.ticks if self.ticks else 0.0

    def run_quantile(self, q: float) -> float:
        found = self.latency.quantile(q)
        return found if found is not None else 0.0


@dataclass(slots=True)
class AccountTally:
    """One account over a run: its gateway and peak demand."""

    gateway: str = ""
    peak_demand: float = 0.0
