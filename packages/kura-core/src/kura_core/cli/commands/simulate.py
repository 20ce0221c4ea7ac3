"""``kura simulate``: the capacity simulator, headless, as a table, JSON/YAML or a CSV series."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

import click
from pydantic import BaseModel, Field
from rich.console import Group

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.cli.params import DURATION
from kura_core.errors import InputError
from kura_core.simulation_summary import AccountTally, GatewayTally
from kura_core.simulator import (
    DEFAULT_SIMULATION,
    GatewaySample,
    SimulatedGateway,
    SimulationScenario,
    Simulator,
    Tick,
    load_simulation,
)
from kura_core.units import Bandwidth, Duration

# A run longer than this would take minutes (tens of microseconds a tick); the summary itself
# would still fit in constant memory.
MAX_TICKS = 1_000_000
# Points a JSON/YAML report holds in memory (some 400 bytes each, printed); more go to a file.
REPORT_SERIES_LIMIT = 100_000


class GatewayInfo(BaseModel):
    name: str
    region: str
    kind: str
    account: str | None
    ingress_class: str
    replicas: int
    ceiling_gbps: float
    binding: str
    unknown_components: list[str] = Field(
        default_factory=list,
        description="Terms of the ceiling without a figure (Envoy's): the ceiling is then "
        "unknown, and ceiling_gbps, which the run simulates, what the other terms allow",
    )


class GatewaySummary(BaseModel):
    gateway: str
    region: str
    kind: str
    peak_offered_gbps: float
    mean_offered_gbps: float
    peak_saturation: float
    p50_s: float = Field(description="Latency half the run's requests stay within (estimated)")
    p95_s: float = Field(description="Latency 95% of the run's requests stay within (estimated)")
    p99_s: float = Field(description="Latency 99% of the run's requests stay within (estimated)")
    worst_p50_s: float
    worst_p90_s: float
    worst_p95_s: float
    worst_p99_s: float
    worst_error_ratio: float
    least_success_ratio: float
    config_reloads: int = Field(description="Successful config reloads over the run")
    ticks_reload_failed: int = Field(description="Ticks whose last config reload had failed")
    least_cert_expiry_s: float = Field(
        description="Seconds to the soonest certificate expiry, at its lowest (negative: expired)"
    )
    ticks_over_scale_up: int = Field(description="Ticks above thresholds.scale_up_utilization")
    ticks_overloaded: int = Field(description="Ticks with saturation above 1")


class AccountSummary(BaseModel):
    handle: str
    region: str
    gateway: str
    peak_demand_gbps: float
    bursts: dict[str, float] = Field(description="Each burst pattern's demand, Gbps")


class SeriesPoint(BaseModel):
    t: float = Field(description="Seconds from the start, at the end of the tick")
    gateway: str
    offered_gbps: float
    bytes_in: float = Field(description="Bytes per second served, clients to the gateway")
    bytes_out: float = Field(description="Bytes per second served, the gateway to clients")
    saturation: float
    requests: float
    p50_latency: float
    p90_latency: float
    p95_latency: float
    p99_latency: float
    error_ratio: float
    success_ratio: float = Field(description="Share of responses with neither a 4xx nor a 5xx")
    active_connections: int
    config_reloads: int = Field(description="Successful config reloads within the tick")
    config_reload_failed: bool = Field(description="The last config reload so far failed")
    cert_expiry: float = Field(description="Seconds to the soonest certificate expiry")


class SimulationReport(BaseModel):
    scenario: str
    description: str
    env: str
    seed: int
    tick_seconds: float
    duration_seconds: float
    gateways: list[GatewayInfo]
    accounts: list[AccountSummary]
    summary: list[GatewaySummary]
    series: list[SeriesPoint] | None = Field(
        description="Per tick and gateway; null when --series or --csv wrote it instead"
    )


def _gateway_info(gateway: SimulatedGateway) -> GatewayInfo:
    return GatewayInfo(
        name=gateway.name,
        region=gateway.region,
        kind=gateway.kind.value,
        account=gateway.account,
        ingress_class=gateway.ingress_class,
        replicas=gateway.ceiling.replicas,
        ceiling_gbps=gateway.ceiling.capacity.gbps,
        binding=gateway.ceiling.binding.name,
        unknown_components=[component.name for component in gateway.ceiling.unknown],
    )


def _summary(gateway: SimulatedGateway, tally: GatewayTally) -> GatewaySummary:
    return GatewaySummary(
        gateway=gateway.name,
        region=gateway.region,
        kind=gateway.kind.value,
        peak_offered_gbps=tally.peak_offered / 1e9,
        mean_offered_gbps=tally.mean_offered / 1e9,
        peak_saturation=tally.peak_saturation,
        p50_s=tally.run_quantile(0.5),
        p95_s=tally.run_quantile(0.95),
        p99_s=tally.run_quantile(0.99),
        worst_p50_s=tally.worst_p50,
        worst_p90_s=tally.worst_p90,
        worst_p95_s=tally.worst_p95,
        worst_p99_s=tally.worst_p99,
        worst_error_ratio=tally.worst_error_ratio,
        least_success_ratio=tally.least_success_ratio,
        config_reloads=tally.config_reloads,
        ticks_reload_failed=tally.ticks_reload_failed,
        least_cert_expiry_s=tally.least_cert_expiry,
        ticks_over_scale_up=tally.ticks_over_scale_up,
        ticks_overloaded=tally.ticks_overloaded,
    )


def _series_row(at: float, s: GatewaySample) -> dict[str, object]:
    """One series point, keyed as :class:`SeriesPoint` (built without it: a long run writes
    millions)."""
    return {
        "t": at,
        "gateway": s.gateway,
        "offered_gbps": s.offered_bps / 1e9,
        "bytes_in": s.bytes_in,
        "bytes_out": s.bytes_out,
        "saturation": s.saturation,
        "requests": s.requests,
        "p50_latency": s.p50_latency,
        "p90_latency": s.p90_latency,
        "p95_latency": s.p95_latency,
        "p99_latency": s.p99_latency,
        "error_ratio": s.error_ratio,
        "success_ratio": s.success_ratio,
        "active_connections": s.active_connections,
        "config_reloads": s.config_reloads,
        "config_reload_failed": s.config_reload_failed,
        "cert_expiry": s.cert_expiry,
    }


class SeriesSink(Protocol):
    def write(self, row: dict[str, object]) -> None: ...


class CsvSink:
    """The series as CSV, one row per tick and gateway, columns as in JSON."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.DictWriter(
            stream, fieldnames=list(SeriesPoint.model_fields), lineterminator="\n"
        )
        self._writer.writeheader()

    def write(self, row: dict[str, object]) -> None:
        self._writer.writerow(row)


