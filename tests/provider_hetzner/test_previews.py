"""``kura gateway render|values`` and ``kura instance render`` with the hetzner plugin.

End to end: what ``kura render`` prints, piped into the previews, gives objects that validate
against the official schemas and never name the customer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from tests.provider_hetzner.kube_schemas import assert_valid

HERE = Path(__file__).parent
EXAMPLE = HERE / "data" / "kgw-abc123-us-east.yaml"
CLUSTER = HERE.parent / "core" / "data" / "cluster-production.yaml"
RENDER_ENTERPRISE = (
    "render",
    "--hosted",
    "--account-id",
    "42",
    "--handle",
    "acme",
    "--plan",
    "enterprise",
    "--region",
    "us-east",
)


def kura(*args: str, input: str | None = None) -> Result:
    """``kura`` with only the hetzner plugin and no env or catalog from the environment."""
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
    return CliRunner().invoke(
        build_cli(host),
        list(args),
        input=input,
        env={"KURA_ENV": None, "KURA_CATALOG": None},
        catch_exceptions=False,
    )


def stream(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kura: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


# --- the pipe ----------------------------------------------------------------------------------


def test_kura_render_piped_into_gateway_render() -> None:
    manifests = kura(*RENDER_ENTERPRISE)
    assert manifests.exit_code == 0
    result = kura("gateway", "render", "-", input=manifests.stdout)
    objects = stream(result)
    assert [obj["kind"] for obj in objects] == [
        "ConfigMap",
        "Service",
        "IngressClass",
        "Deployment",
    ]
    for obj in objects:
        assert_valid(obj)
    assert "acme" not in result.stdout
    # The annotations kura render (and the Tuist server) send are the ones the provider keeps.
    assert result.stderr == ""
    assert "acme" not in json.dumps(objects)


def test_kura_render_piped_into_instance_render() -> None:
    manifests = kura(*RENDER_ENTERPRISE)
    result = kura("instance", "render", "-", input=manifests.stdout)
    objects = stream(result)
    assert [(obj["kind"], obj["metadata"]["name"]) for obj in objects] == [
        ("Ingress", "kura-acme-us-east-1"),
        ("Ingress", "kura-acme-us-east-1-grpc"),
        ("Ingress", "kura-acme-us-east-1-private"),
        ("Certificate", "kura-acme-us-east-1-public-tls"),
        ("Certificate", "kura-acme-us-east-1-grpc-tls"),
    ]
    for obj in objects:
        assert_valid(obj)
    # The instance is routed through the dedicated gateway's class.
    assert objects[0]["spec"]["ingressClassName"] == ("kura-us-east-kgw-38dbcc9b3c91-us-east")


@pytest.mark.parametrize("command", ["gateway", "instance"])
def test_what_kubectl_get_prints_is_read_item_by_item(command: str) -> None:
    # `kubectl get kuragateways,kurainstances -o yaml` prints one List of both kinds.
    manifests = stream(kura(*RENDER_ENTERPRISE))
    listed = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": manifests})
    from_list = kura(command, "render", "-", input=listed)
    from_stream = kura(command, "render", "-", input=yaml.safe_dump_all(manifests))
    assert [o["kind"] for o in manifests] == ["KuraGateway", "KuraInstance"]
    assert stream(from_list) == stream(from_stream) != []
    bad = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": ["not an object"]})
    assert_one_line_error(kura(command, "render", "-", input=bad), "List items must be a list")


def test_instance_render_takes_the_cluster_issuer() -> None:
    manifests = kura(*RENDER_ENTERPRISE)
    result = kura(
        "instance", "render", "--cluster-issuer", "staging", "-o", "json", input=manifests.stdout
    )
    assert result.exit_code == 0
    objects = json.loads(result.stdout)
    assert {o["spec"]["issuerRef"]["name"] for o in objects if o["kind"] == "Certificate"} == {
        "staging"
    }


def test_gateway_render_of_a_file_matches_the_golden_file() -> None:
    result = kura(
        "gateway",
        "render",
        str(EXAMPLE),
        "--service-account-name",
        "tuist-kura-controller-gateway-ingress-nginx",
    )
    assert result.exit_code == 0
    golden = HERE / "golden" / "gateway-kgw-abc123-us-east.yaml"
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_gateway_render_table_and_json() -> None:
    table = kura("gateway", "render", str(EXAMPLE), "-o", "table")
    assert table.exit_code == 0
    assert "kgw-abc123-us-east-controller" in table.stdout
    assert "IngressClass" in table.stdout
    as_json = kura("gateway", "render", str(EXAMPLE), "-o", "json")
    assert [o["kind"] for o in json.loads(as_json.stdout)] == [
        "ConfigMap",
        "Service",
        "IngressClass",
        "Deployment",
    ]


def test_input_without_gateways_renders_nothing_and_exits_1() -> None:
    # A free-plan account gets the shared gateway: its manifests hold no KuraGateway.
    manifests = kura("render", "--account-id", "42", "--handle", "acme", "--region", "us-east")
    result = kura("gateway", "render", "-", input=manifests.stdout)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no KuraGateway objects in the input, nothing rendered" in result.stderr
    allowed = kura("gateway", "render", "-", "--allow-empty", input=manifests.stdout)
    assert allowed.exit_code == 0
    assert "warning: no KuraGateway objects" in allowed.stderr


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["gateway", "instance"])
def test_malformed_yaml_is_one_line_and_exit_2(command: str) -> None:
    result = kura(command, "render", "-", input="kind: [unclosed\n")
    assert_one_line_error(result, "<stdin>: not valid YAML")


@pytest.mark.parametrize("command", ["gateway", "instance"])
def test_a_document_that_is_not_an_object_is_exit_2(command: str) -> None:
    result = kura(command, "render", "-", input="---\n- a list\n")
    assert_one_line_error(result, "document 1 is not a Kubernetes object")


def test_a_malformed_gateway_is_exit_2() -> None:
    bad = EXAMPLE.read_text(encoding="utf-8").replace("replicas: 3", "replicas: zero")
    assert_one_line_error(kura("gateway", "render", "-", input=bad), "invalid KuraGateway")


def test_a_malformed_instance_is_exit_2() -> None:
    bad = "apiVersion: kura.tuist.dev/v1alpha1\nkind: KuraInstance\nmetadata: {name: x}\nspec: {}\n"
    assert_one_line_error(kura("instance", "render", "-", input=bad), "invalid KuraInstance x")


def test_a_region_the_env_does_not_offer_is_exit_2() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert_one_line_error(
        kura("gateway", "render", "--env", "staging", "-", input=text),
        "region 'us-east' is not offered in env 'staging'",
    )
    unknown = text.replace("region: us-east", "region: mars")
    assert_one_line_error(kura("gateway", "render", "-", input=unknown), "unknown region 'mars'")


def test_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = kura("gateway", "render", str(tmp_path / "missing.yaml"))
    assert_one_line_error(result, "cannot read input")


# --- values ------------------------------------------------------------------------------------


def test_gateway_values_pass_kura_drift(tmp_path: Path) -> None:
    result = kura("gateway", "values", "--env", "production")
    assert result.exit_code == 0
    values = tmp_path / "values.yaml"
    values.write_text(result.stdout, encoding="utf-8")
    drift = kura("drift", "--values", str(values), "--cluster", str(CLUSTER))
    assert drift.exit_code == 0, drift.stdout + drift.stderr
    assert "no drift" in drift.stdout


def test_gateway_values_hold_a_block_per_region_of_the_env() -> None:
    production = yaml.safe_load(kura("gateway", "values").stdout)
    assert list(production) == [
        "kura-eu-central-ingress-nginx",
        "kura-us-east-ingress-nginx",
        "kura-us-west-ingress-nginx",
    ]
    staging = json.loads(kura("gateway", "values", "--env", "staging", "-o", "json").stdout)
    assert list(staging) == ["kura-eu-central-ingress-nginx"]


def test_gateway_values_drift_when_an_env_offers_fewer_regions(tmp_path: Path) -> None:
    # Staging values miss us-east and us-west, which production offers: drift, exit 1.
    values = tmp_path / "values.yaml"
    values.write_text(kura("gateway", "values", "--env", "staging").stdout, encoding="utf-8")
    drift = kura("drift", "--values", str(values), "--cluster", str(CLUSTER))
    assert drift.exit_code == 1


def test_gateway_values_table() -> None:
    result = kura("gateway", "values", "-o", "table")
    assert result.exit_code == 0
    for text in ("kura-us-west-ingress-nginx", "ingress-nginx", "hetzner"):
        assert text in result.stdout


def test_annotations_the_provider_keeps_its_own_value_for_are_a_warning() -> None:
    bad = EXAMPLE.read_text(encoding="utf-8").replace(
        "name: tuist-kgw-abc123-us-east-ingress", "name: tuist-kura-us-east-ingress"
    )
    result = kura("gateway", "render", "-", input=bad)
    service = next(obj for obj in stream(result) if obj["kind"] == "Service")
    assert service["metadata"]["annotations"]["load-balancer.hetzner.cloud/name"] == (
        "tuist-kgw-abc123-us-east-ingress"
    )
    assert result.stderr == (
        "kura: warning: KuraGateway kgw-abc123-us-east: spec.loadBalancerAnnotations: ignored "
        "load-balancer.hetzner.cloud/name (kept 'tuist-kgw-abc123-us-east-ingress'): the "
        "load-balancer provider 'hetzner' sets them from the gateway's name and region\n"
    )


def test_a_gateway_named_like_a_regions_shared_lb_is_exit_2() -> None:
    bad = EXAMPLE.read_text(encoding="utf-8").replace(
        "name: kgw-abc123-us-east\n", "name: kura-us-east\n"
    )
    assert_one_line_error(
        kura("gateway", "render", "-", input=bad),
        "KuraGateway kura-us-east: its load balancer would be 'tuist-kura-us-east-ingress'",
    )
