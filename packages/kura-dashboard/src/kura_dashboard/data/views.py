"""The tables the screens show, as plain data: columns, rows of text cells, sort values, levels.

The TUI renders them into DataTables, the ``--once`` frame into rich tables, and ``e`` exports
them, so every way out shows the same numbers. Views are built for a width: optional columns (the
history sparkline, the binding component, the ceiling, the other percentiles, ...) are left out
when they do not fit, least important first, and the region's detail panel shows them instead.
An optional column that shows a WARN or CRIT somewhere is never left out: at 80 columns the
certificate and reload columns appear when they have something to say.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kura_core import GatewayKind, LoadBalancerTraffic
from kura_dashboard.data import format as fmt
from kura_dashboard.data.filters import NO_FILTER, RowFilter
from kura_dashboard.data.readings import GatewayMetrics
from kura_dashboard.data.sorting import SortSpec, SortValue
from kura_dashboard.data.state import DashboardState, Freshness, Subject
from kura_dashboard.data.thresholds import CERT_EXPIRY, P95_LATENCY, RELOAD_FAILED, Level
from kura_dashboard.data.topology import GatewayRef

WIDE = 120
WIDE_BAR = 100  # table cells from which saturation bars get 10 cells instead of 4
HISTORY_WIDTH = 24


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    numeric: bool = False
    descending: bool = False
    # 0: always shown; otherwise dropped when the table does not fit, highest first, unless
    # one of its cells shows a WARN or CRIT.
    optional: int = 0
    # A number that is worse when low (time left) sorts smallest first.
    ascending: bool = False

    @property
    def sorts_descending(self) -> bool:
        """Numbers and bars sort biggest (worst) first when their column is picked."""
        return (self.numeric or self.descending) and not self.ascending


@dataclass(frozen=True)
class Cell:
    text: str
    sort: SortValue = None
    level: Level | None = None


@dataclass(frozen=True)
class Row:
    id: str
    cells: Mapping[str, Cell]
    fields: Mapping[str, str]
    freshness: Freshness = Freshness.FRESH
    level: Level = Level.OK


@dataclass(frozen=True)
class View:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    default_sort: SortSpec
    notes: tuple[str, ...] = field(default=())

    def filtered(self, row_filter: RowFilter = NO_FILTER) -> list[Row]:
        return [row for row in self.rows if row_filter.matches(row.fields)]

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)


def clock_text(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _age_cell(subject: Subject, state: DashboardState, now: float) -> Cell:
    age = subject.age(now)
    shown = fmt.age(age)
    if state.freshness(subject, now) is Freshness.STALE:
        shown = f"STALE {shown}" if age is not None else "STALE"
    return Cell(shown, age)


def fit(columns: Sequence[Column], rows: Sequence[Row], width: int) -> tuple[Column, ...]:
    """The columns that fit ``width`` cells: optional ones go, highest first, until they do;
    one that shows a WARN or CRIT in some row stays."""

    def need(column: Column) -> int:
        texts = [len(row.cells[column.key].text) for row in rows]
        return max([len(column.header), *texts]) + 2  # the table's cell padding

    def alarming(column: Column) -> bool:
        return any((row.cells[column.key].level or Level.OK) > Level.OK for row in rows)

    chosen = list(columns)
    droppable = [c for c in columns if c.optional and not alarming(c)]
    for column in sorted(droppable, key=lambda c: -c.optional):
        if sum(need(c) for c in chosen) <= width:
            break
        chosen.remove(column)
    return tuple(chosen)


def _levelled(text: str, sort: SortValue, level: Level) -> Cell:
    """A cell with a threshold: coloured by its level, and saying it in words unless OK."""
    return Cell(text if level is Level.OK else f"{text} {level.label}", sort, level)


def _reload_cell(metrics: GatewayMetrics, level: Level) -> Cell:
    """Successful reloads in the window, or FAILED (a label in itself) when the last one failed;
    text sorts before every number when descending, so failures come first."""
    if metrics.config_reload_failed:
        return Cell("FAILED", "FAILED", level)
    return Cell(fmt.whole(metrics.config_reloads), metrics.config_reloads, level)


def _common_cells(
    subject: Subject,
    ceiling_bps: float,
    width: int,
    levels: Mapping[str, Level] | None = None,
    *,
    unknown: Sequence[str] = (),
) -> dict[str, Cell]:
    """The metric cells of a gateway or region; ``levels`` overrides the subject's own.
    ``unknown`` names the ceiling's terms without a figure: ``ceiling_bps`` is then an upper
    bound, and the saturation computed on it a lower bound."""
    m = subject.metrics

    def level(metric: str) -> Level:
        given = (levels or {}).get(metric)
        return given if given is not None else subject.metric_level(metric)

    bar_width = 10 if width >= WIDE_BAR else 4
    return {
        "sat": Cell(
            fmt.bar(
                subject.saturation,
                subject.metric_level("saturation"),
                bar_width,
                at_least=bool(unknown),
            ),
            subject.saturation,
            subject.metric_level("saturation"),
        ),
        "in": Cell(fmt.gbps(_bits(m.bytes_in)), m.bytes_in),
        "out": Cell(fmt.gbps(_bits(m.bytes_out)), m.bytes_out),
        "ceiling": Cell(fmt.ceiling(ceiling_bps, bound=bool(unknown)), ceiling_bps),
        "rps": Cell(fmt.count(m.requests), m.requests),
        "p50": Cell(fmt.seconds(m.p50_latency), m.p50_latency),
        "p90": Cell(fmt.seconds(m.p90_latency), m.p90_latency),
        "p95": _levelled(fmt.seconds(m.p95_latency), m.p95_latency, level("p95 latency")),
        "p99": Cell(fmt.seconds(m.p99_latency), m.p99_latency),
        "succ": Cell(fmt.percent(m.success_ratio, 1), m.success_ratio),
        "err": _levelled(fmt.percent(m.error_ratio, 1), m.error_ratio, level("5xx")),
        # Connections are whole, even as a Prometheus average over a window.
        "conn": Cell(fmt.whole(m.active_connections), m.active_connections),
        "reload": _reload_cell(m, level(RELOAD_FAILED.metric)),
        "cert": _levelled(fmt.remaining(m.cert_expiry), m.cert_expiry, level(CERT_EXPIRY.metric)),
        "hist": Cell(fmt.sparkline(subject.history.saturation.values(), HISTORY_WIDTH, top=1.0)),
    }


# Gateway health a region row shows at the level of its worst gateway, dedicated ones too.
HEALTH = (RELOAD_FAILED.metric, CERT_EXPIRY.metric)


def region_levels(state: DashboardState, region_id: str) -> dict[str, Level]:
    """The region's reload and certificate levels, those of its worst gateway, and its p95's,
    that of its worst shard (whose p95 the row shows)."""
    gateways = state.region_gateways(region_id)
    levels = {
        metric: max((g.metric_level(metric) for _, g in gateways), default=Level.OK)
        for metric in HEALTH
    }
    levels[P95_LATENCY.metric] = max(
        (
            g.metric_level(P95_LATENCY.metric)
            for ref, g in gateways
            if ref.kind is GatewayKind.SHARD
        ),
        default=Level.OK,
    )
    return levels


def overview_view(state: DashboardState, now: float, *, width: int) -> View:
    """One row per region: its shared shards together, and how many dedicated gateways it has."""
    rows = []
    for region in state.topology.regions:
        subject = state.regions[region.id]
        levels = region_levels(state, region.id)
        cells = _common_cells(
            subject, region.shared_ceiling_bps, width, levels, unknown=region.unknown
        )
        level = max(subject.level, *levels.values())
        binding = region.shard.ceiling().binding.name
        rung = state.recommendations.get(region.id)
        cells |= {
            "region": Cell(region.id, region.id),
            "binds": Cell(binding, binding),
            "ded": Cell(str(state.dedicated_count(region.id)), state.dedicated_count(region.id)),
            "age": _age_cell(subject, state, now),
            **_load_balancer_cells(state.load_balancers.get(region.id)),
        }
        rows.append(
            Row(
                id=region.id,
                cells=cells,
                fields={
                    "region": region.id,
                    "name": region.display_name,
                    "level": level.label.lower(),
                    "rung": rung.rung.value if rung else "",
                    "binds": binding,
                },
                freshness=state.freshness(subject, now),
                level=level,
            )
        )
    # Dropped first to last when narrow: history, binding, the load balancer's figures, ceiling,
    # p50, p90, reloads, success, p99, certificates, then the dedicated count and throughput (the
    # detail panel has them all).
    columns = (
        Column("region", "REGION"),
        Column("sat", "SATURATION", descending=True),
        Column("in", "IN", numeric=True, optional=2),
        Column("out", "OUT", numeric=True, optional=1),
        Column("lb_in", "LB IN", numeric=True, optional=12),
        Column("lb_out", "LB OUT", numeric=True, optional=11),
        Column("ceiling", "CEILING", numeric=True, optional=10),
        Column("binds", "BINDS", optional=13),
        Column("rps", "REQ/S", numeric=True),
        Column("p50", "P50", numeric=True, optional=9),
        Column("p90", "P90", numeric=True, optional=8),
        Column("p95", "P95", numeric=True),
        Column("p99", "P99", numeric=True, optional=5),
        Column("succ", "SUCCESS", numeric=True, ascending=True, optional=6),
        Column("err", "5XX", numeric=True),
        Column("conn", "CONN", numeric=True),
        Column("reload", "RELOADS", numeric=True, optional=7),
        Column("cert", "CERT", numeric=True, ascending=True, optional=4),
        Column("ded", "DED", numeric=True, optional=3),
        Column("age", "AGE", numeric=True),
        Column("hist", "SATURATION HISTORY", optional=14),
    )
    return View(
        "overview",
        "Regions",
        fit(columns, rows, width),
        tuple(rows),
        SortSpec("sat", descending=True),
        notes=(
            "IN/OUT and CEILING in Gbps, shared shards only; LB IN/OUT: the regional load "
            "balancer's own figures, Gbps, for the shard it fronts (s1 = shard 1); "
            "SATURATION = load ÷ ceiling; percentiles of the worst shard; "
            "RELOADS and CERT over every gateway; DED = dedicated gateways",
            *(
                unknown_ceiling_note(region.id, region.unknown, region.shared_ceiling_bps)
                for region in state.topology.regions
                if region.unknown
            ),
        ),
    )


# The regional load balancer fronts the region's ingress class, shard 1; shard n has its own.
REGIONAL_LB_SHARD = 1


def _load_balancer_cells(traffic: LoadBalancerTraffic | None) -> dict[str, Cell]:
    if traffic is None:
        return {"lb_in": Cell("-"), "lb_out": Cell("-")}
    shard = f"s{REGIONAL_LB_SHARD}"
    return {
        "lb_in": Cell(f"{shard} {fmt.gbps(_bits(traffic.bytes_in))}", traffic.bytes_in),
        "lb_out": Cell(f"{shard} {fmt.gbps(_bits(traffic.bytes_out))}", traffic.bytes_out),
    }


def _bits(bytes_per_second: float | None) -> float | None:
    return None if bytes_per_second is None else bytes_per_second * 8


def load_balancer_summary(state: DashboardState, region_id: str, now: float) -> str:
    """``LB tuist-kura-eu-central-ingress (shard 1) in 1.2 / out 3.4 Gbps, 1.2k open, sampled
    40s ago``."""
    traffic = state.load_balancers.get(region_id)
    if traffic is None:
        return "LB traffic not read"
    return (
        f"LB {traffic.name} (shard {REGIONAL_LB_SHARD}) in "
        f"{fmt.gbps(_bits(traffic.bytes_in))} / out {fmt.gbps(_bits(traffic.bytes_out))} Gbps, "
        f"{fmt.whole(traffic.open_connections)} open, sampled {fmt.age(now - traffic.at)} ago"
    )


def _kind(ref: GatewayRef) -> str:
    return f"shard {ref.shard}" if ref.kind is GatewayKind.SHARD else "dedicated"


def region_view(state: DashboardState, region_id: str, now: float, *, width: int) -> View:
    """The region's shards and dedicated gateways, each with the overview's metrics."""
    region = state.topology.region(region_id)
    rows = []
    for ref, subject in state.region_gateways(region_id):
        cells = _common_cells(
            subject, ref.ceiling.capacity.bits_per_second, width, unknown=ref.unknown
        )
        cells |= {
            "gateway": Cell(ref.name, ref.name),
            "kind": Cell(_kind(ref), _kind(ref)),
            "account": Cell(ref.account or "-", ref.account),
            "binds": Cell(ref.ceiling.binding.name, ref.ceiling.binding.name),
            "age": _age_cell(subject, state, now),
        }
        rows.append(
            Row(
                id=ref.name,
                cells=cells,
                fields={
                    "gateway": ref.name,
                    "kind": ref.kind.value,
                    "shard": str(ref.shard or ""),
                    "account": ref.account or "",
                    "class": ref.ingress_class,
                    "region": ref.region,
                    "level": subject.level.label.lower(),
                },
                freshness=state.freshness(subject, now),
                level=subject.level,
            )
        )
    # Metrics first. Dropped first to last when narrow: history, binding, ceiling, kind (the
    # name says it), account, p50, p90, reloads, success, p99, certificates, in, out, connections.
    columns = (
        Column("gateway", "GATEWAY"),
        Column("sat", "SATURATION", descending=True),
        Column("in", "IN", numeric=True, optional=3),
        Column("out", "OUT", numeric=True, optional=2),
        Column("rps", "REQ/S", numeric=True),
        Column("p50", "P50", numeric=True, optional=9),
        Column("p90", "P90", numeric=True, optional=8),
        Column("p95", "P95", numeric=True),
        Column("p99", "P99", numeric=True, optional=5),
        Column("succ", "SUCCESS", numeric=True, ascending=True, optional=6),
        Column("err", "5XX", numeric=True),
        Column("conn", "CONN", numeric=True, optional=1),
        Column("reload", "RELOADS", numeric=True, optional=7),
        Column("cert", "CERT", numeric=True, ascending=True, optional=4),
        Column("age", "AGE", numeric=True),
        Column("kind", "KIND", optional=11),
        Column("account", "ACCOUNT", optional=10),
        Column("ceiling", "CEILING", numeric=True, optional=12),
        Column("binds", "BINDS", optional=13),
        Column("hist", "SATURATION HISTORY", optional=14),
    )
    return View(
        f"region:{region_id}",
        f"{region.display_name} ({region_id}): {region.shards} shard(s) x "
        f"{region.shard.replicas} replicas, {state.dedicated_count(region_id)} dedicated",
        fit(columns, rows, width),
        tuple(rows),
        SortSpec("sat", descending=True),
        notes=(
            "IN/OUT and CEILING in Gbps; SATURATION = load ÷ the gateway's ceiling; "
            "RELOADS = successful config reloads in the window",
            *(
                f"{ref.name}: the ceiling is unknown, {', '.join(ref.unknown)} having no "
                "figure; CEILING is what the other terms allow, and SATURATION (≥) rests on it"
                for ref, _ in state.region_gateways(region_id)
                if ref.unknown
            ),
        ),
    )


def assignments_view(state: DashboardState) -> View:
    """Which account sits on which gateway and class, with the gateway's phase and address."""
    inventory = state.inventory
    rows = []
    if inventory is not None:
        gateways = {g.name: g for g in inventory.gateways}
        for instance in inventory.instances:
            gateway = gateways.get(instance.gateway or "")
            dedicated = gateway is not None or instance.gateway is not None
            phase = (gateway.phase if gateway else instance.phase) or "-"
            if gateway is not None:
                ready = f"{gateway.ready_replicas or 0}/{gateway.replicas}"
                ready_sort: float = gateway.ready_replicas or 0
            else:
                ready = f"{instance.ready_replicas or 0}/{instance.replicas}"
                ready_sort = instance.ready_replicas or 0
            gateway_name = instance.gateway or instance.ingress_class or "-"
            kind = "dedicated" if dedicated else "shared"
            address = (gateway.load_balancer if gateway else None) or "-"
            ingress_class = (gateway.ingress_class if gateway else instance.ingress_class) or "-"
            cells = {
                "account": Cell(instance.account, instance.account),
                "kind": Cell(kind, kind),
                "gateway": Cell(gateway_name, gateway_name),
                "class": Cell(ingress_class, ingress_class),
                "region": Cell(instance.region, instance.region),
                "phase": Cell(phase, phase, Level.OK if phase == "Ready" else Level.WARN),
                "lb": Cell(address, address),
                "ready": Cell(ready, ready_sort),
            }
            rows.append(
                Row(
                    id=f"{instance.namespace}/{instance.name}",
                    cells=cells,
                    fields={
                        "account": instance.account,
                        "kind": kind,
                        "gateway": gateway_name,
                        "class": ingress_class,
                        "region": instance.region,
                        "phase": phase,
                    },
                )
            )
    columns = (
        Column("account", "ACCOUNT"),
        Column("kind", "KIND"),
        Column("gateway", "GATEWAY"),
        Column("class", "CLASS"),
        Column("region", "REGION"),
        Column("phase", "PHASE"),
        Column("lb", "LB ADDRESS"),
        Column("ready", "READY", numeric=True),
    )
    return View(
        "assignments",
        "Assignments: which account sits on which gateway",
        columns,
        tuple(rows),
        SortSpec("account"),
        notes=("READY = ready / desired replicas of the dedicated gateway (shared: of the cache)",),
    )


