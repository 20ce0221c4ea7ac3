"""``kura gateway`` and ``kura instance`` know no provider: a third-party pair is enough."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner, Result
from docs.examples.third_party_plugin import ThirdPartyPlugin

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost

GATEWAY = """\
apiVersion: kura.tuist.dev/v1alpha1
kind: KuraGateway
metadata: {name: kgw-0123456789ab-lab-1, namespace: kura}
spec: {region: lab-1, ingressClassName: kura-lab-1-kgw-0123456789ab-lab-1}
"""
INSTANCE = """\
apiVersion: kura.tuist.dev/v1alpha1
kind: KuraInstance
metadata: {name: kura-acme-lab-1-1, namespace: kura}
spec: {accountHandle: acme, tenantID: acme, region: lab-1, image: kura:1}
"""


def catalog(tmp_path: Path) -> Path:
    region = {
        "id": "lab-1",
        "display_name": "Lab",
        "location": "nbg1",
        "node_pool": "lab",
        "load_balancer_provider": "fake-lb",
        "ingress_provider": "fake-ingress",
    }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"environments": {"lab": [region]}}), encoding="utf-8")
    return path


def kura(tmp_path: Path, *args: str, input: str | None = None) -> Result:
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": ""})
    host.register(ThirdPartyPlugin(), name="third-party")
    return CliRunner().invoke(
        build_cli(host),
        ["--catalog", str(catalog(tmp_path)), *args],
        input=input,
        env={"KURA_ENV": None, "KURA_CATALOG": None},
        catch_exceptions=False,
    )


def test_gateway_render_asks_the_regions_providers(tmp_path: Path) -> None:
    result = kura(tmp_path, "gateway", "render", "--env", "lab", "-", input=GATEWAY)
    assert result.exit_code == 0, result.stderr
    (obj,) = yaml.safe_load_all(result.stdout)
    assert obj["metadata"]["name"] == "kgw-0123456789ab-lab-1-fake"
    assert obj["metadata"]["annotations"] == {
        "fake/name": "lb-kgw-0123456789ab-lab-1",
        "fake/where": "nbg1",
    }


def test_gateway_values_merge_every_regions_blocks(tmp_path: Path) -> None:
    result = kura(tmp_path, "gateway", "values", "--env", "lab", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"fake-lab-1": {"class": "kura-lab-1"}}


def test_instance_render_with_a_provider_that_routes_nothing(tmp_path: Path) -> None:
    result = kura(tmp_path, "instance", "render", "--env", "lab", "-", input=INSTANCE)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""


def test_a_gateway_for_a_region_of_another_env_is_exit_2(tmp_path: Path) -> None:
    text = GATEWAY.replace("region: lab-1", "region: us-east")
    result = kura(tmp_path, "gateway", "render", "--env", "lab", "-", input=text)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "kura: error: unknown region 'us-east' in env 'lab' (offered: lab-1)"
    ]
