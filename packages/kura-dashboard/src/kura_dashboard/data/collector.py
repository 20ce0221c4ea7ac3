"""One refresh: ask each source that is due, and keep what it answered and how it went.

A source that fails never takes the refresh down: its exception becomes its connection state, in
words. An unreachable source is skipped until its backoff ends, unless the refresh is forced (the
``space`` key). A traffic source (the load balancers' own figures) is asked at most once per its
``interval``, forced or not: its cloud has nothing newer sooner, and its API rate limit is shared
with other tools. The collector runs in a worker thread; it touches no UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kura_dashboard.data.connection import SourceHealth, SourceStatus
from kura_dashboard.data.readings import Inventory, MetricsReadout, SourceError, TrafficReadout
from kura_dashboard.data.topology import Topology


class MetricSource(Protocol):
    name: str
    target: str

    def fetch(self, now: float) -> list[MetricsReadout]:
        """The readouts since the last fetch, oldest first."""
        ...


class InventorySource(Protocol):
    name: str
    target: str

    def fetch(self, now: float) -> Inventory:
        """The cluster's kura objects now."""
        ...


class TrafficSource(Protocol):
    name: str
    target: str
    interval: float

    def fetch(self, now: float) -> TrafficReadout:
        """The regions' load balancer traffic now."""
        ...


TopologyFor = Callable[[Inventory | None], Topology]


@dataclass(frozen=True)
class RefreshSnapshot:
    """What one refresh brought back."""

    at: float
    readouts: tuple[MetricsReadout, ...]
    inventory: Inventory | None
    statuses: tuple[SourceStatus, ...]
    topology: Topology | None = None
    traffic: TrafficReadout | None = None


def _failure(exc: Exception) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    # A bug or an unexpected answer: still one line in words, and the dashboard keeps running.
    return SourceError(f"{type(exc).__name__}: {exc}", unreachable=False)


class Collector:
    """Runs refreshes against one metric source and, optionally, an inventory and a traffic
    source."""

    def __init__(
        self,
        metrics: MetricSource,
        inventory: InventorySource | None,
        clock: Callable[[], float],
        topology_for: TopologyFor | None = None,
        traffic: TrafficSource | None = None,
    ) -> None:
        self.metrics = metrics
        self.inventory = inventory
        self.traffic = traffic
        self.clock = clock
        self.topology_for = topology_for
        self._health = {metrics.name: SourceHealth(metrics.name, metrics.target)}
        if inventory is not None:
            self._health[inventory.name] = SourceHealth(inventory.name, inventory.target)
        if traffic is not None:
            self._health[traffic.name] = SourceHealth(traffic.name, traffic.target)

    @property
    def statuses(self) -> tuple[SourceStatus, ...]:
        return tuple(health.status for health in self._health.values())

    def collect(self, *, force: bool = False) -> RefreshSnapshot:
        now = self.clock()
        readouts: list[MetricsReadout] = []
        metrics = self._health[self.metrics.name]
        if force or metrics.due(now):
            try:
                readouts = self.metrics.fetch(now)
            except Exception as exc:
                error = _failure(exc)
                metrics.record_failure(now, error.message, unreachable=error.unreachable)
            else:
                problems = tuple(p for readout in readouts for p in readout.problems)
                metrics.record_ok(now, problems, readouts[-1].note if readouts else "")
        inventory = None
        if self.inventory is not None:
            health = self._health[self.inventory.name]
            if force or health.due(now):
                try:
                    inventory = self.inventory.fetch(now)
                except Exception as exc:
                    error = _failure(exc)
                    health.record_failure(now, error.message, unreachable=error.unreachable)
                else:
                    health.record_ok(now, inventory.problems)
        topology = None
        if self.topology_for is not None and inventory is not None:
            topology = self.topology_for(inventory)
        traffic = self._traffic(now, force=force)
        return RefreshSnapshot(now, tuple(readouts), inventory, self.statuses, topology, traffic)

    def _traffic(self, now: float, *, force: bool) -> TrafficReadout | None:
        if self.traffic is None:
            return None
        health = self._health[self.traffic.name]
        checked = health.status.checked_at
        if checked is not None and now - checked < self.traffic.interval:
            return None
        if not (force or health.due(now)):
            return None
        try:
            readout = self.traffic.fetch(now)
        except Exception as exc:
            error = _failure(exc)
            health.record_failure(now, error.message, unreachable=error.unreachable)
            return None
        health.record_ok(now, readout.problems)
        return readout
