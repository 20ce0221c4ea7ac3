"""`kura` commands for a region on the gateway-api provider, beside one on ingress-nginx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from tests.provider_gateway_api.conftest import CATALOG


def kura(*args: str, input: str | None = None) -> tuple[int, str]:
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner,gateway-api"})
    result = CliRunner().invoke(
        build_cli(host),
        ["--catalog", str(CATALOG), *args],
        input=input,
        env={"TUIST_HOSTED": "1"},
    )
    return result.exit_code, result.stdout + (result.stderr if result.exit_code else "")


def manifests(region: str) -> str:
    code, out = kura(
        "render",
        "--account-id",
        "7",
        "--handle",
        "acme",
        "--plan",
        "enterprise",
        "--region",
        region,
    )
    assert code == 0, out
    return out


def kinds(stream: str) -> list[str]:
    return [d["kind"] for d in yaml.safe_load_all(stream) if d]


def test_gateway_and_instance_render_follow_the_regions_provider() -> None:
    code, out = kura("gateway", "render", "-", input=manifests("eu-central"))
    assert code == 0, out
    assert "Gateway" in kinds(out)
    assert "Deployment" not in kinds(out)
    code, out = kura("instance", "render", "-", input=manifests("eu-central"))
    assert code == 0, out
    assert {"ListenerSet", "HTTPRoute", "GRPCRoute"} <= set(kinds(out))
    code, out = kura("instance", "render", "-", input=manifests("us-east"))
    assert code == 0, out
    assert "Ingress" in kinds(out)
    assert "HTTPRoute" not in kinds(out)


def test_values_and_plan_cover_both_regions() -> None:
    code, out = kura("gateway", "values")
    assert code == 0, out
    assert set(yaml.safe_load(out)) == {"kura-eu-central-gateway-api", "kura-us-east-ingress-nginx"}
    code, out = kura("plan", "-o", "json")
    assert code == 0, out


def plan_regions(*args: str) -> dict[str, dict[str, Any]]:
    code, out = kura("plan", "-o", "json", *args)
    assert code == 0, out
    return {region["region"]: region for region in json.loads(out)["regions"]}


def components(region: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {component["name"]: component for component in region["components"]}


def test_the_plan_says_the_envoy_region_s_ceiling_is_unknown_instead_of_using_nginx_s() -> None:
    regions = plan_regions()
    envoy, nginx = regions["eu-central"], regions["us-east"]
    assert envoy["unknown_components"] == ["envoy-proxy"]
    assert "nginx-workers" not in components(envoy)
    term = components(envoy)["envoy-proxy"]
    assert (term["figure"], term["effective_gbps"], term["per_replica"]) == ("unknown", None, True)
    assert "Envoy publishes no throughput figure" in term["source"]
    # What the other terms allow: the Hetzner load balancer's planning figure.
    assert (envoy["shard_ceiling_gbps"], envoy["binding"]) == (5.0, "regional-lb")
    assert nginx["unknown_components"] == []
    assert components(nginx)["nginx-workers"]["source"].startswith("measured: one nginx worker")
    assert "envoy-proxy" not in components(nginx)

    code, table = kura("plan")
    assert code == 0, table
    assert "unknown" in table
    assert "eu-central: the ceiling is unknown, envoy-proxy having no" in " ".join(table.split())


def test_a_scenario_gives_envoy_its_measured_figure_and_nginx_s_stays_out(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "defaults": {"components": {"nginx-workers": "100MB/s"}},
                "regions": {"eu-central": {"components": {"envoy-proxy": "1Gbps"}}},
            }
        )
    )
    regions = plan_regions("--scenario", str(scenario))
    envoy, nginx = regions["eu-central"], regions["us-east"]
    assert envoy["unknown_components"] == []
    # Per replica, as the provider's term: 2 replicas carry 2 Gbps, which binds.
    assert (envoy["shard_ceiling_gbps"], envoy["binding"]) == (2.0, "envoy-proxy")
    assert "nginx-workers" not in components(envoy)
    assert components(nginx)["nginx-workers"]["figure"] == "100MB/s"
