"""``kura burst``, ``kura capacity`` and ``kura plan``: the capacity model on the command line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Group
from rich.table import Table

from kura_core.capacity import Component, burst_demand, ceiling, shard_ratio, shards_needed
from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.cli.params import BANDWIDTH, DATA_SIZE, DURATION
from kura_core.errors import InputError
from kura_core.files import read_yaml
from kura_core.plan import Plan, RegionPlan, build_plan
from kura_core.scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from kura_core.simulator import SimulationScenario
from kura_core.units import Bandwidth, DataSize, Duration

ASSUMPTION_NOTE = "* assumption: not measured or published; set it in a scenario once benchmarked"


def _gbps(gbps: float) -> str:
    return Bandwidth.gigabits(gbps).human("Gbps")


def _mb_per_s(gbps: float) -> str:
    return Bandwidth.gigabits(gbps).human("MB/s")


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}x"


def _flag(assumption: bool) -> str:
    return "*" if assumption else ""


class BurstReport(BaseModel):
    jobs: int
    size: str
    window: str
    demand_gbps: float
    demand_mb_per_s: float
    shard_gbps: float | None
    share_of_shard: float | None
    shards_needed: int | None


@click.command("burst")
@click.option("--jobs", type=click.IntRange(min=1), required=True, help="CI jobs in the burst.")
@click.option(
    "--size", type=DATA_SIZE, required=True, help="Artifacts each job moves: 500MB, 2GB, 1.5GiB."
)
@click.option("--window", type=DURATION, required=True, help="Time the burst takes: 90s, 2m, 1h.")
@click.option(
    "--shard", type=BANDWIDTH, default=None, help="Compare with a shard of this capacity: 5Gbps."
)
@output_option
def burst_command(
    jobs: int, size: DataSize, window: Duration, shard: Bandwidth | None, output: str
) -> None:
    """Bandwidth a CI burst demands: jobs x size ÷ window.

    JSON/YAML fields: jobs, size, window, demand_gbps, demand_mb_per_s, and with --shard
    shard_gbps, share_of_shard (demand ÷ shard) and shards_needed.
    """
    demand = burst_demand(jobs, size, window)
    capacity = shard
    report = BurstReport(
        jobs=jobs,
        size=str(size),
        window=str(window),
        demand_gbps=demand.gbps,
        demand_mb_per_s=demand.megabytes_per_second,
        shard_gbps=capacity.gbps if capacity else None,
        share_of_shard=demand / capacity if capacity else None,
        shards_needed=shards_needed(demand, capacity) if capacity else None,
    )
    headers = ["JOBS", "SIZE", "WINDOW", "DEMAND", "MB/S"]
    row = [report.jobs, report.size, report.window, _gbps(report.demand_gbps)]
    row.append(_mb_per_s(report.demand_gbps).removesuffix(" MB/s"))
    if report.shard_gbps is not None:
        headers += ["SHARD", "x SHARD", "SHARDS NEEDED"]
        row += [_gbps(report.shard_gbps), _ratio(report.share_of_shard), report.shards_needed]
    emit(report, output, lambda: simple_table("Burst demand", headers, [row]))


class ShardRow(BaseModel):
    capacity: str
    capacity_gbps: float
    ratio: float


class ComponentRow(BaseModel):
    name: str
    capacity: str
    capacity_gbps: float
    binding: bool


class CeilingReport(BaseModel):
    capacity_gbps: float
    binding: str
    ratio: float
    components: list[ComponentRow]


class CapacityReport(BaseModel):
    observed_peak: str
    observed_peak_gbps: float
    observed_peak_mb_per_s: float
    shards: list[ShardRow]
    ceiling: CeilingReport | None


class ComponentType(click.ParamType[Component, Any]):
    """``NAME=BANDWIDTH``: a ceiling component, its bandwidth under the rule of every other."""

    name = "NAME=BW"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Component:
        if isinstance(value, Component):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name.strip():
            self.fail(f"{value!r} is not NAME=BANDWIDTH, like regional-lb=20Gbps", param, ctx)
        try:
            capacity = BANDWIDTH.convert(text, param, ctx)
        except click.BadParameter as exc:
            self.fail(f"{name.strip()}: {exc.message}", param, ctx)
        return Component(name=name.strip(), capacity=capacity, source="command line")


def _capacity_tables(report: CapacityReport) -> Group:
    peak = Bandwidth.gigabits(report.observed_peak_gbps)
    tables: list[Table] = []
    if report.shards:
        tables.append(
            simple_table(
                f"Shards vs peak {peak.human('Gbps')}",
                ["SHARD", "GBPS", "x PEAK"],
                [
                    [row.capacity, _gbps(row.capacity_gbps), _ratio(row.ratio)]
                    for row in report.shards
                ],
            )
        )
    if report.ceiling is not None:
        top = report.ceiling
        tables.append(
            simple_table(
                f"Ceiling {_gbps(top.capacity_gbps)}: {top.binding}",
                ["COMPONENT", "CAPACITY", "GBPS", "x PEAK", "BINDS"],
                [
                    [
                        c.name,
                        c.capacity,
                        _gbps(c.capacity_gbps),
                        _ratio(c.capacity_gbps / report.observed_peak_gbps),
                        "◀" if c.binding else "",
                    ]
                    for c in top.components
                ],
            )
        )
    return Group(*tables)


@click.command("capacity")
@click.option(
    "--observed-peak", type=BANDWIDTH, required=True, help="The observed regional peak: 600MB/s."
)
@click.option(
    "--shard",
    "shards",
    type=BANDWIDTH,
    multiple=True,
    help="A shard capacity to compare; repeatable.",
)
@click.option(
    "--component",
    "components",
    type=ComponentType(),
    multiple=True,
    help="A ceiling component, like regional-lb=20Gbps; repeatable. The smallest binds.",
)
@output_option
def capacity_command(
    observed_peak: Bandwidth,
    shards: tuple[Bandwidth, ...],
    components: tuple[Component, ...],
    output: str,
) -> None:
    """Shard capacity against the observed peak, and the ceiling of named components.

    JSON/YAML fields: observed_peak, observed_peak_gbps, observed_peak_mb_per_s, shards (capacity,
    capacity_gbps, ratio = shard ÷ peak) and ceiling (capacity_gbps, binding, ratio, components).
    """
    peak = observed_peak
    if not shards and not components:
        raise InputError("give at least one --shard or --component")
    capacities = list(shards)
    parts = list(components)
    names = [part.name for part in parts]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"--component: {', '.join(twice)} given more than once")
    top = ceiling(parts) if parts else None
    report = CapacityReport(
        observed_peak=str(peak),
        observed_peak_gbps=peak.gbps,
        observed_peak_mb_per_s=peak.megabytes_per_second,
        shards=[
            ShardRow(capacity=str(c), capacity_gbps=c.gbps, ratio=shard_ratio(c, peak))
            for c in capacities
        ],
        ceiling=None
        if top is None
        else CeilingReport(
            capacity_gbps=top.capacity.gbps,
            binding=top.binding.name,
            ratio=shard_ratio(top.capacity, peak),
            components=[
                ComponentRow(
                    name=part.name,
                    capacity=str(capacity),
                    capacity_gbps=capacity.gbps,
                    binding=part is top.binding,
                )
                for part in parts
                # Every --component is NAME=BANDWIDTH: each has a figure.
                if (capacity := part.capacity) is not None
            ],
        ),
    )
    emit(report, output, lambda: _capacity_tables(report))


def _ceiling(region: RegionPlan) -> str:
    """The ceiling, or ``unknown (≤ bound)`` when a term has no figure."""
    ceiling = _gbps(region.shard_ceiling_gbps)
    return f"unknown\n(≤ {ceiling})" if region.unknown_components else ceiling


def _summary(plan: Plan) -> Table:
    rows = [
        [
            r.region,
            f"{_gbps(r.observed_peak_gbps)}\n{_mb_per_s(r.observed_peak_gbps)}",
            f"{r.shards} x {r.replicas} repl.",
            _ceiling(r),
            f"{r.binding}{_flag(r.binding_assumption)}",
            _ratio(r.shard_ratio),
            f"{r.recommendation.utilization:.0%}",
            r.recommendation.rung.value,
        ]
        for r in plan.regions
    ]
    table = simple_table(
        f"Capacity plan: env {plan.env}, scenario {plan.scenario}",
        ["REGION", "PEAK", "SHARDS", "CEILING", "BINDING", "RATIO", "USED", "NEXT"],
        rows,
    )
    # Names are never cut short; the peak wraps instead.
    for index in (0, 4):
        table.columns[index].min_width = max((len(row[index]) for row in rows), default=0)
    unknown = [
        f"{r.region}: the ceiling is unknown, {', '.join(r.unknown_components)} having no "
        f"figure; {_gbps(r.shard_ceiling_gbps)} is what the other terms allow, and RATIO, USED "
        "and NEXT rest on it. Give the figure in a scenario once measured (docs/capacity.md)."
        for r in plan.regions
        if r.unknown_components
    ]
    table.caption = "\n".join(
        [
            f"{plan.description}. CEILING is per shard; RATIO = ceiling ÷ peak; "
            f"USED = peak ÷ (shards x ceiling). {ASSUMPTION_NOTE}.",
            *unknown,
        ]
    )
    table.caption_justify = "left"
    return table


def _component_tables(plan: Plan) -> list[Table]:
    # Regions with the same components and replicas share one table.
    groups: dict[str, list[RegionPlan]] = {}
    for region in plan.regions:
        key = "|".join(c.model_dump_json() for c in region.components)
        groups.setdefault(key, []).append(region)
    tables = []
    for regions in groups.values():
        first = regions[0]
        names = ", ".join(r.region for r in regions)
        tables.append(
            simple_table(
                f"Shard components ({names}; {first.replicas} gateway replicas)",
                ["COMPONENT", "FIGURE", "PER SHARD", "SOURCE"],
                [
                    [
                        f"{c.name}{_flag(c.assumption)}{' ◀' if c.binding else ''}",
                        f"{c.figure}{' / replica' if c.per_replica else ''}",
                        "unknown" if c.effective_gbps is None else _gbps(c.effective_gbps),
                        c.source,
                    ]
                    for c in first.components
                ],
            )
        )
    return tables


def _burst_table(plan: Plan) -> Table:
    return simple_table(
        "CI bursts (jobs x size ÷ window) against one shard",
        ["REGION", "BURST", "DEMAND", "MB/S", "x SHARD", "NEEDS", "DEDICATED IF REGULAR"],
        [
            [
                r.region,
                b.label,
                _gbps(b.demand_gbps),
                _mb_per_s(b.demand_gbps).removesuffix(" MB/s"),
                _ratio(b.share_of_shard),
                b.needs.removesuffix("; dedicated if regular"),
                "yes" if b.dedicated_if_regular else "no",
            ]
            for r in plan.regions
            for b in r.bursts
        ],
    )


def _ladder_table(plan: Plan) -> Table:
    t = plan.thresholds
    return simple_table(
        f"Next rung (scale up above {t.scale_up_utilization:.0%} used; dedicated from "
        f"{t.dedicated_fraction:.0%} of a shard; at most {t.max_replicas} replicas)",
        ["REGION", "RUNG", "WHY, AND THE NUMBERS AFTER IT"],
        [
            [r.region, action.rung.value, action.reason]
            for r in plan.regions
            for action in r.recommendation.actions
        ],
    )


def render_plan(plan: Plan) -> Group:
    """The plan as tables for people, readable at 100 columns."""
    return Group(_summary(plan), *_component_tables(plan), _burst_table(plan), _ladder_table(plan))


def _plan_scenario(path: Path) -> Scenario:
    """A capacity scenario; a simulation scenario is named as one, with the command it is for."""
    try:
        return load_scenario(path)
    except InputError:
        data = read_yaml(path, "scenario")
        simulation_keys = set(SimulationScenario.model_fields) - set(Scenario.model_fields)
        found = sorted(simulation_keys & set(data)) if isinstance(data, Mapping) else []
        if found:
            raise InputError(
                f"{path} is a `kura simulate` scenario (it sets {', '.join(found)}): run "
                f"`kura simulate --scenario {path}`; `kura plan` takes the capacity keys only, "
                "like docs/examples/scenario.yaml"
            ) from None
        raise


@click.command("plan")
@env_option
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Scenario YAML (see docs/examples/scenario.yaml); default: the figures of "
    "docs/capacity.md.",
)
@output_option
@pass_kura
def plan_command(kura: KuraContext, env: str, scenario_file: Path | None, output: str) -> None:
    """Plan gateway capacity per region: ceiling, bursts and the next scaling rung.

    JSON/YAML is the Plan model: env, scenario, description, thresholds, and regions, each with
    region, observed_peak_gbps, shards, replicas, shard_ceiling_gbps, binding,
    binding_assumption, shard_ratio, components, bursts and recommendation (rung, actions with
    rung, reason, account, replicas, shards, ceiling_gbps, utilization).
    """
    scenario = _plan_scenario(scenario_file) if scenario_file is not None else DEFAULT_SCENARIO
    catalog = kura.catalog(env)
    provided = {region.id: kura.capacity_components(region) for region in catalog}
    plan = build_plan(scenario, catalog, env, provided)
    emit(plan, output, lambda: render_plan(plan))


CAPACITY_COMMANDS: tuple[click.Command, ...] = (burst_command, capacity_command, plan_command)
