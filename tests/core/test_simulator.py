"""The capacity simulator: deterministic, the bursts of docs/capacity.md, the capacity model's
ceilings, a queueing model that degrades near saturation; and ``kura simulate``."""

from __future__ import annotations

import csv
import inspect
import io
import json
import math
import re
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kura_core.capacity import Component
from kura_core.cli.commands.simulate import run
from kura_core.errors import InputError
from kura_core.regions import managed_catalogs
from kura_core.scenario import SEED_BURSTS, RegionSpec
from kura_core.simulation_summary import LatencyHistogram
from kura_core.simulator import (
    DEFAULT_SIMULATION,
    P50_FACTOR,
    P90_FACTOR,
    P95_FACTOR,
    P99_FACTOR,
    BurstPattern,
    Certificate,
    ConfigReload,
    Controllers,
    GatewayKind,
    SimulatedAccount,
    SimulationScenario,
    Simulator,
    Tick,
    Traffic,
    build_fleet,
    load_simulation,
    shard_ingress_class,
    simulate,
)
from kura_core.units import Bandwidth, DataSize, Duration
from tests.core.conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = list(managed_catalogs()["production"])
EU = [r for r in PRODUCTION if r.id == "eu-central"]


def series(ticks: list[Tick]) -> list[tuple[float, object, object]]:
    return [(t.at, t.gateways, t.accounts) for t in ticks]


def test_the_same_seed_gives_the_same_series() -> None:
    first = list(simulate(DEFAULT_SIMULATION, PRODUCTION, ticks=200))
    again = list(simulate(DEFAULT_SIMULATION, PRODUCTION, ticks=200))
    assert series(first) == series(again)


def test_another_seed_moves_the_noise_but_not_the_bursts() -> None:
    other = DEFAULT_SIMULATION.model_copy(update={"seed": 8})
    a = list(simulate(DEFAULT_SIMULATION, PRODUCTION, ticks=100))
    b = list(simulate(other, PRODUCTION, ticks=100))
    assert [t.gateways for t in a] != [t.gateways for t in b]
    # Accounts without jitter burst at the same times whatever the seed.
    unjittered = {"globex", "initech", "stark"}
    demand_a = [[x.demand_bps for x in t.accounts if x.handle in unjittered] for t in a]
    demand_b = [[x.demand_bps for x in t.accounts if x.handle in unjittered] for t in b]
    assert demand_a == demand_b


def test_ticks_are_stamped_at_their_end() -> None:
    ticks = list(simulate(DEFAULT_SIMULATION, PRODUCTION, ticks=3))
    assert [(t.index, t.at) for t in ticks] == [(0, 5.0), (1, 10.0), (2, 15.0)]
    assert DEFAULT_SIMULATION.ticks == 720


def test_the_seeds_burst_figures_come_out() -> None:
    ticks = list(simulate(DEFAULT_SIMULATION, PRODUCTION))
    steady = {a.handle: a.steady.bits_per_second for a in DEFAULT_SIMULATION.accounts}
    peaks: dict[str, float] = {}
    for tick in ticks:
        for sample in tick.accounts:
            burst = sample.demand_bps - steady[sample.handle]
            peaks[sample.handle] = max(peaks.get(sample.handle, 0.0), burst)
    nightly, release, warmup = (burst.demand.bits_per_second for burst in SEED_BURSTS)
    # docs/capacity.md: 50 x 500MB / 2m ~ 1.7 Gbps, 100 x 1GB / 5m ~ 2.7, 500 x 2GB / 2m ~ 66.7.
    assert nightly == pytest.approx(50 * 500e6 * 8 / 120)
    assert release == pytest.approx(100 * 1e9 * 8 / 300)
    assert warmup == pytest.approx(500 * 2e9 * 8 / 120)
    assert peaks["acme"] == pytest.approx(nightly)
    assert peaks["umbrella"] == pytest.approx(nightly)
    assert peaks["globex"] == pytest.approx(release)
    assert peaks["stark"] == pytest.approx(release)
    assert peaks["initech"] == pytest.approx(warmup)
    assert round(warmup / 1e9, 1) == 66.7


