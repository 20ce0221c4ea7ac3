"""Everything the dashboard knows, updated one refresh at a time: pure, with the time passed in.

Per gateway and per region it keeps the latest metrics, the time of the last good sample (the
data age), an hour of history in rings, and a threshold machine per metric; the scaling ladder's
recommendation per region is recomputed with each refresh. Threshold crossings, phase changes,
connection changes and config reloads go to the event log.

Saturation is load / capacity ceiling: a shard's from the capacity model; a region's is its
shared shards' load over their summed ceilings. The load is the offered demand when the source
knows it (the simulation), otherwise the throughput in and out (Prometheus). The gateways' health
(config reloads, certificate expiry) is a region's over all its gateways, dedicated ones too: a
failed reload anywhere in the region must show on its row.

Each region's load balancer traffic (bytes in and out, as its cloud measured it) comes from its
own source at its own pace; a region keeps the latest figures with the time the cloud sampled
them, and loses them when a read no longer finds its load balancer.

Sources give the successful reloads within their window, not each reload, so a reload is logged
when that count rises: with Prometheus' sliding window each new reload raises it once, and with
the simulation's window of one tick any reload does. A failed reload is the "reload failed"
threshold going CRIT, logged as a reload event; its recovery too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from kura_core import (
    AccountDemand,
    Bandwidth,
    GatewayKind,
    LoadBalancerTraffic,
    Recommendation,
    Thresholds,
    recommend,
)
from kura_dashboard.data import format as fmt
from kura_dashboard.data.collector import RefreshSnapshot
from kura_dashboard.data.connection import ConnectionState, SourceStatus
from kura_dashboard.data.events import EventKind, EventLog
from kura_dashboard.data.readings import (
    GatewayMetrics,
    Inventory,
    MetricsReadout,
    TrafficReadout,
)
from kura_dashboard.data.ring import Ring
from kura_dashboard.data.thresholds import (
    CERT_EXPIRY,
    DEFAULT_THRESHOLDS,
    RELOAD_FAILED,
    Level,
    Threshold,
    ThresholdMachine,
    Transition,
    Unit,
)
from kura_dashboard.data.topology import GatewayRef, RegionRef, Topology

DEFAULT_HISTORY = 720  # an hour at the default 5 s refresh
DIM_AFTER = 2.0  # intervals without a good sample before a row dims
STALE_AFTER = 5.0  # intervals before it is marked STALE


class Freshness(StrEnum):
    FRESH = "fresh"
    DIM = "dim"
    STALE = "stale"


def freshness(age: float | None, interval: float) -> Freshness:
    """Fresh, dimmed after 2 refresh intervals without data, STALE after 5 (or never seen)."""
    if age is None or age >= STALE_AFTER * interval:
        return Freshness.STALE
    if age >= DIM_AFTER * interval:
        return Freshness.DIM
    return Freshness.FRESH


@dataclass
class History:
    """The rings behind a row's sparklines."""

    load: Ring
    saturation: Ring
    requests: Ring
    connections: Ring

    @classmethod
    def sized(cls, capacity: int) -> History:
        return cls(Ring(capacity), Ring(capacity), Ring(capacity), Ring(capacity))

    def append(self, load: float | None, saturation: float | None, metrics: GatewayMetrics) -> None:
        self.load.append(load)
        self.saturation.append(saturation)
        self.requests.append(metrics.requests)
        self.connections.append(metrics.active_connections)

    @property
    def nbytes(self) -> int:
        return sum(
            ring.nbytes for ring in (self.load, self.saturation, self.requests, self.connections)
        )


def _machines(thresholds: Sequence[Threshold]) -> dict[str, ThresholdMachine]:
    return {threshold.metric: ThresholdMachine(threshold) for threshold in thresholds}


def _values(metrics: GatewayMetrics, saturation: float | None) -> dict[str, float | None]:
    return {
        "saturation": saturation,
        "p95 latency": metrics.p95_latency,
        "5xx": metrics.error_ratio,
        CERT_EXPIRY.metric: metrics.cert_expiry,
        RELOAD_FAILED.metric: metrics.config_reload_failed,
    }


