"""The example files under docs/examples/ work with the commands they name, and the formats a
user has to write are accepted in the forms kura itself prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kura_core.regions import load_catalog_file
from tests.core.conftest import Invoke

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_kura_regions_output_reads_back_as_a_catalog(
    invoke: Invoke, tmp_path: Path, output: str
) -> None:
    printed = invoke("regions", "-o", output).stdout
    saved = tmp_path / f"catalog.{output}"
    saved.write_text(printed)
    assert invoke("--catalog", str(saved), "regions", "-o", output).stdout == printed
    # A bare list offers its regions in every env.
    staging = invoke("--catalog", str(saved), "regions", "--env", "staging", "-o", output)
    assert staging.stdout == printed


def test_the_catalog_example_loads(invoke: Invoke) -> None:
    catalogs = load_catalog_file(EXAMPLES / "catalog.yaml")
    assert catalogs["production"].ids == ["eu-central", "us-east"]
    result = invoke("--catalog", str(EXAMPLES / "catalog.yaml"), "regions", "--env", "lab")
    assert result.exit_code == 0, result.output
    assert "kura-lab-1" in result.stdout


def test_a_list_of_region_ids_says_what_a_region_is(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text(yaml.safe_dump({"environments": {"production": ["us-east"]}}))
    result = invoke("--catalog", str(path), "regions")
    assert result.exit_code == 2
    assert "production: a region is a mapping, not 'us-east'" in result.stderr
    assert "docs/examples/catalog.yaml" in result.stderr


def test_node_selector_and_node_pool_must_agree(invoke: Invoke, tmp_path: Path) -> None:
    region = json.loads(invoke("regions", "-o", "json").stdout)[0] | {"node_pool": "other"}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([region]))
    result = invoke("--catalog", str(path), "regions")
    assert result.exit_code == 2
    assert "node_pool and node_selector name different node pools" in result.stderr


def test_plan_names_the_command_a_simulation_scenario_is_for(invoke: Invoke) -> None:
    result = invoke("plan", "--scenario", str(EXAMPLES / "simulation.yaml"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "is a `kura simulate` scenario (it sets accounts, controllers" in lines[0]
    assert "Extra inputs" not in lines[0]


def test_the_cluster_example_passes_drift_with_kura_s_own_values(
    invoke: Invoke, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(invoke("gateway", "values").stdout)
    result = invoke("drift", "--values", str(values), "--cluster", str(EXAMPLES / "cluster.yaml"))
    assert result.exit_code == 0, result.output
    assert "no drift" in result.stdout