def test_bursts_repeat_on_their_schedule() -> None:
    ticks = list(simulate(DEFAULT_SIMULATION, PRODUCTION))
    # initech: every 30m from 10m, 2 minutes long, no jitter: two bursts in the hour.
    bursting = [
        t.at for t in ticks for a in t.accounts if a.handle == "initech" and a.demand_bps > 2e9
    ]
    assert bursting[0] == 605.0
    assert bursting[-1] == 2520.0
    assert len(bursting) == 2 * 24


def _one_gateway(steady: str, **traffic: object) -> SimulationScenario:
    return SimulationScenario(
        regions={"eu-central": RegionSpec(observed_peak=Bandwidth(0.0))},
        traffic=Traffic.model_validate({"noise": 0.0, **traffic}),
        accounts=[
            SimulatedAccount(
                handle="solo", id=1, region="eu-central", dedicated=True,
                steady=Bandwidth.parse(steady),
            )
        ],
    )  # fmt: skip


def test_latency_follows_an_mm1_queue_below_saturation() -> None:
    (tick,) = list(simulate(_one_gateway("2.5Gbps"), EU, ticks=1))
    dedicated = tick.gateways[-1]
    # The default shard: 2 replicas x 2.5 Gbps gateway nodes = 5 Gbps.
    assert dedicated.saturation == pytest.approx(0.5)
    assert dedicated.p50_latency == pytest.approx(0.04 * math.log(2) / 0.5)
    assert dedicated.p90_latency == pytest.approx(0.04 * math.log(10) / 0.5)
    assert dedicated.p95_latency == pytest.approx(0.04 * math.log(20) / 0.5)
    assert dedicated.p99_latency == pytest.approx(0.04 * math.log(100) / 0.5)
    assert dedicated.error_ratio == pytest.approx(0.001)
    # Neither 5xx (0.1%) nor, of the rest, 4xx (2%).
    assert dedicated.success_ratio == pytest.approx(0.999 * 0.98)
    assert dedicated.bytes_in + dedicated.bytes_out == pytest.approx(2.5e9 / 8)
    assert dedicated.bytes_in == pytest.approx(0.3 * 2.5e9 / 8)
    assert dedicated.requests == pytest.approx(2.5e9 / 8 / 8e6)
    # Little's law: requests per second x mean time in the system (3.1), in whole connections.
    assert dedicated.requests * 0.04 / 0.5 == pytest.approx(3.125)
    assert dedicated.active_connections == 4


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.05, max_value=0.97), min_size=2, max_size=2, unique=True))
def test_latency_climbs_as_saturation_nears_one(loads: list[float]) -> None:
    low, high = sorted(loads)
    # Loads a rounding error apart give the same latency.
    assume(high - low > 1e-6)
    results = []
    for fraction in (low, high):
        (tick,) = list(simulate(_one_gateway(f"{fraction * 5}Gbps"), EU, ticks=1))
        results.append(tick.gateways[-1])
    assert results[1].p95_latency > results[0].p95_latency
    assert results[1].p99_latency / results[1].p95_latency == pytest.approx(P99_FACTOR / P95_FACTOR)
    for sample in results:
        percentiles = [sample.p50_latency, sample.p90_latency, sample.p95_latency]
        assert percentiles == sorted(percentiles)
        assert sample.p50_latency / sample.p90_latency == pytest.approx(P50_FACTOR / P90_FACTOR)