def events_view(state: DashboardState) -> View:
    """The event log, newest first."""
    rows = []
    for event in state.events.newest_first():
        cells = {
            "time": Cell(clock_text(event.at), event.at),
            "level": Cell(event.level.label, float(event.level), event.level),
            "kind": Cell(event.kind.value, event.kind.value),
            "subject": Cell(event.subject, event.subject),
            "message": Cell(event.message, event.message),
            "count": Cell(f"x{event.count}" if event.count > 1 else "", event.count),
        }
        rows.append(
            Row(
                id=f"{event.at:.3f}:{event.kind.value}:{event.subject}:{event.message}",
                cells=cells,
                fields={
                    "kind": event.kind.value,
                    "subject": event.subject,
                    "level": event.level.label.lower(),
                    "message": event.message,
                },
                level=event.level,
            )
        )
    columns = (
        Column("time", "TIME (UTC)"),
        Column("level", "LEVEL"),
        Column("kind", "KIND"),
        Column("subject", "SUBJECT"),
        Column("message", "MESSAGE"),
        Column("count", "REPEATS", numeric=True),
    )
    return View(
        "events",
        f"Event log ({len(state.events)} of at most {state.events.capacity})",
        columns,
        tuple(rows),
        SortSpec("time", descending=True),
    )