@dataclass
class Subject:
    """A gateway or a region: latest metrics, data age, history and threshold levels."""

    name: str
    history: History
    machines: dict[str, ThresholdMachine]
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    saturation: float | None = None
    at: float | None = None

    @property
    def level(self) -> Level:
        return max((m.level for m in self.machines.values()), default=Level.OK)

    def metric_level(self, metric: str) -> Level:
        machine = self.machines.get(metric)
        return machine.level if machine is not None else Level.OK

    def age(self, now: float) -> float | None:
        return None if self.at is None else now - self.at

    def record(
        self, at: float, metrics: GatewayMetrics | None, capacity_bps: float
    ) -> list[Transition]:
        """A sample at ``at``; ``None`` (no series this time) leaves a gap and ages the row."""
        if metrics is None:
            self.history.append(None, None, GatewayMetrics())
            return []
        load = metrics.load_bps
        saturation = load / capacity_bps if load is not None and capacity_bps > 0 else None
        self.metrics, self.saturation, self.at = metrics, saturation, at
        self.history.append(load, saturation, metrics)
        values = _values(metrics, saturation)
        found = []
        for metric, machine in self.machines.items():
            transition = machine.update(values.get(metric), at)
            if transition is not None:
                found.append(transition)
        return found


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _least(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _weighted(
    pairs: Iterable[tuple[float | None, float | None]],
    worst: Callable[[Iterable[float | None]], float | None],
) -> float | None:
    """A ratio over gateways from (ratio, requests) pairs: weighted by the requests, or the
    ``worst`` ratio when none has requests."""
    known = [(value, requests or 0.0) for value, requests in pairs if value is not None]
    weight = sum(requests for _, requests in known)
    if known and weight > 0:
        return sum(value * requests for value, requests in known) / weight
    return worst(value for value, _ in known)


def aggregate(
    samples: Sequence[GatewayMetrics], gateways: Sequence[GatewayMetrics] | None = None
) -> GatewayMetrics | None:
    """A region's shared shards as one: sums, the worst percentiles, request-weighted ratios.

    The config reloads, reload failures (how many gateways) and soonest certificate expiry are
    over ``gateways`` (default: ``samples``), so a region can count its dedicated gateways too.
    """
    if not samples:
        return None
    every = samples if gateways is None else gateways
    return GatewayMetrics(
        bytes_in=_total(s.bytes_in for s in samples),
        bytes_out=_total(s.bytes_out for s in samples),
        requests=_total(s.requests for s in samples),
        p95_latency=_worst(s.p95_latency for s in samples),
        error_ratio=_weighted(((s.error_ratio, s.requests) for s in samples), _worst),
        active_connections=_total(s.active_connections for s in samples),
        p99_latency=_worst(s.p99_latency for s in samples),
        offered_bps=_total(s.offered_bps for s in samples)
        if all(s.offered_bps is not None for s in samples)
        else None,
        p50_latency=_worst(s.p50_latency for s in samples),
        p90_latency=_worst(s.p90_latency for s in samples),
        success_ratio=_weighted(((s.success_ratio, s.requests) for s in samples), _least),
        config_reloads=_total(s.config_reloads for s in every),
        config_reload_failed=_total(s.config_reload_failed for s in every),
        cert_expiry=_least(s.cert_expiry for s in every),
    )


class DashboardState:
    """The dashboard's model; :meth:`apply` takes a refresh, the rest reads."""

    def __init__(
        self,
        topology: Topology,
        *,
        ladder: Thresholds | None = None,
        thresholds: Sequence[Threshold] = DEFAULT_THRESHOLDS,
        history: int = DEFAULT_HISTORY,
        events: EventLog | None = None,
        interval: float = 5.0,
    ) -> None:
        self.ladder = ladder or Thresholds()
        self.thresholds = tuple(thresholds)
        self.history_size = history
        self.events = events or EventLog()
        self.interval = interval
        self.statuses: dict[str, SourceStatus] = {}
        self.inventory: Inventory | None = None
        self.unmapped: set[str] = set()
        self.recommendations: dict[str, Recommendation] = {}
        self.load_balancers: dict[str, LoadBalancerTraffic] = {}
        self.applied = 0
        self._accounts: dict[tuple[str, str], Ring] = {}
        self.gateways: dict[str, Subject] = {}
        self.regions: dict[str, Subject] = {}
        self.topology = topology
        self.set_topology(topology)

    # --- structure -------------------------------------------------------------------------

    def _subject(self, name: str, metrics: Sequence[str]) -> Subject:
        kept = [t for t in self.thresholds if t.metric in metrics]
        return Subject(name, History.sized(self.history_size), _machines(kept))

    def set_topology(self, topology: Topology) -> None:
        """Switch to a new fleet layout; gateways and regions already known keep their history."""
        self.topology = topology
        self.gateways = {
            g.name: self.gateways.get(g.name)
            or self._subject(g.name, [t.metric for t in self.thresholds])
            for g in topology.gateways
        }
        self.regions = {
            r.id: self.regions.get(r.id) or self._subject(r.id, ["saturation"])
            for r in topology.regions
        }

    # --- updates ---------------------------------------------------------------------------

    def apply(self, snapshot: RefreshSnapshot) -> None:
        self.applied += 1
        self._statuses(snapshot.statuses, snapshot.at)
        if snapshot.topology is not None:
            self.set_topology(snapshot.topology)
            for problem in snapshot.topology.problems:
                self.events.add(snapshot.at, EventKind.TOPOLOGY, "topology", problem, Level.WARN)
        if snapshot.inventory is not None:
            self._inventory(snapshot.inventory)
        for readout in sorted(snapshot.readouts, key=lambda r: r.at):
            self._readout(readout)
        if snapshot.readouts:
            self._recommend()
        if snapshot.traffic is not None:
            self._traffic(snapshot.traffic)

    def _statuses(self, statuses: Sequence[SourceStatus], at: float) -> None:
        levels = {
            ConnectionState.OK: Level.OK,
            ConnectionState.CONNECTING: Level.OK,
            ConnectionState.DEGRADED: Level.WARN,
            ConnectionState.UNREACHABLE: Level.CRIT,
        }
        for status in statuses:
            before = self.statuses.get(status.source)
            self.statuses[status.source] = status
            changed = before is None or (before.state, before.error) != (status.state, status.error)
            if not changed or (before is None and status.state is ConnectionState.OK):
                continue
            message = status.state.value + (f": {status.error}" if status.error else "")
            self.events.add(at, EventKind.CONNECTION, status.source, message, levels[status.state])

    def _inventory(self, inventory: Inventory) -> None:
        before = self.inventory
        self.inventory = inventory
        if before is None:
            return
        phases = {("KuraGateway", g.name): g.phase for g in before.gateways}
        phases |= {("KuraInstance", i.name): i.phase for i in before.instances}
        now = {("KuraGateway", g.name): g.phase for g in inventory.gateways}
        now |= {("KuraInstance", i.name): i.phase for i in inventory.instances}
        for (kind, name), phase in sorted(now.items()):
            old = phases.get((kind, name), phase)
            if old != phase:
                level = Level.OK if phase == "Ready" else Level.WARN
                text = f"{kind} phase {old or 'unknown'} → {phase or 'unknown'}"
                self.events.add(inventory.at, EventKind.PHASE, name, text, level)

    def _traffic(self, readout: TrafficReadout) -> None:
        known = {region.id for region in self.topology.regions}
        self.load_balancers = {
            region: traffic for region, traffic in readout.regions.items() if region in known
        }

    def _readout(self, readout: MetricsReadout) -> None:
        topology = self.topology
        self.unmapped = set(readout.gateways) - set(topology.by_label)
        for region in topology.regions:
            shards, every = [], []
            for ref in topology.in_region(region.id):
                metrics = readout.gateways.get(ref.label)
                subject = self.gateways[ref.name]
                if metrics is not None:
                    # Successful reloads before a failure: the failure is the latest attempt.
                    before = subject.metrics.config_reloads
                    self._reload_event(ref.name, readout.at, before, metrics.config_reloads)
                capacity = ref.ceiling.capacity.bits_per_second
                for change in subject.record(readout.at, metrics, capacity):
                    self._threshold_event(ref.name, change)
                if metrics is None:
                    continue
                every.append(metrics)
                if ref.kind is GatewayKind.SHARD:
                    shards.append(metrics)
            combined = aggregate(shards, every)
            capacity = sum(
                g.ceiling.capacity.bits_per_second
                for g in topology.in_region(region.id)
                if g.kind is GatewayKind.SHARD
            )
            for change in self.regions[region.id].record(readout.at, combined, capacity):
                self._threshold_event(region.id, change)
        for key, demand in readout.account_demand.items():
            ring = self._accounts.setdefault(key, Ring(self.history_size))
            ring.append(demand)

    def _threshold_event(self, subject: str, change: Transition) -> None:
        if change.metric == RELOAD_FAILED.metric:
            failed = change.after > Level.OK
            message = "config reload failed" if failed else "config reload succeeded again"
            self.events.add(change.at, EventKind.RELOAD, subject, message, change.after)
            return
        unit = next(t.unit for t in self.thresholds if t.metric == change.metric)
        if change.metric == CERT_EXPIRY.metric:
            shown = fmt.remaining(change.value)
        elif unit is Unit.SECONDS:
            shown = f"{change.value:.2f}s"
        else:
            shown = f"{change.value:.0%}"
        message = f"{change.metric} {change.before.label} → {change.after.label} ({shown})"
        self.events.add(change.at, EventKind.THRESHOLD, subject, message, change.after)

    def _reload_event(
        self, subject: str, at: float, before: float | None, after: float | None
    ) -> None:
        """A successful reload: the count in the window rose (repeats within the gap count up)."""
        if after is not None and after > (before or 0.0):
            self.events.add(at, EventKind.RELOAD, subject, "config reloaded", Level.OK)

    def _recommend(self) -> None:
        for region in self.topology.regions:
            self.recommendations[region.id] = self.recommendation_for(region)

    def recommendation_for(self, region: RegionRef) -> Recommendation:
        """The ladder's next rung, from the shared load's peak over the history held."""
        peak = self.regions[region.id].history.load.peak() or 0.0
        dedicated = {
            g.account for g in self.topology.in_region(region.id) if g.kind is GatewayKind.DEDICATED
        }
        accounts = [
            AccountDemand(handle=handle, peak=Bandwidth(ring.peak() or 0.0))
            for (rid, handle), ring in sorted(self._accounts.items())
            if rid == region.id and handle not in dedicated
        ]
        return recommend(Bandwidth(peak), accounts, region.shard, region.shards, self.ladder)

    # --- reads -----------------------------------------------------------------------------

    def gateway(self, name: str) -> tuple[GatewayRef, Subject]:
        return self.topology.by_name[name], self.gateways[name]

    def region_gateways(self, region_id: str) -> list[tuple[GatewayRef, Subject]]:
        return [(ref, self.gateways[ref.name]) for ref in self.topology.in_region(region_id)]

    def dedicated_count(self, region_id: str) -> int:
        return sum(1 for g in self.topology.in_region(region_id) if g.kind is GatewayKind.DEDICATED)

    def freshness(self, subject: Subject, now: float) -> Freshness:
        return freshness(subject.age(now), self.interval)

    def status(self, source: str) -> SourceStatus | None:
        return self.statuses.get(source)

    @property
    def history_bytes(self) -> int:
        """Bytes the history rings hold, for the benchmark."""
        subjects: Mapping[str, Subject] = self.gateways | self.regions
        rings = sum(s.history.nbytes for s in subjects.values())
        return rings + sum(r.nbytes for r in self._accounts.values())