def test_overload_builds_a_backlog_then_fails_requests() -> None:
    scenario = _one_gateway("10Gbps", max_wait=Duration.parse("10s"))
    ticks = list(simulate(scenario, EU, ticks=6))
    gateway = [t.gateways[-1] for t in ticks]
    assert all(g.saturation == pytest.approx(2.0) for g in gateway)
    # Served bytes never pass the 5 Gbps ceiling.
    assert all((g.bytes_in + g.bytes_out) * 8 == pytest.approx(5e9) for g in gateway)
    # 5 Gbps too much each second: 25 Gb per 5s tick waits, 5 more seconds of wait each tick...
    waits = [g.p95_latency - 0.04 * P95_FACTOR / 0.02 for g in gateway]
    assert waits[:2] == [pytest.approx(5.0), pytest.approx(10.0)]
    # ...until requests would wait longer than max_wait (10s): the excess fails as 5xx.
    assert gateway[0].error_ratio == pytest.approx(0.001)
    assert gateway[2].error_ratio == pytest.approx(0.001 + 0.5)
    assert gateway[2].success_ratio == pytest.approx((1 - 0.501) * 0.98)
    assert waits[2:] == [pytest.approx(10.0)] * 4
    # The wait is the same for every request: it shifts every percentile alike.
    assert gateway[3].p50_latency - 0.04 * P50_FACTOR / 0.02 == pytest.approx(10.0)


def test_ceilings_come_from_the_capacity_model_and_the_providers() -> None:
    fleet = build_fleet(DEFAULT_SIMULATION, PRODUCTION)
    shards = [g for g in fleet if g.region == "eu-central" and g.kind is GatewayKind.SHARD]
    assert [g.name for g in shards] == ["kura-eu-central", "kura-eu-central-2"]
    assert {g.ceiling.capacity.gbps for g in shards} == {5.0}
    assert shards[0].ceiling.binding.name == "gateway-node"
    (initech,) = [g for g in fleet if g.account == "initech"]
    assert initech.name == "kgw-30a76e4bd7e6-us-east"
    assert initech.ingress_class == "kura-us-east-kgw-30a76e4bd7e6-us-east"
    # Four replicas lift the per-replica terms to 10 Gbps, where the Kura node binds.
    assert (initech.ceiling.replicas, initech.ceiling.capacity.gbps) == (4, 10.0)
    assert initech.ceiling.binding.name == "kura-node"
    lb = Component(name="regional-lb", capacity=Bandwidth.parse("5Gbps"))
    provided = build_fleet(DEFAULT_SIMULATION, PRODUCTION, {"us-east": [lb]})
    (initech,) = [g for g in provided if g.account == "initech"]
    assert (initech.ceiling.capacity.gbps, initech.ceiling.binding.name) == (5.0, "regional-lb")


def _with_controllers(**controllers: object) -> SimulationScenario:
    scenario = _one_gateway("1Gbps")
    return scenario.model_copy(
        update={"controllers": Controllers.model_validate(controllers), "tick": Duration(10.0)}
    )


def test_controllers_are_healthy_unless_the_scenario_says_otherwise() -> None:
    ticks = list(simulate(_one_gateway("1Gbps"), EU, ticks=3))
    for tick in ticks:
        for sample in tick.gateways:
            assert (sample.config_reloads, sample.config_reload_failed) == (0, False)
            # Every certificate 60 days from expiry at the start, counting down.
            assert sample.cert_expiry == 60 * 86_400 - tick.at


def test_reloads_count_per_tick_and_a_failure_holds_until_the_next_success() -> None:
    reloads = [
        {"region": "eu-central", "account": "solo", "at": "5s"},
        {"region": "eu-central", "account": "solo", "at": "8s"},
        {"region": "eu-central", "account": "solo", "at": "25s", "failed": True},
        {"region": "eu-central", "account": "solo", "at": "52s"},
        {"region": "eu-central", "shard": 1, "at": "31s", "failed": True},
    ]
    ticks = list(simulate(_with_controllers(reloads=reloads), EU, ticks=6))
    by_tick = [
        {g.gateway: (g.config_reloads, g.config_reload_failed) for g in tick.gateways}
        for tick in ticks
    ]
    solo = [states["kgw-53fb4b64058b-eu-central"] for states in by_tick]
    assert solo == [(2, False), (0, False), (0, True), (0, True), (0, True), (1, False)]
    shard = [states["kura-eu-central"] for states in by_tick]
    assert shard == [(0, False)] * 3 + [(0, True)] * 3