@dataclass(frozen=True)
class LadderLine:
    region: str
    rung: str
    reasons: tuple[str, ...]


def ladder_lines(state: DashboardState) -> list[LadderLine]:
    """Each region's next rung on the scaling ladder, with the reasons in words; where the
    ceiling is unknown, a last reason says the rung rests on its upper bound."""
    lines = []
    for region in state.topology.regions:
        recommendation = state.recommendations.get(region.id)
        if recommendation is None:
            lines.append(LadderLine(region.id, "-", ("waiting for data",)))
            continue
        reasons = tuple(action.reason for action in recommendation.actions)
        if region.unknown:
            bound = fmt.gbps(region.shard.ceiling().capacity.bits_per_second)
            reasons += (
                f"the ceiling is unknown, {', '.join(region.unknown)} having no figure: this "
                f"rests on the {bound} Gbps per shard the other terms allow",
            )
        lines.append(LadderLine(region.id, recommendation.rung.value, reasons))
    return lines


def unknown_ceiling_note(region: str, unknown: Sequence[str], bound_bps: float) -> str:
    """What ``kura plan`` says of a region whose ceiling has a term without a figure."""
    return (
        f"{region}: the ceiling is unknown, {', '.join(unknown)} having no figure; "
        f"{fmt.gbps(bound_bps)} Gbps is what the other terms allow, and SATURATION (≥, a lower "
        "bound) and the ladder rest on it. Give the figure in a scenario once measured "
        "(docs/capacity.md)"
    )