class JsonLinesSink:
    """The series as JSON lines, one object per tick and gateway."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, row: dict[str, object]) -> None:
        self._stream.write(json.dumps(row) + "\n")


class ListSink:
    """The series kept for a JSON/YAML report: only ever below ``REPORT_SERIES_LIMIT``."""

    def __init__(self) -> None:
        self.points: list[SeriesPoint] = []

    def write(self, row: dict[str, object]) -> None:
        self.points.append(SeriesPoint.model_validate(row))


@dataclass
class RunResult:
    gateways: list[GatewaySummary]
    accounts: list[AccountSummary]


def run(
    simulator: Simulator,
    ticks: Iterable[Tick],
    sinks: Sequence[SeriesSink] = (),
) -> RunResult:
    """Consume ``ticks`` one at a time: the summary in constant memory, each point to ``sinks``."""
    scenario = simulator.scenario
    dt = scenario.tick.seconds
    fleet = simulator.fleet
    tallies = [GatewayTally(scale_up=scenario.thresholds.scale_up_utilization) for _ in fleet]
    accounts = [AccountTally() for _ in scenario.accounts]
    for tick in ticks:
        for tally, sample in zip(tallies, tick.gateways, strict=True):
            tally.add(sample, dt)
            for sink in sinks:
                sink.write(_series_row(tick.at, sample))
        for account, demand in zip(accounts, tick.accounts, strict=True):
            account.gateway = demand.gateway
            account.peak_demand = max(account.peak_demand, demand.demand_bps)
    return RunResult(
        gateways=[_summary(g, t) for g, t in zip(fleet, tallies, strict=True)],
        accounts=[
            AccountSummary(
                handle=a.handle,
                region=a.region,
                gateway=t.gateway,
                peak_demand_gbps=t.peak_demand / 1e9,
                bursts={b.label: b.demand.gbps for b in a.bursts},
            )
            for a, t in zip(scenario.accounts, accounts, strict=True)
        ],
    )


def _gbps(gbps: float) -> str:
    return Bandwidth.gigabits(gbps).human("Gbps")


def _ceiling(gateway: GatewayInfo) -> str:
    """The ceiling, or ``unknown (≤ bound)`` when a term has no figure, as ``kura plan``."""
    ceiling = _gbps(gateway.ceiling_gbps)
    return f"unknown (≤ {ceiling})" if gateway.unknown_components else ceiling


def _tables(report: SimulationReport) -> Group:
    minutes = report.duration_seconds / 60
    info = {g.name: g for g in report.gateways}
    rows = [
        [
            s.gateway,
            s.kind,
            _ceiling(info[s.gateway]),
            info[s.gateway].binding,
            _gbps(s.peak_offered_gbps),
            # Over an upper bound of the ceiling, a saturation is a lower bound.
            f"{'≥' if info[s.gateway].unknown_components else ''}{s.peak_saturation:.0%}",
            f"{s.p95_s:.2f}s",
            f"{s.worst_p95_s:.2f}s",
            f"{s.worst_p99_s:.2f}s",
            f"{s.worst_error_ratio:.1%}",
            str(s.ticks_over_scale_up),
            str(s.ticks_overloaded),
        ]
        for s in report.summary
    ]
    gateways = simple_table(
        f"Simulation {report.scenario} (env {report.env}, seed {report.seed}): "
        f"{minutes:g} min in {report.tick_seconds:g}s ticks",
        ["GATEWAY", "KIND", "CEILING", "BINDS", "PEAK", "SAT MAX", "P95", "P95 MAX", "P99 MAX",
         "5XX MAX", ">SCALE-UP", ">100%"],
        rows,
    )  # fmt: skip
    # Gateway names are never cut short.
    gateways.columns[0].min_width = max((len(row[0]) for row in rows), default=0)
    unknown: dict[str, list[str]] = {}
    for gateway in report.gateways:
        for name in gateway.unknown_components:
            unknown.setdefault(gateway.region, [])
            if name not in unknown[gateway.region]:
                unknown[gateway.region].append(name)
    gateways.caption = "\n".join(
        [
            "SAT = offered load ÷ ceiling; >SCALE-UP and >100% count the ticks above the "
            "scale-up threshold and above the ceiling. Latency: M/M/1 plus the overload backlog; "
            "P95 over every request of the run, P95 MAX the worst tick's.",
            *(
                f"{region}: the ceiling is unknown, {', '.join(names)} having no figure; the run "
                "simulates the bound the other terms allow (docs/capacity.md)."
                for region, names in unknown.items()
            ),
        ]
    )
    gateways.caption_justify = "left"
    accounts = simple_table(
        "Accounts",
        ["ACCOUNT", "REGION", "GATEWAY", "PEAK DEMAND", "BURSTS"],
        [
            [
                a.handle,
                a.region,
                a.gateway,
                _gbps(a.peak_demand_gbps),
                ", ".join(f"{label} {_gbps(gbps)}" for label, gbps in a.bursts.items()),
            ]
            for a in report.accounts
        ],
    )
    return Group(gateways, accounts)


@contextlib.contextmanager
def _opened(option: str, target: Path | None) -> Iterator[TextIO | None]:
    """The stream ``target`` names ('-': stdout), opened before the run so a bad path fails at
    once."""
    if target is None:
        yield None
        return
    if str(target) == "-":
        yield sys.stdout
        return
    try:
        stream = target.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"{option}: cannot write {target}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def check_size(scenario: SimulationScenario, gateways: int, *, report_series: bool) -> None:
    """Refuse a run too long to finish, or a series too big for a report, before it starts."""
    ticks, tick = scenario.ticks, scenario.tick.seconds
    if ticks > MAX_TICKS:
        coarsest = math.ceil(scenario.duration.seconds / MAX_TICKS)
        raise InputError(
            f"{scenario.duration} in {scenario.tick} ticks is {ticks:,} ticks, more than the "
            f"{MAX_TICKS:,} a run may have: use a --tick of at least {coarsest}s or a shorter "
            "--duration"
        )
    points = ticks * gateways
    if report_series and points > REPORT_SERIES_LIMIT:
        coarsest = math.ceil(tick * points / REPORT_SERIES_LIMIT)
        raise InputError(
            f"the series would be {points:,} points ({ticks:,} ticks x {gateways} gateways), "
            f"more than the {REPORT_SERIES_LIMIT:,} a JSON/YAML report holds: write it with "
            f"--series FILE (JSON lines) or --csv FILE, or use a --tick of at least {coarsest}s"
        )


@click.command("simulate")
@env_option
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Simulation scenario YAML (a `kura plan` scenario plus seed, tick, duration, traffic "
    "and accounts; see docs/examples/simulation.yaml); default: the production fleet and the "
    "bursts of docs/capacity.md.",
)
@click.option("--seed", type=int, default=None, help="Seed instead of the scenario's.")
@click.option("--duration", type=DURATION, help="Time to simulate instead of the scenario's: 1h.")
@click.option("--tick", type=DURATION, help="Time between samples instead of the scenario's: 5s.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Write the series as CSV to this file as it is produced; '-' writes it to stdout "
    "instead of -o.",
)
@click.option(
    "--series",
    "series_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="Write the series as JSON lines to this file as it is produced; '-' writes it to "
    "stdout instead of -o.",
)
@output_option
@pass_kura
def simulate_command(
    kura: KuraContext,
    env: str,
    scenario_file: Path | None,
    seed: int | None,
    duration: Duration | None,
    tick: Duration | None,
    csv_file: Path | None,
    series_file: Path | None,
    output: str,
) -> None:
    """Simulate the fleet under CI bursts: load, saturation, p95/p99 and 5xx per gateway.

    Pure and seeded: the same scenario and seed give the same series. The run streams: the
    summary is kept in constant memory and the series written as it is produced, so a run may
    be as long as 1,000,000 ticks. The table summarises each gateway; JSON/YAML is the
    SimulationReport: scenario, description, env, seed, tick_seconds, duration_seconds,
    gateways (name, region, kind, account, ingress_class, replicas, ceiling_gbps, binding),
    accounts (handle, region, gateway, peak_demand_gbps, bursts), summary (per gateway:
    peak/mean offered Gbps, peak_saturation, the run's p50/p95/p99 over every request, worst
    p50/p90/p95/p99 seconds of a tick, worst error ratio, least success ratio, config reloads,
    ticks whose last reload had failed, least seconds to certificate expiry, ticks over the
    scale-up threshold and overloaded) and series (per tick and gateway: t, gateway,
    offered_gbps, bytes_in, bytes_out, saturation, requests, p50_latency, p90_latency,
    p95_latency, p99_latency, error_ratio, success_ratio, active_connections, config_reloads,
    config_reload_failed, cert_expiry; at most 100,000 points, null when --series or --csv
    writes it). --csv and --series write the series with those columns and keys.
    """
    scenario = load_simulation(scenario_file) if scenario_file is not None else DEFAULT_SIMULATION
    updates: dict[str, object] = {}
    if seed is not None:
        updates["seed"] = seed
    for key, value in (("duration", duration), ("tick", tick)):
        if value is not None:
            updates[key] = value
    scenario = scenario.model_copy(update=updates)
    if str(csv_file) == "-" and str(series_file) == "-":
        raise InputError("--csv - and --series - cannot both write to stdout")
    if scenario.duration < scenario.tick:
        raise InputError(
            f"--duration {scenario.duration} is shorter than one --tick ({scenario.tick}): "
            "simulate at least one tick"
        )
    catalog = kura.catalog(env)
    regions = list(catalog)
    if scenario_file is None:
        # The built-in fleet names the production regions; another env simulates what it offers.
        scenario = scenario.restricted_to(catalog.ids)
    provided = {region.id: kura.capacity_components(region) for region in regions}
    simulator = Simulator(scenario, regions, provided)
    to_stdout = "-" in (str(csv_file), str(series_file))
    report_series = output != "table" and not to_stdout and csv_file is None and not series_file
    check_size(scenario, len(simulator.fleet), report_series=report_series)
    kept = ListSink() if report_series else None
    with _opened("--csv", csv_file) as csv_stream, _opened("--series", series_file) as lines:
        sinks: list[SeriesSink] = [kept] if kept is not None else []
        if csv_stream is not None:
            sinks.append(CsvSink(csv_stream))
        if lines is not None:
            sinks.append(JsonLinesSink(lines))
        result = run(simulator, simulator.run(), sinks)
    if to_stdout:
        return
    report = SimulationReport(
        scenario=scenario.name,
        description=scenario.description,
        env=env,
        seed=scenario.seed,
        tick_seconds=scenario.tick.seconds,
        duration_seconds=scenario.ticks * scenario.tick.seconds,
        gateways=[_gateway_info(g) for g in simulator.fleet],
        accounts=result.accounts,
        summary=result.gateways,
        series=kept.points if kept is not None else None,
    )
    emit(report, output, lambda: _tables(report))