def test_a_scenario_sets_certificate_expiry_per_gateway() -> None:
    certificates = [{"region": "eu-central", "shard": 1, "days": 5}]
    (tick,) = list(
        simulate(_with_controllers(cert_days=30, certificates=certificates), EU, ticks=1)
    )
    expiry = {g.gateway: g.cert_expiry for g in tick.gateways}
    assert expiry == {
        "kura-eu-central": 5 * 86_400 - 10.0,
        "kgw-53fb4b64058b-eu-central": 30 * 86_400 - 10.0,
    }


def test_controllers_must_name_a_simulated_gateway() -> None:
    scenario = _with_controllers(
        reloads=[{"region": "eu-central", "shard": 2, "at": "1m"}],
        certificates=[{"region": "eu-central", "account": "nobody", "days": 3}],
    )
    with pytest.raises(InputError) as caught:
        build_fleet(scenario, EU)
    assert str(caught.value) == (
        "controllers: shard 2 in eu-central is not a simulated gateway; "
        "controllers: account nobody in eu-central is not a simulated gateway"
    )
    with pytest.raises(ValueError, match="eu-central: name either a shard or a dedicated account"):
        ConfigReload.model_validate({"region": "eu-central", "at": "1m"})
    with pytest.raises(ValueError, match="eu-central: name either a shard or a dedicated account"):
        Certificate.model_validate({"region": "eu-central", "shard": 1, "account": "a", "days": 1})


def test_restricting_the_regions_keeps_their_controllers_only() -> None:
    scenario = DEFAULT_SIMULATION.model_copy(
        update={
            "controllers": Controllers(
                reloads=[
                    ConfigReload(region="eu-central", shard=1, at=Duration(60.0)),
                    ConfigReload(region="us-west", shard=1, at=Duration(60.0)),
                ],
                certificates=[Certificate(region="us-east", account="initech", days=3)],
            )
        }
    )
    restricted = scenario.restricted_to(["eu-central"])
    assert [r.region for r in restricted.controllers.reloads] == ["eu-central"]
    assert restricted.controllers.certificates == []
    build_fleet(restricted, EU)


def test_shard_n_is_another_ingress_class() -> None:
    region = EU[0]
    assert shard_ingress_class(region, 1) == "kura-eu-central"
    assert shard_ingress_class(region, 3) == "kura-eu-central-3"