@dataclass(frozen=True)
class Spark:
    label: str
    line: str
    latest: str


def region_summary(state: DashboardState, region_id: str, now: float) -> str:
    """Ceiling and what binds it, throughput and data age; then the latency percentiles, success
    ratio and the gateways' health (reloads, certificates), naming the gateways in trouble."""
    region = state.topology.region(region_id)
    subject = state.regions[region_id]
    ceiling = region.shard.ceiling()
    binding = ceiling.binding
    assumed = ", an assumption" if binding.assumption else ""
    shared = f"{fmt.gbps(region.shared_ceiling_bps)} Gbps"
    binds = f"{binding.name} binds{assumed}"
    if region.unknown:
        # The figures are then what the other terms allow.
        shared = f"unknown, at most {shared}"
        binds = f"{', '.join(region.unknown)} having no figure; of the others {binds}"
    m = subject.metrics
    return (
        f"{region.display_name}: ceiling {shared} = "
        f"{region.shards} x {fmt.gbps(ceiling.capacity.bits_per_second)} Gbps "
        f"({binds}) · in "
        f"{fmt.gbps(_bits(m.bytes_in))} / out "
        f"{fmt.gbps(_bits(m.bytes_out))} Gbps · "
        f"{_age_cell(subject, state, now).text} old\n"
        f"{region_health(state, region_id)} · {load_balancer_summary(state, region_id, now)}"
    )


