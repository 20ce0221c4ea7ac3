"""`kura` commands for a region on the gateway-api provider, beside one on ingress-nginx."""

from __future__ import annotations

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