def test_shared_accounts_without_a_shard_get_a_stable_one() -> None:
    scenario = SimulationScenario(
        regions={"eu-central": RegionSpec(shards=3)},
        accounts=[SimulatedAccount(handle="hashed", id=9, region="eu-central")],
    )
    first = Simulator(scenario, EU)
    assert first.shard_of(scenario.accounts[0]) == Simulator(scenario, EU).shard_of(
        scenario.accounts[0]
    )
    (tick,) = list(simulate(scenario, EU, ticks=1))
    assert tick.accounts[0].gateway.startswith("kura-eu-central")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"accounts": [{"handle": "a", "id": 1, "region": "eu-central", "dedicated": True,
                           "shard": 1}]},
            "a: a dedicated account sits on no shared shard",
        ),
        (
            {"accounts": [{"handle": "a", "id": 1, "region": "eu-central"}] * 2},
            "account a is listed twice in eu-central",
        ),
        (
            {"accounts": [{"handle": "a", "id": 1, "region": "eu-central", "bursts": [
                {"jobs": 5, "size": "1GB", "window": "10m", "every": "5m"}]}]},
            "window + jitter must fit within every, so bursts never overlap",
        ),
        ({"tick": "0s"}, "tick and duration must be longer than zero"),
    ],
)  # fmt: skip
def test_bad_scenarios_are_refused_in_words(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SimulationScenario.model_validate(data)


def test_accounts_must_fit_the_simulated_regions() -> None:
    scenario = SimulationScenario(
        regions={"eu-central": RegionSpec(shards=1)},
        accounts=[
            SimulatedAccount(handle="far", id=1, region="us-west"),
            SimulatedAccount(handle="high", id=2, region="eu-central", shard=2),
        ],
    )
    with pytest.raises(InputError) as caught:
        build_fleet(scenario, EU)
    assert str(caught.value) == (
        "account far is in region 'us-west', which is not simulated (regions: eu-central); "
        "account high is on shard 2 but eu-central has 1"
    )


def test_a_plan_scenario_is_a_simulation_scenario() -> None:
    scenario = load_simulation(ROOT / "docs/examples/scenario.yaml")
    assert scenario.name == "example"
    assert scenario.accounts == []
    assert scenario.regions["eu-central"].replicas == 4


def test_the_example_simulation_loads_and_runs() -> None:
    scenario = load_simulation(ROOT / "docs/examples/simulation.yaml")
    ticks = list(simulate(scenario, PRODUCTION, ticks=10))
    assert len(ticks) == 10
    assert {a.handle for a in scenario.accounts} >= {"big-enterprise"}


def test_burst_patterns_extend_the_scenarios_bursts() -> None:
    pattern = BurstPattern(
        jobs=50, size=DataSize.parse("500MB"), window=Duration.parse("2m"),
        every=Duration.parse("15m"),
    )  # fmt: skip
    assert pattern.demand == SEED_BURSTS[0].demand
    # A burst starting mid-tick fills half of it.
    scenario = SimulationScenario(
        regions={"eu-central": RegionSpec(observed_peak=Bandwidth(0.0))},
        tick=Duration.parse("10s"),
        accounts=[
            SimulatedAccount(
                handle="solo", id=1, region="eu-central", bursts=[
                    pattern.model_copy(update={"start": Duration.parse("5s")})
                ],
            )
        ],
    )  # fmt: skip
    first = next(simulate(scenario, EU, ticks=1))
    assert first.accounts[0].demand_bps == pytest.approx(pattern.demand.bits_per_second / 2)


# --- kura simulate ------------------------------------------------------------------------------


def test_kura_simulate_prints_a_summary_per_gateway(invoke: Invoke) -> None:
    result = invoke("simulate", "--duration", "10m")
    assert result.exit_code == 0
    for text in ("kgw-30a76e4bd7e6-us-east", "kura-eu-central-2", "monorepo warm-up 66.7 Gbps",
                 "nightly 1.67 Gbps", "release train 2.67 Gbps", "SAT MAX", "P99 MAX"):  # fmt: skip
        assert text in result.stdout


def test_kura_simulate_json_is_the_report(invoke: Invoke) -> None:
    result = invoke("simulate", "--duration", "1m", "--tick", "10s", "--seed", "3", "-o", "json")
    report = json.loads(result.stdout)
    assert (report["seed"], report["tick_seconds"], report["duration_seconds"]) == (3, 10.0, 60.0)
    assert len(report["series"]) == 6 * len(report["gateways"])
    assert set(report["series"][0]) == {
        "t", "gateway", "offered_gbps", "bytes_in", "bytes_out", "saturation", "requests",
        "p50_latency", "p90_latency", "p95_latency", "p99_latency", "error_ratio",
        "success_ratio", "active_connections", "config_reloads", "config_reload_failed",
        "cert_expiry",
    }  # fmt: skip
    for point in report["series"]:
        assert point["p50_latency"] <= point["p90_latency"] <= point["p95_latency"]
        assert point["p95_latency"] <= point["p99_latency"]
    for summary in report["summary"]:
        assert summary["worst_p50_s"] <= summary["worst_p99_s"]
        # The built-in fleet's controllers are healthy: 60 days of certificates, no failures.
        assert summary["ticks_reload_failed"] == 0
        assert summary["least_cert_expiry_s"] == pytest.approx(60 * 86_400 - 60, abs=1)
    gateway = report["gateways"][0]
    assert gateway["binding"] == "regional-lb"  # the Hetzner provider's 5 Gbps LB binds
    yaml_report = yaml.safe_load(invoke("simulate", "--duration", "1m", "-o", "yaml").stdout)
    assert yaml_report["scenario"] == "seed-fleet"


def test_kura_simulate_says_a_ceiling_is_unknown_where_a_term_has_no_figure(
    invoke: Invoke, tmp_path: Path
) -> None:
    """eu-central on the Gateway API provider: Envoy's term has no figure, so the run simulates
    the bound the other terms allow, and says so as `kura plan` does."""
    regions = [
        r.model_copy(update={"ingress_provider": "gateway-api"}) if r.id == "eu-central" else r
        for r in managed_catalogs()["production"]
    ]
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([r.model_dump(mode="json") for r in regions]))
    args = ("--catalog", str(catalog), "simulate", "--duration", "1m")
    report = json.loads(invoke(*args, "-o", "json").stdout)
    unknown = {g["region"]: g["unknown_components"] for g in report["gateways"]}
    assert unknown == {"eu-central": ["envoy-proxy"], "us-east": [], "us-west": []}
    table = invoke(*args).stdout
    # The gateways' rows (the accounts' table has no KIND column).
    rows = {
        line.split("│")[1].strip(): line
        for line in table.splitlines()
        if "│ shard " in line or "│ dedicated " in line
    }
    assert len(rows) == len(report["gateways"])
    for name, line in rows.items():
        moved = name in {g["name"] for g in report["gateways"] if g["region"] == "eu-central"}
        assert ("unknown (≤ 5 Gbps)" in line) is moved, line
        assert ("≥" in line) is moved, line
    words = " ".join(table.split())
    assert (
        "eu-central: the ceiling is unknown, envoy-proxy having no figure; the run simulates "
        "the bound the other terms allow (docs/capacity.md)." in words
    )