def region_health(state: DashboardState, region_id: str) -> str:
    """``p50 40ms · p90 …`` of the region's worst shard, its success ratio, reloads and the
    soonest certificate, with the gateways whose reload failed or certificate is near expiry."""
    m = state.regions[region_id].metrics
    gateways = state.region_gateways(region_id)
    failed = [ref.name for ref, g in gateways if g.metric_level(RELOAD_FAILED.metric) > Level.OK]
    reloads = f"reloads {fmt.whole(m.config_reloads)}"
    if failed:
        reloads += f", last FAILED on {', '.join(failed)}"
    cert = f"soonest cert {fmt.remaining(m.cert_expiry)}"
    expiring = [
        f"{ref.name} {fmt.remaining(g.metrics.cert_expiry)} {level.label}"
        for ref, g in gateways
        if (level := g.metric_level(CERT_EXPIRY.metric)) > Level.OK
    ]
    if expiring:
        cert = "cert " + ", ".join(expiring)
    return (
        f"p50 {fmt.seconds(m.p50_latency)} · p90 {fmt.seconds(m.p90_latency)} · "
        f"p99 {fmt.seconds(m.p99_latency)} · success {fmt.percent(m.success_ratio, 1)} · "
        f"{reloads} · {cert}"
    )


def region_sparks(state: DashboardState, region_id: str, width: int) -> list[Spark]:
    """Sparklines of the region's saturation, requests and connections over the history."""
    history = state.regions[region_id].history
    saturation = fmt.percent(history.saturation.last())
    if state.topology.region(region_id).unknown and saturation != fmt.UNKNOWN:
        saturation = f"≥{saturation}"  # over an upper bound of the ceiling
    return [
        Spark(
            "saturation",
            fmt.sparkline(history.saturation.values(), width, top=1.0),
            saturation,
        ),
        Spark(
            "req/s",
            fmt.sparkline(history.requests.values(), width),
            fmt.count(history.requests.last()),
        ),
        Spark(
            "connections",
            fmt.sparkline(history.connections.values(), width),
            fmt.count(history.connections.last()),
        ),
    ]
