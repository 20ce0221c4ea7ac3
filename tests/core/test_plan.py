"""Scenarios, the pure planner, and the ``kura burst``, ``capacity`` and ``plan`` commands."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from rich.console import Console

from kura_core.cli.commands.capacity import render_plan
from kura_core.errors import InputError
from kura_core.ladder import Rung
from kura_core.plan import Plan, build_plan
from kura_core.regions import managed_catalogs
from kura_core.scenario import DEFAULT_SCENARIO, Scenario, load_scenario, scenario_from_mapping
from kura_core.units import Bandwidth

Invoke = Callable[..., Result]
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scenario.yaml"
PRODUCTION = managed_catalogs()["production"]


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("kura: error: ")
    return lines[0]


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_plan_holds_the_seed_figures_for_every_production_region() -> None:
    plan = build_plan(DEFAULT_SCENARIO, PRODUCTION, "production")
    assert [region.region for region in plan.regions] == ["eu-central", "us-east", "us-west"]
    for region in plan.regions:
        assert region.observed_peak_mb_per_s == pytest.approx(600)
        assert region.observed_peak_gbps == pytest.approx(4.8)
        assert (region.shards, region.replicas) == (1, 2)
        assert region.shard_ceiling_gbps == pytest.approx(5)
        assert (region.binding, region.binding_assumption) == ("gateway-node", True)
        assert region.shard_ratio is not None
        assert round(region.shard_ratio, 1) == 1.0
        assert [round(burst.demand_gbps, 1) for burst in region.bursts] == [1.7, 2.7, 66.7]
        assert [c.name for c in region.components if c.binding] == ["gateway-node"]
        assert all(c.assumption for c in region.components)
        assert region.recommendation.rung is Rung.REPLICAS


def test_bursts_say_what_they_would_need() -> None:
    plan = build_plan(DEFAULT_SCENARIO, PRODUCTION, "production")
    small, medium, huge = plan.regions[0].bursts
    assert small.needs == "fits one shard; dedicated if regular"
    assert small.share_of_shard == pytest.approx(1 / 3)
    assert medium.replicas_needed == 2
    assert huge.replicas_needed is None
    # 66.7 Gbps over shards capped at 10 Gbps (kura-node, from 4 replicas on).
    assert (huge.shards_needed, huge.replicas_per_shard) == (7, 4)
    assert huge.needs == "7 shards x 4 replicas; dedicated if regular"
    assert huge.demand_mb_per_s == pytest.approx(500 * 2000 / 120)


def test_scenario_settings_fill_in_defaults_and_merge_components() -> None:
    scenario = scenario_from_mapping(
        {
            "defaults": {"components": {"kura-node": "40Gbps"}},
            "regions": {
                "us-east": {
                    "observed_peak": "1GB/s",
                    "replicas": 6,
                    "components": {
                        "regional-lb": "8Gbps",
                        "extra-hop": {"capacity": "30Gbps", "assumption": True},
                    },
                    "accounts": {"acme": {"peak": "2Gbps"}, "bank": {"isolation": True}},
                }
            },
        },
        source="test",
    )
    east = scenario.settings("us-east")
    assert east.observed_peak == Bandwidth.parse("8Gbps")
    assert east.shard.replicas == 6
    by_name = {component.name: component for component in east.shard.components}
    assert by_name["regional-lb"].capacity == Bandwidth.parse("8Gbps")
    assert not by_name["regional-lb"].assumption
    assert by_name["gateway-node"].per_replica
    assert by_name["kura-node"].capacity == Bandwidth.parse("40Gbps")
    assert by_name["extra-hop"].assumption
    assert not by_name["extra-hop"].per_replica
    assert [(a.handle, a.isolation) for a in east.accounts] == [("acme", False), ("bank", True)]
    west = scenario.settings("us-west")
    assert west.observed_peak == Bandwidth.parse("600MB/s")
    assert len(west.bursts) == 3


def test_scenario_problems_are_reported_together() -> None:
    with pytest.raises(InputError) as caught:
        scenario_from_mapping(
            {
                "defaults": {"observed_peak": 600, "bursts": [{"jobs": 0, "size": "2GB"}]},
                "regions": {"Bad_Region": {}, "us-east": {"shards": 0, "colour": "red"}},
            },
            source="s.yaml",
        )
    message = str(caught.value)
    assert "\n" not in message
    for expected in (
        "defaults.observed_peak: 600 has no unit",
        "defaults.bursts[0].jobs",
        "defaults.bursts[0].window: Field required",
        "Bad_Region",
        "regions.us-east.shards",
        "regions.us-east.colour: Extra inputs are not permitted",
    ):
        assert expected in message


def test_replicas_above_the_max_are_refused() -> None:
    with pytest.raises(InputError, match=r"regions\.us-east\.replicas 9 is above"):
        scenario_from_mapping(
            {"regions": {"us-east": {"replicas": 9}}, "thresholds": {"max_replicas": 8}},
            source="s.yaml",
        )


def test_unknown_regions_are_an_error() -> None:
    scenario = Scenario.model_validate({"regions": {"mars-1": {}, "us-east": {}}})
    with pytest.raises(InputError, match=r"region\(s\) mars-1, us-east that env 'staging' does"):
        build_plan(scenario, managed_catalogs()["staging"], "staging")


def test_the_example_scenario_loads_and_plans() -> None:
    scenario = load_scenario(EXAMPLE)
    assert scenario.name == "example"
    plan = build_plan(scenario, PRODUCTION, "production")
    by_region = {region.region: region for region in plan.regions}
    eu = by_region["eu-central"].recommendation
    assert eu.rung is Rung.DEDICATED
    assert [a.account for a in eu.actions] == ["big-enterprise", "regulated-bank"]
    assert by_region["us-east"].components[0].name == "regional-lb"
    assert not by_region["us-east"].components[0].assumption
    assert by_region["us-west"].recommendation.rung is Rung.HOLD


def test_a_scenario_file_is_named_after_itself(tmp_path: Path) -> None:
    path = tmp_path / "busy-week.yaml"
    path.write_text("defaults:\n  observed_peak: 1GB/s\n")
    assert load_scenario(path).name == "busy-week"


def test_the_plan_table_is_readable_at_100_columns() -> None:
    plan = build_plan(load_scenario(EXAMPLE), PRODUCTION, "production")
    console = Console(width=100, file=io.StringIO())
    console.print(render_plan(plan))
    assert isinstance(console.file, io.StringIO)
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100
    for expected in ("eu-central", "gateway-node*", "big-enterprise", "monorepo warm-up"):
        assert expected in text
    assert "…" not in text


def test_cli_default_plan(invoke: Invoke) -> None:
    result = invoke("plan")
    assert result.exit_code == 0, result.output
    for expected in ("eu-central", "us-east", "us-west", "gateway-node*", "replicas", "1.0x"):
        assert expected in result.stdout
    assert "assumption" in result.stdout


def test_cli_plan_json_dumps_the_plan_model(invoke: Invoke) -> None:
    result = invoke("plan", "-o", "json")
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate(json.loads(result.stdout))
    assert plan.env == "production"
    assert plan.scenario == "seed"
    # The hetzner provider's 5 Gbps planning figure for the LB binds, and it is per shard.
    region = plan.regions[0]
    assert (region.binding, region.shard_ceiling_gbps) == ("regional-lb", 5.0)
    assert region.recommendation.actions[0].shards == 2


def test_cli_plan_yaml_with_the_example(invoke: Invoke) -> None:
    result = invoke("plan", "--scenario", str(EXAMPLE), "-o", "yaml")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["scenario"] == "example"
    assert data["regions"][0]["recommendation"]["rung"] == "dedicated"


def test_cli_plan_broken_scenario(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("regions: [\n")
    line = _one_line_error(invoke("plan", "--scenario", str(path)))
    assert "not valid YAML" in line


def test_cli_plan_invalid_scenario(invoke: Invoke, tmp_path: Path) -> None:
    path = _write(tmp_path, {"defaults": {"observed_peak": "fast", "replicas": "many"}})
    line = _one_line_error(invoke("plan", "--scenario", str(path)))
    assert "defaults.observed_peak" in line
    assert "defaults.replicas" in line


def test_cli_plan_unknown_region(invoke: Invoke, tmp_path: Path) -> None:
    path = _write(tmp_path, {"regions": {"us-east": {}, "ap-south": {}}})
    line = _one_line_error(invoke("plan", "--scenario", str(path)))
    assert "ap-south" in line
    assert "offered: eu-central, us-east, us-west" in line


def test_cli_plan_region_of_another_env(invoke: Invoke, tmp_path: Path) -> None:
    path = _write(tmp_path, {"regions": {"us-east": {}}})
    line = _one_line_error(invoke("plan", "--env", "staging", "--scenario", str(path)))
    assert "us-east" in line


def test_cli_plan_missing_scenario_file(invoke: Invoke, tmp_path: Path) -> None:
    line = _one_line_error(invoke("plan", "--scenario", str(tmp_path / "nope.yaml")))
    assert "cannot read scenario" in line


def test_cli_burst(invoke: Invoke) -> None:
    result = invoke("burst", "--jobs", "500", "--size", "2GB", "--window", "2m", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["demand_gbps"] == pytest.approx(66.67, abs=0.01)
    assert report["demand_mb_per_s"] == pytest.approx(8333.3, abs=0.1)
    assert report["shard_gbps"] is None
    table = invoke("burst", "--jobs", "500", "--size", "2GB", "--window", "2m", "--shard", "5Gbps")
    assert table.exit_code == 0, table.output
    assert "66.7 Gbps" in table.stdout
    assert "8,333" in table.stdout
    assert "13.3x" in table.stdout


def test_cli_burst_against_a_shard(invoke: Invoke) -> None:
    args = ("burst", "--jobs", "100", "--size", "1GB", "--window", "5m", "--shard", "1Gbps")
    report = json.loads(invoke(*args, "-o", "json").stdout)
    assert report["shards_needed"] == 3
    assert report["share_of_shard"] == pytest.approx(2.667, abs=0.001)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--size", "2 bananas", "--window", "2m"), "'--size': '2 bananas' is not a data size"),
        (("--size", "2GB", "--window", "2 weeks"), "'--window': '2 weeks' is not a duration"),
        (("--size", "2GB", "--window", "0s"), "'--window': '0s' is not more than zero"),
        (("--size", "2GB", "--window", "2m", "--shard", "5"), "'--shard': '5' is not a bandwidth"),
    ],
)
def test_cli_burst_bad_input(invoke: Invoke, args: tuple[str, ...], expected: str) -> None:
    line = _one_line_error(invoke("burst", "--jobs", "5", *args))
    assert expected in line


def test_cli_capacity_reproduces_the_seed_ratios(invoke: Invoke) -> None:
    shards = ("--shard", "1Gbps", "--shard", "5Gbps", "--shard", "10Gbps", "--shard", "20Gbps")
    result = invoke("capacity", "--observed-peak", "600MB/s", *shards, "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["observed_peak_gbps"] == pytest.approx(4.8)
    assert [round(row["ratio"], 1) for row in report["shards"]] == [0.2, 1.0, 2.1, 4.2]
    assert report["ceiling"] is None
    table = invoke("capacity", "--observed-peak", "600MB/s", *shards)
    for ratio in ("0.2x", "1.0x", "2.1x", "4.2x"):
        assert ratio in table.stdout


def test_cli_capacity_ceiling_names_the_binding_component(invoke: Invoke) -> None:
    result = invoke(
        "capacity",
        "--observed-peak",
        "600MB/s",
        "--component",
        "regional-lb=20Gbps",
        "--component",
        "nginx-workers=565MiB/s",
        "--component",
        "kura-node=10Gbps",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    ceiling = json.loads(result.stdout)["ceiling"]
    assert ceiling["binding"] == "nginx-workers"
    assert ceiling["capacity_gbps"] == pytest.approx(4.74, abs=0.01)
    assert [c["binding"] for c in ceiling["components"]] == [False, True, False]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--observed-peak", "600MB/s"), "give at least one --shard or --component"),
        (("--observed-peak", "0MB/s", "--shard", "1Gbps"), "'0MB/s' is not more than zero"),
        (("--observed-peak", "fast", "--shard", "1Gbps"), "'--observed-peak': 'fast'"),
        (("--observed-peak", "600MB/s", "--component", "lb"), "is not NAME=BANDWIDTH"),
        (("--observed-peak", "600MB/s", "--component", "lb=x"), "lb: 'x' is not a bandwidth"),
        (
            ("--observed-peak", "600MB/s", "--component", "lb=1Gbps", "--component", "lb=2Gbps"),
            "lb given more than once",
        ),
    ],
)
def test_cli_capacity_bad_input(invoke: Invoke, args: tuple[str, ...], expected: str) -> None:
    line = _one_line_error(invoke("capacity", *args))
    assert expected in line
