"""A dedicated gateway's child objects: upstream's example, schema validity, properties."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kura_core.errors import InputError
from kura_core.manifests import yaml_stream
from kura_core.names import gateway_name
from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider, LoadBalancerProvider
from kura_core.regions import Region, managed_catalogs
from kura_core.resources import KuraGateway, parse_gateway, to_manifest
from kura_core.units import DataSize
from kura_provider_hetzner.gateway_config import config_hash
from kura_provider_hetzner.gateway_tuning import GatewayTuning
from kura_provider_hetzner.ingress_nginx import IngressNginxProvider
from tests.provider_hetzner.kube_schemas import (
    KUBERNETES_VERSIONS,
    assert_valid,
    supported_versions,
)

HERE = Path(__file__).parent
EXAMPLE = HERE / "data" / "kgw-abc123-us-east.yaml"
GOLDEN = HERE / "golden" / "gateway-kgw-abc123-us-east.yaml"
SERVICE_ACCOUNT = "tuist-kura-controller-gateway-ingress-nginx"
US_EAST = managed_catalogs()["production"].get("us-east")
HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
CONFIG_HASH = "kura.tuist.dev/config-sha256"


def ingress_nginx() -> IngressProvider:
    return HOST.ingress_provider("ingress-nginx")


def hetzner() -> LoadBalancerProvider:
    return HOST.load_balancer_provider("hetzner")


@functools.cache
def _example_data() -> dict[str, Any]:
    # Read once: the property tests build a gateway from it hundreds of times.
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def example(**spec: Any) -> KuraGateway:
    data = copy.deepcopy(_example_data())
    data["spec"].update(spec)
    return parse_gateway(data)


def gateway(
    name: str = "kgw-abc123-us-east", *, uid: str | None = None, **spec: Any
) -> KuraGateway:
    metadata: dict[str, Any] = {"name": name, "namespace": "kura"}
    if uid:
        metadata["uid"] = uid
    return parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": metadata,
            "spec": {"region": "us-east", "ingressClassName": "kura-us-east-kgw-abc123", **spec},
        }
    )


def render(
    gw: KuraGateway, *, provider: IngressProvider | None = None, region: Region = US_EAST
) -> list[dict[str, Any]]:
    return (provider or ingress_nginx()).render_gateway(
        gw, region=region, load_balancer=hetzner(), service_account_name=SERVICE_ACCOUNT
    )


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {obj["kind"]: obj for obj in objects}
    assert len(kinds) == len(objects)
    return kinds


# --- upstream's example (docs/upstream.md) ------------------------------------------------------


def test_children_come_in_upstream_apply_order() -> None:
    assert [obj["kind"] for obj in render(example())] == [
        "ConfigMap",
        "Service",
        "IngressClass",
        "Deployment",
    ]


def test_upstream_example_service() -> None:
    service = by_kind(render(example()))["Service"]
    assert service["metadata"]["name"] == "kgw-abc123-us-east-controller"
    assert service["metadata"]["namespace"] == "kura"
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["metadata"]["annotations"] == {
        "load-balancer.hetzner.cloud/location": "ash",
        "load-balancer.hetzner.cloud/name": "tuist-kgw-abc123-us-east-ingress",
        "load-balancer.hetzner.cloud/node-selector": "node.cluster.x-k8s.io/pool=kura-us-east",
        "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
    }
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
        {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"},
    ]


def test_upstream_example_ingress_class() -> None:
    ingress_class = by_kind(render(example()))["IngressClass"]
    assert ingress_class["metadata"]["name"] == "kura-us-east-kgw-abc123"
    assert ingress_class["spec"] == {"controller": "k8s.io/kura-us-east-kgw-abc123-ingress-nginx"}


def test_upstream_example_config_map() -> None:
    config_map = by_kind(render(example()))["ConfigMap"]
    assert config_map["metadata"]["name"] == "kgw-abc123-us-east-controller"
    assert config_map["data"]["proxy-request-buffering"] == "off"
    assert config_map["data"]["use-proxy-protocol"] == "true"


def test_upstream_example_deployment() -> None:
    deployment = by_kind(render(example()))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["metadata"]["name"] == "kgw-abc123-us-east-controller"
    assert deployment["spec"]["replicas"] == 3
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    assert pod["nodeSelector"] == {"node.cluster.x-k8s.io/pool": "kura-us-east"}
    args = pod["containers"][0]["args"]
    assert "--ingress-class=kura-us-east-kgw-abc123" in args
    assert "--watch-namespace=$(POD_NAMESPACE)" in args


def test_upstream_example_matches_the_golden_file() -> None:
    assert yaml_stream(render(example())) == GOLDEN.read_text(encoding="utf-8"), (
        "the rendered gateway no longer matches tests/provider_hetzner/golden/"
        f"{GOLDEN.name}; if the change is intended, regenerate it with `kura gateway render "
        f"tests/provider_hetzner/data/{EXAMPLE.name} --service-account-name {SERVICE_ACCOUNT}`"
    )


# --- validity --------------------------------------------------------------------------------


def test_the_installed_validator_knows_every_targeted_kubernetes_version() -> None:
    assert set(KUBERNETES_VERSIONS) <= supported_versions()


@pytest.mark.parametrize(
    "gw",
    [
        example(),
        gateway(),
        gateway(controllerClassName="example.com/other", controllerImage="nginx:test"),
    ],
    ids=["example", "minimal", "overrides"],
)
def test_every_child_validates_strictly_against_the_official_schemas(gw: KuraGateway) -> None:
    for obj in render(gw):
        assert_valid(obj)


def test_labels_are_upstreams_and_namespaced_children_are_owned() -> None:
    objects = render(example())
    for obj in objects:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/instance": "kgw-abc123-us-east",
            "app.kubernetes.io/component": "controller",
            "app.kubernetes.io/managed-by": "kura-controller",
            "tuist.dev/region": "us-east",
            "tuist.dev/kura-gateway": "kgw-abc123-us-east",
        }
    owned = [obj for obj in objects if obj["kind"] != "IngressClass"]
    for obj in owned:
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "kura.tuist.dev/v1alpha1",
                "kind": "KuraGateway",
                "name": "kgw-abc123-us-east",
                "uid": "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    ingress_class = by_kind(objects)["IngressClass"]
    assert "ownerReferences" not in ingress_class["metadata"]
    assert "namespace" not in ingress_class["metadata"]


def test_a_preview_without_uid_has_no_owner_references() -> None:
    for obj in render(gateway()):
        assert "ownerReferences" not in obj["metadata"]


# --- defaults and overrides ----------------------------------------------------------------------


def test_deployment_defaults() -> None:
    deployment = by_kind(render(gateway()))["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod
    (container,) = pod["containers"]
    assert container["image"] == (
        "registry.k8s.io/ingress-nginx/controller:v1.15.1"
        "@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
    )
    assert container["args"] == [
        "/nginx-ingress-controller",
        "--election-id=kgw-abc123-us-east-leader",
        "--controller-class=k8s.io/kura-us-east-kgw-abc123-ingress-nginx",
        "--ingress-class=kura-us-east-kgw-abc123",
        "--configmap=$(POD_NAMESPACE)/kgw-abc123-us-east-controller",
        "--watch-namespace=$(POD_NAMESPACE)",
        "--publish-service=$(POD_NAMESPACE)/kgw-abc123-us-east-controller",
    ]
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [
        ("http", 80),
        ("https", 443),
        ("metrics", 10254),
    ]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] == "metrics"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }
    assert [(e["name"], e["valueFrom"]["fieldRef"]["fieldPath"]) for e in container["env"]] == [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 101,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "readOnlyRootFilesystem": False,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_controller_class_and_image_from_the_spec() -> None:
    objects = by_kind(
        render(gateway(controllerClassName="example.com/kura", controllerImage="nginx:1"))
    )
    assert objects["IngressClass"]["spec"]["controller"] == "example.com/kura"
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert "--controller-class=example.com/kura" in container["args"]
    assert container["image"] == "nginx:1"


def test_load_balancer_name_is_derived_when_the_gateway_names_none() -> None:
    service = by_kind(render(gateway("kgw-0123456789ab-us-east")))["Service"]
    annotations = service["metadata"]["annotations"]
    assert (
        annotations["load-balancer.hetzner.cloud/name"] == "tuist-kgw-0123456789ab-us-east-ingress"
    )
    assert "load-balancer.hetzner.cloud/node-selector" not in annotations


def test_the_gateways_own_annotations_win_but_not_for_the_lbs_name_location_or_protocol() -> None:
    gw = gateway(
        "kgw-0123456789ab-us-east",
        loadBalancerAnnotations={
            "load-balancer.hetzner.cloud/name": "tuist-kura-us-east-ingress",
            "load-balancer.hetzner.cloud/location": "hil",
            "load-balancer.hetzner.cloud/uses-proxyprotocol": "false",
            "load-balancer.hetzner.cloud/health-check-interval": "5s",
        },
    )
    annotations = by_kind(render(gw))["Service"]["metadata"]["annotations"]
    assert annotations["load-balancer.hetzner.cloud/health-check-interval"] == "5s"
    assert annotations["load-balancer.hetzner.cloud/name"] == (
        "tuist-kgw-0123456789ab-us-east-ingress"
    )
    assert annotations["load-balancer.hetzner.cloud/location"] == "ash"
    assert annotations["load-balancer.hetzner.cloud/uses-proxyprotocol"] == "true"


def test_a_gateway_rendered_for_another_region_is_refused() -> None:
    eu_central = managed_catalogs()["production"].get("eu-central")
    with pytest.raises(InputError, match="is for region 'us-east', not 'eu-central'"):
        render(gateway(), region=eu_central)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("kgw-" + "a" * 45 + "-us-east", "at most 63 characters"),
        ("1kgw-us-east", "starting with a letter"),
    ],
)
def test_names_kubernetes_would_reject_are_refused(name: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        render(gateway(name))


def test_a_service_name_of_exactly_63_characters_is_fine() -> None:
    service = by_kind(render(gateway("kgw-" + "a" * 40 + "-us-east")))["Service"]
    assert len(service["metadata"]["name"]) == 63


def test_buffers_over_the_memory_limit_are_refused_when_rendering() -> None:
    greedy = IngressNginxProvider(GatewayTuning(expected_connections=1000))
    with pytest.raises(InputError, match="memory limit"):
        render(example(), provider=greedy)


def test_memory_limit_and_request_follow_the_tuning() -> None:
    roomy = IngressNginxProvider(
        GatewayTuning(memory_limit=DataSize.parse("1GiB"), memory_request=DataSize.parse("192MiB"))
    )
    container = by_kind(render(example(), provider=roomy))["Deployment"]["spec"]["template"][
        "spec"
    ]["containers"][0]
    assert container["resources"]["limits"] == {"memory": "1024Mi"}
    assert container["resources"]["requests"]["memory"] == "192Mi"


def test_the_pod_template_carries_the_hash_of_the_config_map_data() -> None:
    objects = by_kind(render(example()))
    annotations = objects["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {CONFIG_HASH: config_hash(objects["ConfigMap"]["data"])}


# --- properties ------------------------------------------------------------------------------

REGION_IDS = st.from_regex(r"[a-z]([a-z0-9-]{0,48}[a-z0-9])?", fullmatch=True)
LABEL_VALUES = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True)
INGRESS_CLASSES = st.from_regex(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
DNS_1035 = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


@st.composite
def gateways(draw: st.DrawFn) -> tuple[KuraGateway, Region]:
    region_id = draw(REGION_IDS)
    name = gateway_name(draw(st.integers(min_value=1, max_value=2**40)), region_id)
    spec: dict[str, Any] = {"region": region_id, "ingressClassName": draw(INGRESS_CLASSES)}
    if draw(st.booleans()):
        spec["replicas"] = draw(st.integers(min_value=1, max_value=20))
    selector = draw(st.dictionaries(st.sampled_from(["pool", "zone", "tier"]), LABEL_VALUES))
    if selector:
        spec["nodeSelector"] = {f"example.com/{k}": v for k, v in selector.items()}
    gw = parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": {"name": name, "namespace": "kura"},
            "spec": spec,
        }
    )
    region = Region(id=region_id, display_name="Lab", location="nbg1", node_pool="lab")
    return gw, region


def render_or_refuse(gw: KuraGateway, region: Region) -> list[dict[str, Any]] | None:
    try:
        return render(gw, region=region)
    except InputError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gateways())
def test_rendering_is_deterministic_and_survives_a_round_trip(
    case: tuple[KuraGateway, Region],
) -> None:
    gw, region = case
    first = render_or_refuse(gw, region)
    assume(first is not None)
    assert render(gw, region=region) == first
    assert render(parse_gateway(to_manifest(gw)), region=region) == first
    assert yaml_stream(render(gw, region=region)) == yaml_stream(first or [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gateways())
def test_names_fit_kubernetes_limits_or_the_gateway_is_refused(
    case: tuple[KuraGateway, Region],
) -> None:
    gw, region = case
    workload = f"{gw.metadata.name}-controller"
    objects = render_or_refuse(gw, region)
    if objects is None:
        assert len(workload) > 63
        return
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= 63
        if obj["kind"] == "Service":
            assert re.match(DNS_1035, name)
        for value in obj["metadata"]["labels"].values():
            assert len(value) <= 63
    for obj in objects:
        assert_valid(obj)


@settings(max_examples=60, deadline=None)
@given(gateways())
def test_selectors_match_the_pod_template_labels(case: tuple[KuraGateway, Region]) -> None:
    gw, region = case
    objects = render_or_refuse(gw, region)
    assume(objects is not None)
    kinds = by_kind(objects or [])
    template_labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["Deployment"]["spec"]["selector"]["matchLabels"] == template_labels
    assert kinds["Service"]["spec"]["selector"].items() <= template_labels.items()


@st.composite
def tunings(draw: st.DrawFn) -> GatewayTuning:
    kib = st.sampled_from([128, 256, 512]).map(lambda n: DataSize.parse(f"{n}KiB"))
    try:
        return GatewayTuning(
            proxy_buffer_size=draw(kib),
            proxy_buffers_number=draw(st.sampled_from([4, 8])),
            proxy_busy_buffers_size=draw(kib),
            client_body_buffer_size=draw(
                st.sampled_from([DataSize.parse("1MiB"), DataSize.parse("4MiB")])
            ),
            http2_max_concurrent_streams=draw(st.sampled_from([16, 32])),
            expected_connections=draw(st.sampled_from([8, 16])),
        )
    except ValidationError:
        assume(False)
        raise


@settings(max_examples=60, deadline=None)
@given(tunings(), tunings())
def test_the_config_hash_changes_exactly_when_the_config_map_data_changes(
    one: GatewayTuning, other: GatewayTuning
) -> None:
    first = by_kind(render(example(), provider=IngressNginxProvider(one)))
    second = by_kind(render(example(), provider=IngressNginxProvider(other)))

    def hash_of(kinds: dict[str, dict[str, Any]]) -> str:
        return str(kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH])

    same_data = first["ConfigMap"]["data"] == second["ConfigMap"]["data"]
    assert (hash_of(first) == hash_of(second)) == same_data