def test_kura_simulate_summarises_the_example_controllers(invoke: Invoke) -> None:
    result = invoke(
        "simulate", "--scenario", str(ROOT / "docs/examples/simulation.yaml"), "-o", "json"
    )
    summary = {s["gateway"]: s for s in json.loads(result.stdout)["summary"]}
    shard_2 = summary["kura-eu-central-2"]
    # One good reload at 10m, then the failed one at 40m stays the last for the final 20 minutes.
    assert (shard_2["config_reloads"], shard_2["ticks_reload_failed"]) == (1, 20 * 60 // 5)
    bank = next(
        s
        for s in summary.values()
        if s["gateway"].endswith("-us-east") and s["kind"] == "dedicated"
    )
    # Six days from the start, one hour of which has passed by the last tick.
    assert bank["least_cert_expiry_s"] == pytest.approx(6 * 86_400 - 3_600)
    assert summary["kura-us-east"]["least_cert_expiry_s"] == pytest.approx(60 * 86_400 - 3_600)


def test_kura_simulate_exports_the_series_as_csv(invoke: Invoke, tmp_path: Path) -> None:
    stdout = invoke("simulate", "--duration", "30s", "--csv", "-").stdout
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert len(rows) == 6 * 7
    assert rows[0]["t"] == "5.0"
    target = tmp_path / "series.csv"
    result = invoke("simulate", "--duration", "30s", "--csv", str(target), "-o", "json")
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8") == stdout
    assert json.loads(result.stdout)["scenario"] == "seed-fleet"


def test_kura_simulate_runs_the_default_fleet_on_another_env(invoke: Invoke) -> None:
    report = json.loads(
        invoke("simulate", "--env", "staging", "--duration", "5s", "-o", "json").stdout
    )
    assert {g["region"] for g in report["gateways"]} == {"eu-central"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "soon"], "kura: error: Invalid value for '--duration': 'soon' is not a"),
        (["--tick", "0s"], "kura: error: Invalid value for '--tick': '0s' is not more than zero"),
        (
            ["--scenario", "/nonexistent.yaml"],
            "kura: error: cannot read scenario /nonexistent.yaml",
        ),
    ],
)
def test_kura_simulate_bad_input_is_one_line(invoke: Invoke, args: list[str], message: str) -> None:
    result = invoke("simulate", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_kura_simulate_reports_scenario_problems_at_once(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"seed": "x", "accounts": [{"handle": "a"}]}))
    result = invoke("simulate", "--scenario", str(path))
    assert result.exit_code == 2
    assert "seed: Input should be a valid integer" in result.stderr
    assert "accounts[0].id: Field required" in result.stderr


