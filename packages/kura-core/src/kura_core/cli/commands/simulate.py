"""``kura simulate``: the capacity simulator, headless, as a table, JSON/YAML or a CSV series."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from pydantic import BaseModel, Field
from rich.console import Group

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.cli.params import DURATION
from kura_core.errors import InputError
from kura_core.simulator import (
    DEFAULT_SIMULATION,
    SimulatedGateway,
    SimulationScenario,
    Simulator,
    Tick,
    load_simulation,
)
from kura_core.units import Bandwidth, Duration


class GatewayInfo(BaseModel):
    name: str
    region: str
    kind: str
    account: str | None
    ingress_class: str
    replicas: int
    ceiling_gbps: float
    binding: str


class GatewaySummary(BaseModel):
    gateway: str
    region: str
    kind: str
    peak_offered_gbps: float
    mean_offered_gbps: float
    peak_saturation: float
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
    active_connections: float
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
    series: list[SeriesPoint]


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
    )


def _summaries(
    fleet: Sequence[SimulatedGateway], ticks: Sequence[Tick], scale_up: float
) -> list[GatewaySummary]:
    summaries = []
    for position, gateway in enumerate(fleet):
        samples = [tick.gateways[position] for tick in ticks]
        offered = [s.offered_bps for s in samples]
        summaries.append(
            GatewaySummary(
                gateway=gateway.name,
                region=gateway.region,
                kind=gateway.kind.value,
                peak_offered_gbps=max(offered) / 1e9,
                mean_offered_gbps=sum(offered) / len(offered) / 1e9,
                peak_saturation=max(s.saturation for s in samples),
                worst_p50_s=max(s.p50_latency for s in samples),
                worst_p90_s=max(s.p90_latency for s in samples),
                worst_p95_s=max(s.p95_latency for s in samples),
                worst_p99_s=max(s.p99_latency for s in samples),
                worst_error_ratio=max(s.error_ratio for s in samples),
                least_success_ratio=min(s.success_ratio for s in samples),
                config_reloads=sum(s.config_reloads for s in samples),
                ticks_reload_failed=sum(s.config_reload_failed for s in samples),
                least_cert_expiry_s=min(s.cert_expiry for s in samples),
                ticks_over_scale_up=sum(s.saturation > scale_up for s in samples),
                ticks_overloaded=sum(s.saturation > 1 for s in samples),
            )
        )
    return summaries


def _accounts(scenario: SimulationScenario, ticks: Sequence[Tick]) -> list[AccountSummary]:
    summaries = []
    for position, account in enumerate(scenario.accounts):
        samples = [tick.accounts[position] for tick in ticks]
        summaries.append(
            AccountSummary(
                handle=account.handle,
                region=account.region,
                gateway=samples[0].gateway,
                peak_demand_gbps=max(s.demand_bps for s in samples) / 1e9,
                bursts={b.label: b.demand.gbps for b in account.bursts},
            )
        )
    return summaries


def _series(ticks: Sequence[Tick]) -> list[SeriesPoint]:
    return [
        SeriesPoint(
            t=tick.at,
            gateway=s.gateway,
            offered_gbps=s.offered_bps / 1e9,
            bytes_in=s.bytes_in,
            bytes_out=s.bytes_out,
            saturation=s.saturation,
            requests=s.requests,
            p50_latency=s.p50_latency,
            p90_latency=s.p90_latency,
            p95_latency=s.p95_latency,
            p99_latency=s.p99_latency,
            error_ratio=s.error_ratio,
            success_ratio=s.success_ratio,
            active_connections=s.active_connections,
            config_reloads=s.config_reloads,
            config_reload_failed=s.config_reload_failed,
            cert_expiry=s.cert_expiry,
        )
        for tick in ticks
        for s in tick.gateways
    ]


def series_csv(series: Sequence[SeriesPoint]) -> str:
    """The series as CSV, one row per tick and gateway, columns as in JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(SeriesPoint.model_fields), lineterminator="\n")
    writer.writeheader()
    for point in series:
        writer.writerow(point.model_dump())
    return out.getvalue()


def _gbps(gbps: float) -> str:
    return Bandwidth.gigabits(gbps).human("Gbps")


def _tables(report: SimulationReport) -> Group:
    minutes = report.duration_seconds / 60
    info = {g.name: g for g in report.gateways}
    rows = [
        [
            s.gateway,
            s.kind,
            _gbps(info[s.gateway].ceiling_gbps),
            info[s.gateway].binding,
            _gbps(s.peak_offered_gbps),
            f"{s.peak_saturation:.0%}",
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
        ["GATEWAY", "KIND", "CEILING", "BINDS", "PEAK", "SAT MAX", "P95 MAX", "P99 MAX",
         "5XX MAX", ">SCALE-UP", ">100%"],
        rows,
    )  # fmt: skip
    # Gateway names are never cut short.
    gateways.columns[0].min_width = max((len(row[0]) for row in rows), default=0)
    gateways.caption = (
        "SAT = offered load ÷ ceiling; >SCALE-UP and >100% count the ticks above the "
        "scale-up threshold and above the ceiling. Latency: M/M/1 plus the overload backlog."
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
    help="Write the series as CSV to this file; '-' writes it to stdout instead of -o.",
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
    output: str,
) -> None:
    """Simulate the fleet under CI bursts: load, saturation, p95/p99 and 5xx per gateway.

    Pure and seeded: the same scenario and seed give the same series. The table summarises each
    gateway; JSON/YAML is the SimulationReport: scenario, description, env, seed, tick_seconds,
    duration_seconds, gateways (name, region, kind, account, ingress_class, replicas,
    ceiling_gbps, binding), accounts (handle, region, gateway, peak_demand_gbps, bursts),
    summary (per gateway: peak/mean offered Gbps, peak_saturation, worst p50/p90/p95/p99
    seconds, worst error ratio, least success ratio, config reloads, ticks whose last reload had
    failed, least seconds to certificate expiry, ticks over the scale-up threshold and
    overloaded) and series (per tick and gateway: t, gateway, offered_gbps, bytes_in, bytes_out,
    saturation, requests, p50_latency, p90_latency, p95_latency, p99_latency, error_ratio,
    success_ratio, active_connections, config_reloads, config_reload_failed, cert_expiry).
    --csv writes the series with those columns.
    """
    scenario = load_simulation(scenario_file) if scenario_file is not None else DEFAULT_SIMULATION
    updates: dict[str, object] = {}
    if seed is not None:
        updates["seed"] = seed
    for key, value in (("duration", duration), ("tick", tick)):
        if value is not None:
            updates[key] = value
    scenario = scenario.model_copy(update=updates)
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
    ticks = [simulator.step() for _ in range(scenario.ticks)]
    fleet = simulator.fleet
    series = _series(ticks)
    report = SimulationReport(
        scenario=scenario.name,
        description=scenario.description,
        env=env,
        seed=scenario.seed,
        tick_seconds=scenario.tick.seconds,
        duration_seconds=scenario.ticks * scenario.tick.seconds,
        gateways=[_gateway_info(g) for g in fleet],
        accounts=_accounts(scenario, ticks),
        summary=_summaries(fleet, ticks, scenario.thresholds.scale_up_utilization),
        series=series,
    )
    if csv_file is not None:
        text = series_csv(series)
        if str(csv_file) == "-":
            sys.stdout.write(text)
            return
        try:
            csv_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--csv: cannot write {csv_file}: {exc.strerror or exc}") from None
    emit(report, output, lambda: _tables(report))