# --- streaming: a run of any length in constant memory ------------------------------------------


def test_the_simulator_is_a_generator_and_the_summary_keeps_no_tick() -> None:
    simulator = Simulator(DEFAULT_SIMULATION, PRODUCTION)
    assert inspect.isgenerator(simulator.run(1))
    produced = simulator.run(300)
    seen: list[weakref.ref[Tick]] = []

    def watched() -> Iterator[Tick]:
        for tick in produced:
            seen.append(weakref.ref(tick))
            yield tick

    result = run(simulator, watched())
    assert len(seen) == 300
    # Every tick is gone once the summary has it: nothing accumulates per tick.
    assert [ref for ref in seen if ref() is not None] == []
    assert {s.gateway for s in result.gateways} == {g.name for g in simulator.fleet}


def test_the_latency_histogram_stays_small_and_close_to_the_exact_mixture() -> None:
    histogram = LatencyHistogram()
    parts = [(0.05 + 0.001 * i, 0.0 if i < 700 else (i - 700) * 0.07, 10.0 + i % 7) for i in range(
        1000)]  # fmt: skip
    for mean, wait, requests in parts:
        histogram.add(mean, wait, requests)
    total = sum(weight for _, _, weight in parts)

    def share_within(x: float) -> float:
        return (
            sum(w * -math.expm1(-(x - wait) / mean) for mean, wait, w in parts if x > wait) / total
        )

    for q in (0.5, 0.95, 0.99):
        estimate = histogram.quantile(q)
        assert estimate is not None
        # The documented bound: the bins' half-widths, 0.5% of the mean and 0.05 s of wait.
        assert share_within(estimate * 1.005 + 0.05) >= q
        assert share_within(max(0.0, estimate / 1.005 - 0.05)) <= q
    # Bounded by the bins, not by what was added: another 100,000 ticks alike add no bin.
    bins = histogram.bins
    for _ in range(100):
        for mean, wait, requests in parts:
            histogram.add(mean, wait, requests)
    assert histogram.bins == bins
    assert LatencyHistogram().quantile(0.5) is None


def test_kura_simulate_refuses_a_run_it_could_not_finish(invoke: Invoke) -> None:
    result = invoke("simulate", "--duration", "1000000h", "--tick", "1s")
    assert result.exit_code == 2
    assert result.stderr == (
        "kura: error: 1000000h in 1s ticks is 3,600,000,000 ticks, more than the 1,000,000 a run "
        "may have: use a --tick of at least 3600s or a shorter --duration\n"
    )


def test_kura_simulate_asks_for_a_file_rather_than_a_huge_report(invoke: Invoke) -> None:
    result = invoke("simulate", "--duration", "24h", "--tick", "1s", "-o", "json")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "the series would be 604,800 points (86,400 ticks x 7 gateways)" in result.stderr
    assert "--series FILE (JSON lines) or --csv FILE, or use a --tick of at least 7s" in (
        result.stderr
    )


def test_kura_simulate_streams_the_series_as_json_lines(invoke: Invoke, tmp_path: Path) -> None:
    report = json.loads(invoke("simulate", "--duration", "1m", "-o", "json").stdout)
    lines = invoke("simulate", "--duration", "1m", "--series", "-").stdout.splitlines()
    assert [json.loads(line) for line in lines] == report["series"]
    target = tmp_path / "series.jsonl"
    written = json.loads(
        invoke("simulate", "--duration", "1m", "--series", str(target), "-o", "json").stdout
    )
    assert written["series"] is None
    assert written["summary"] == report["summary"]
    assert target.read_text(encoding="utf-8").splitlines() == lines
    both = invoke("simulate", "--csv", "-", "--series", "-")
    assert (both.exit_code, both.stderr) == (
        2,
        "kura: error: --csv - and --series - cannot both write to stdout\n",
    )


# --- the default fleet against its model and the figures of docs/capacity.md ----------------------


def test_the_default_fleet_peaks_at_the_observed_peak_before_bursts() -> None:
    # At the daily peak, without noise, in the first tick (no burst has started yet).
    calm = DEFAULT_SIMULATION.model_copy(
        update={"traffic": Traffic(noise=0.0, start_at=Duration.parse("14h"))}
    )
    (tick,) = list(simulate(calm, PRODUCTION, ticks=1))
    simulator = Simulator(calm, PRODUCTION)
    shared: dict[str, float] = {}
    for gateway, sample in zip(simulator.fleet, tick.gateways, strict=True):
        if gateway.kind is GatewayKind.SHARD:
            shared[gateway.region] = shared.get(gateway.region, 0.0) + sample.offered_bps
    # eu-central carries the observed 600 MB/s = 4.8 Gbps, its shared accounts' steady included.
    assert shared == {
        "eu-central": pytest.approx(600e6 * 8),
        "us-east": pytest.approx(300e6 * 8),
        "us-west": pytest.approx(150e6 * 8),
    }


def test_every_default_figure_follows_the_mm1_with_backlog_model() -> None:
    traffic = DEFAULT_SIMULATION.traffic
    for tick in simulate(DEFAULT_SIMULATION, PRODUCTION):
        for s in tick.gateways:
            rho = min(s.saturation, 0.98)
            queueing = traffic.service_seconds / (1 - rho)
            wait = s.p50_latency - queueing * P50_FACTOR
            assert s.p95_latency == pytest.approx(queueing * P95_FACTOR + wait)
            # A request waits behind a backlog only while the gateway is busy all the time.
            if wait > 1e-9:
                assert s.saturation >= 1.0, (tick.at, s.gateway, s.saturation, s.p95_latency)
            # Connections are whole: Little's law rounded up.
            assert isinstance(s.active_connections, int)
            mean_in_system = s.requests * (queueing + wait)
            assert mean_in_system <= s.active_connections < mean_in_system + 1


def test_a_draining_backlog_keeps_the_gateway_at_its_ceiling() -> None:
    pattern = BurstPattern(
        jobs=100, size=DataSize.parse("1GB"), window=Duration.parse("30s"),
        every=Duration.parse("1h"),
    )  # fmt: skip
    scenario = _one_gateway("2Gbps").model_copy(
        update={
            "accounts": [
                SimulatedAccount(
                    handle="solo", id=1, region="eu-central", dedicated=True,
                    steady=Bandwidth.parse("2Gbps"), bursts=[pattern],
                )
            ]
        }
    )  # fmt: skip
    samples = [t.gateways[-1] for t in simulate(scenario, EU, ticks=40)]
    after = [s for s in samples[6:] if s.offered_bps < 3e9]
    draining = [s for s in after if s.p50_latency > 1.0]
    # The burst is over (offered 40%), but its backlog still waits: the gateway is at 100%.
    assert draining
    assert all(s.saturation == pytest.approx(1.0) for s in draining)
    assert after[-1].saturation == pytest.approx(0.4)
