"""render_manifests and ``kura render``: golden files, schema validity, handle-free gateways."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kura_core.accounts import Account, Plan
from kura_core.assignment import assign_gateway
from kura_core.control_plane import ControlPlaneSettings
from kura_core.crds import KURA_GATEWAY, KURA_INSTANCE, custom_resource_definition
from kura_core.dns import is_dns_label, is_dns_subdomain, is_label_key, is_label_value
from kura_core.errors import InputError
from kura_core.manifests import (
    MANIFEST_REVISION,
    GatewayOptions,
    InstanceOptions,
    render_manifests,
    yaml_stream,
)
from kura_core.plugins import PluginHost
from kura_core.providers import LoadBalancerProvider
from kura_core.regions import Region, managed_catalogs
from kura_core.resources import parse_resource
from tests.core.conftest import Invoke

GOLDEN = Path(__file__).parent / "golden"
HOOK = Path(__file__).parent / "data" / "auth-hook.lua"
CLIENT_ID = "7c0b4f7e-3f57-4bd0-9a3e-5c1f0d1c2b3a"
PRODUCTION = managed_catalogs()["production"]
US_EAST = PRODUCTION.get("us-east")
EU_CENTRAL = PRODUCTION.get("eu-central")
IMAGE = "ghcr.io/tuist/kura:0.1.0"
ENTERPRISE = Account(id=42, handle="acme", plan=Plan.ENTERPRISE)
PRO = Account(id=7, handle="tinyco", plan=Plan.PRO)
SCHEMAS = {
    "KuraGateway": custom_resource_definition(KURA_GATEWAY)["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ],
    "KuraInstance": custom_resource_definition(KURA_INSTANCE)["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ],
}
handles = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?\Z")


@pytest.fixture(scope="module")
def kubernetes_validate() -> ModuleType:
    # Imported on first use: it is a large package that only these tests need.
    return importlib.import_module("kubernetes_validate")


@pytest.fixture(scope="module")
def hetzner() -> LoadBalancerProvider:
    return PluginHost(environ={}).load_balancer_provider("hetzner")


def render(
    account: Account,
    region: Region,
    provider: LoadBalancerProvider,
    control_plane: ControlPlaneSettings | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    return render_manifests(
        account,
        region,
        assignment=assign_gateway(account, region, hosted=True),
        load_balancer_provider=provider,
        instance=InstanceOptions(image=IMAGE, **options),
        control_plane=control_plane,
    )


def check_valid(manifest: dict[str, Any], kubernetes_validate: ModuleType) -> None:
    """Validate a custom resource as far as official and generated schemas allow.

    kubernetes-validate has no schema for custom kinds, so the object is checked against our CRD's
    openAPIV3Schema, and its metadata strictly against the official ObjectMeta (carried by a
    ConfigMap, which has nothing else required).
    """
    jsonschema.validate(manifest, SCHEMAS[manifest["kind"]])
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": manifest["metadata"]}
    kubernetes_validate.validate(carrier, "1.33", strict=True)


# --- golden files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "region", "golden"),
    [
        (ENTERPRISE, US_EAST, "render-enterprise-us-east.yaml"),
        (PRO, EU_CENTRAL, "render-pro-eu-central.yaml"),
    ],
)
def test_golden(
    account: Account, region: Region, golden: str, hetzner: LoadBalancerProvider
) -> None:
    manifests = render(
        account,
        region,
        hetzner,
        manifest_revision="3",
        control_plane=ControlPlaneSettings(url="https://tuist.dev", client_id=CLIENT_ID),
        extension_script=HOOK.read_text(encoding="utf-8"),
    )
    expected = (GOLDEN / golden).read_text(encoding="utf-8")
    assert yaml_stream(manifests) == expected, (
        f"render_manifests no longer matches tests/core/golden/{golden}; if the change is "
        f"intended, regenerate it with `kura render ... --hosted --image {IMAGE} "
        f"--manifest-revision 3 --control-plane-client-id {CLIENT_ID} --extension-script {HOOK}`"
    )


def test_enterprise_gateway_fields(hetzner: LoadBalancerProvider) -> None:
    gateway, instance = render(ENTERPRISE, US_EAST, hetzner)
    assert gateway["metadata"] == {
        "name": "kgw-38dbcc9b3c91-us-east",
        "namespace": "kura",
        "labels": {
            "app.kubernetes.io/name": "kura-gateway",
            "app.kubernetes.io/instance": "kgw-38dbcc9b3c91-us-east",
            "tuist.dev/region": "us-east",
        },
    }
    assert gateway["spec"] == {
        "region": "us-east",
        "ingressClassName": "kura-us-east-kgw-38dbcc9b3c91-us-east",
        "controllerImage": (
            "registry.k8s.io/ingress-nginx/controller:v1.15.1"
            "@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
        ),
        "replicas": 2,
        "nodeSelector": {"node.cluster.x-k8s.io/pool": "kura-us-east"},
        "loadBalancerAnnotations": {
            "load-balancer.hetzner.cloud/location": "ash",
            "load-balancer.hetzner.cloud/name": "tuist-kgw-38dbcc9b3c91-us-east-ingress",
            "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
        },
    }
    assert instance["metadata"]["annotations"] == {
        "tuist.dev/kura-gateway": "kgw-38dbcc9b3c91-us-east"
    }
    assert instance["spec"]["ingressClassName"] == gateway["spec"]["ingressClassName"]


def test_shared_account_gets_only_an_instance_on_the_regional_class(
    hetzner: LoadBalancerProvider,
) -> None:
    (instance,) = render(PRO, US_EAST, hetzner)
    assert instance["kind"] == "KuraInstance"
    assert instance["spec"]["ingressClassName"] == "kura-us-east"
    assert "annotations" not in instance["metadata"]


def test_options_reach_the_objects_and_empty_values_are_dropped(
    hetzner: LoadBalancerProvider,
) -> None:
    gateway, instance = render_manifests(
        ENTERPRISE,
        US_EAST,
        assignment=assign_gateway(ENTERPRISE, US_EAST, hosted=True),
        load_balancer_provider=hetzner,
        instance=InstanceOptions(
            image=IMAGE,
            replicas=5,
            storage_size="400Gi",
            peer_tls_secret_name="acme-peer-tls",
            extra_env={"KURA_EXTENSION_HOOK_TIMEOUT_MS": "5000"},
            extension_script="return {}",
        ),
        gateway=GatewayOptions(
            replicas=4,
            controller_image="example/ingress-nginx:1",
            load_balancer_annotations={
                "load-balancer.hetzner.cloud/type": "lb21",
                "load-balancer.hetzner.cloud/location": "hil",
            },
        ),
    )
    assert gateway["spec"]["replicas"] == 4
    assert gateway["spec"]["controllerImage"] == "example/ingress-nginx:1"
    annotations = gateway["spec"]["loadBalancerAnnotations"]
    assert annotations["load-balancer.hetzner.cloud/type"] == "lb21"
    # The location is the region's, whatever the options say.
    assert annotations["load-balancer.hetzner.cloud/location"] == "ash"
    spec = instance["spec"]
    assert spec["replicas"] == 5
    assert spec["storageSize"] == "400Gi"
    assert spec["peerTLSSecretName"] == "acme-peer-tls"
    assert spec["extraEnv"] == [{"name": "KURA_EXTENSION_HOOK_TIMEOUT_MS", "value": "5000"}]
    assert spec["extensionScript"] == "return {}"
    (plain,) = render(PRO, US_EAST, hetzner, extra_env={}, storage_size="")
    assert not {"extraEnv", "storageSize", "replicas", "peerTLSSecretName"} & plain["spec"].keys()


def test_override_list_dedicates_a_pro_account(hetzner: LoadBalancerProvider) -> None:
    assignment = assign_gateway(PRO, US_EAST, overrides=["tinyco"], hosted=True)
    kinds = [
        m["kind"]
        for m in render_manifests(
            PRO,
            US_EAST,
            assignment=assignment,
            load_balancer_provider=hetzner,
            instance=InstanceOptions(image=IMAGE),
        )
    ]
    assert kinds == ["KuraGateway", "KuraInstance"]


def test_assignment_for_another_region_is_refused(hetzner: LoadBalancerProvider) -> None:
    with pytest.raises(ValueError, match="assignment is for region 'eu-central'"):
        render_manifests(
            ENTERPRISE,
            US_EAST,
            assignment=assign_gateway(ENTERPRISE, EU_CENTRAL, hosted=True),
            load_balancer_provider=hetzner,
            instance=InstanceOptions(image=IMAGE),
        )


def test_a_handle_too_long_for_a_label_is_an_input_error(hetzner: LoadBalancerProvider) -> None:
    account = Account(id=1, handle="h" * 60, plan=Plan.PRO)
    with pytest.raises(
        InputError, match=r"app\.kubernetes\.io/instance=.* not a valid label value"
    ):
        render(account, US_EAST, hetzner)


def test_empty_image_is_an_input_error(hetzner: LoadBalancerProvider) -> None:
    with pytest.raises(InputError, match=r"spec\.image: Field required"):
        render_manifests(
            PRO,
            US_EAST,
            assignment=assign_gateway(PRO, US_EAST, hosted=True),
            load_balancer_provider=hetzner,
            instance=InstanceOptions(image=""),
        )


# --- validity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", list(PRODUCTION), ids=lambda region: region.id)
@pytest.mark.parametrize("account", [ENTERPRISE, PRO], ids=["enterprise", "pro"])
def test_rendered_objects_validate(
    account: Account,
    region: Region,
    hetzner: LoadBalancerProvider,
    kubernetes_validate: ModuleType,
) -> None:
    for manifest in render(account, region, hetzner, manifest_revision="9"):
        check_valid(manifest, kubernetes_validate)
        assert parse_resource(manifest).model_dump(
            by_alias=True, exclude_none=True, mode="json"
        ) == (manifest)


def test_custom_kinds_have_no_official_schema(kubernetes_validate: ModuleType) -> None:
    """Why check_valid goes through our CRD: kubernetes-validate only knows built-in kinds."""
    instance = yaml.safe_load((GOLDEN / "render-pro-eu-central.yaml").read_text(encoding="utf-8"))
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(instance, "1.33", strict=True)


def test_strict_metadata_check_catches_unknown_fields(kubernetes_validate: ModuleType) -> None:
    manifest = yaml.safe_load((GOLDEN / "render-pro-eu-central.yaml").read_text(encoding="utf-8"))
    manifest["metadata"]["label"] = {"typo": "x"}
    with pytest.raises(kubernetes_validate.ValidationError):
        check_valid(manifest, kubernetes_validate)


def _gateway_strings(gateway: dict[str, Any]) -> list[str]:
    metadata, spec = gateway["metadata"], gateway["spec"]
    return [
        metadata["name"],
        spec["ingressClassName"],
        *spec["loadBalancerAnnotations"].values(),
        *metadata["labels"].keys(),
        *metadata["labels"].values(),
    ]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    handle=handles,
    account_id=st.integers(min_value=1, max_value=2**53),
    region=st.sampled_from(list(PRODUCTION)),
)
def test_gateways_never_carry_the_handle_and_all_names_are_valid(
    handle: str, account_id: int, region: Region, hetzner: LoadBalancerProvider
) -> None:
    account = Account(id=account_id, handle=handle, plan=Plan.ENTERPRISE)
    gateway, instance = render(account, region, hetzner)
    # A gateway rendered for another handle of the same account is identical: nothing in it
    # depends on the handle.
    other = Account(id=account_id, handle="zz-other-handle", plan=Plan.ENTERPRISE)
    other_gateway = render(other, region, hetzner)[0]
    assert gateway == other_gateway
    # And the handle does not show up, unless it is a coincidental substring of handle-free text.
    assume(not any(handle in text for text in _gateway_strings(other_gateway)))
    assert not any(handle in text for text in _gateway_strings(gateway))

    for manifest in (gateway, instance):
        assert is_dns_subdomain(manifest["metadata"]["name"])
        assert all(
            is_label_key(k) and is_label_value(v) for k, v in manifest["metadata"]["labels"].items()
        )
    assert is_dns_label(gateway["metadata"]["name"])
    assert is_dns_label(gateway["spec"]["ingressClassName"])
    assert is_dns_label(instance["metadata"]["name"])
    assert instance["metadata"]["labels"]["tuist.dev/account"] == handle


# --- kura render ---------------------------------------------------------------------------------


def render_args(*extra: str) -> list[str]:
    return [
        "render",
        "--account-id",
        "42",
        "--handle",
        "acme",
        "--region",
        "us-east",
        "--hosted",
        *extra,
    ]


def test_kura_render_enterprise_is_gateway_then_instance(invoke: Invoke) -> None:
    result = invoke(*render_args("--plan", "enterprise"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("---\n")
    gateway, instance = yaml.safe_load_all(result.stdout)
    assert gateway["kind"] == "KuraGateway"
    assert gateway["metadata"]["name"] == "kgw-38dbcc9b3c91-us-east"
    assert instance["kind"] == "KuraInstance"
    assert instance["spec"]["image"] == "ghcr.io/tuist/kura:latest"
    assert instance["metadata"]["annotations"] == {
        "tuist.dev/kura-gateway": "kgw-38dbcc9b3c91-us-east",
        "tuist.dev/kura-manifest-revision": MANIFEST_REVISION,
    }


def test_kura_render_matches_the_golden_file(invoke: Invoke) -> None:
    result = invoke(
        *render_args(
            "--plan", "enterprise", "--image", IMAGE, "--manifest-revision", "3",
            "--control-plane-client-id", CLIENT_ID, "--extension-script", str(HOOK),
        ),
        env={"TUIST_KURA_TUIST_BASE_URL": None},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (GOLDEN / "render-enterprise-us-east.yaml").read_text(encoding="utf-8")


def test_kura_render_wires_every_instance_to_the_control_plane_as_upstream(
    invoke: Invoke,
) -> None:
    result = invoke(
        *render_args("--plan", "pro", "-o", "json", "--extension-script", str(HOOK)),
        env={
            "TUIST_KURA_TUIST_BASE_URL": "https://tuist.example/",
            "KURA_CONTROL_PLANE_CLIENT_ID": CLIENT_ID,
        },
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (instance,) = json.loads(result.stdout)
    # Upstream's server's variables, in its order; the client secret never.
    assert instance["spec"]["extraEnv"] == [
        {"name": "KURA_EXTENSION_FAIL_CLOSED_AUTHENTICATE", "value": "true"},
        {"name": "KURA_EXTENSION_FAIL_CLOSED_AUTHORIZE", "value": "true"},
        {"name": "KURA_EXTENSION_HOOK_TIMEOUT_MS", "value": "5000"},
        {"name": "KURA_CONTROL_PLANE_URL", "value": "https://tuist.example"},
        {"name": "KURA_EXTENSION_HTTP_CLIENT_TUIST_BASE_URL", "value": "https://tuist.example"},
        {"name": "KURA_EXTENSION_HTTP_CLIENT_TUIST_CONNECT_TIMEOUT_MS", "value": "3000"},
        {"name": "KURA_EXTENSION_HTTP_CLIENT_TUIST_REQUEST_TIMEOUT_MS", "value": "4000"},
        {"name": "KURA_CONTROL_PLANE_CLIENT_ID", "value": CLIENT_ID},
    ]
    assert instance["spec"]["extensionScript"] == HOOK.read_text(encoding="utf-8")
    assert instance["metadata"]["annotations"] == {
        "tuist.dev/kura-manifest-revision": MANIFEST_REVISION
    }


@pytest.mark.parametrize(
    ("env", "extra", "message"),
    [
        (
            {"TUIST_KURA_TUIST_BASE_URL": "http://tuist.dev"},
            [],
            "invalid --control-plane-url (TUIST_KURA_TUIST_BASE_URL): 'http://tuist.dev' must be "
            "https (plain http only on loopback)",
        ),
        (
            {"TUIST_KURA_TUIST_BASE_URL": "https://kura:hunter2@tuist.dev"},
            [],
            "invalid --control-plane-url (TUIST_KURA_TUIST_BASE_URL): '<a URL with credentials>' "
            "carries credentials; the client credentials come from the shared Secret",
        ),
        (
            {},
            ["--control-plane-client-id", "hunter2"],
            "invalid --control-plane-client-id (KURA_CONTROL_PLANE_CLIENT_ID): is not a UUID",
        ),
    ],
    ids=["plain-http", "credentials", "client-id"],
)
def test_bad_control_plane_settings_are_one_line_and_nothing_rendered(
    invoke: Invoke, env: dict[str, str | None], extra: list[str], message: str
) -> None:
    result = invoke(*render_args("--plan", "pro", *extra), env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"kura: error: {message}")
    assert result.stderr.count("\n") == 1
    assert "hunter2" not in result.stderr


def test_an_env_without_a_known_control_plane_must_name_one(
    invoke: Invoke, lab_catalog: Any
) -> None:
    args = ["--catalog", str(lab_catalog()), "render", "--account-id", "1", "--handle", "a",
            "--region", "lab-1", "--env", "lab"]  # fmt: skip
    result = invoke(*args, env={"TUIST_KURA_TUIST_BASE_URL": None})
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "kura: error: the control plane's URL is not set: --control-plane-url or "
        "TUIST_KURA_TUIST_BASE_URL"
    )
    named = invoke(*args, "--control-plane-url", "https://tuist.example")
    assert named.exit_code == 0, named.stderr
    assert "no auth hook" in named.stderr


def test_kura_render_pro_is_instance_only(invoke: Invoke) -> None:
    result = invoke(*render_args("--plan", "pro", "-o", "json"))
    assert result.exit_code == 0, result.stderr
    (instance,) = json.loads(result.stdout)
    assert instance["kind"] == "KuraInstance"
    assert instance["spec"]["ingressClassName"] == "kura-us-east"
    assert "tuist.dev/kura-gateway" not in instance["metadata"]["annotations"]


def test_kura_render_table(invoke: Invoke) -> None:
    table = invoke(*render_args("--plan", "enterprise", "-o", "table")).stdout
    for text in (
        "KuraGateway",
        "KuraInstance",
        "kgw-38dbcc9b3c91-us-east",
        "kura-acme-us-east-1",
        "kura-us-east-kgw-38dbcc9b3c91-us-east",
    ):
        assert text in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["render", "--account-id", "42", "--handle", "Acme_Corp", "--region", "us-east"],
            "kura: error: invalid --handle: account handle 'acme_corp' is not a DNS label",
        ),
        (
            ["render", "--account-id", "42", "--handle", "acme", "--region", "mars"],
            "kura: error: unknown region 'mars'",
        ),
        (
            render_args("--image", ""),
            "kura: error: Invalid value for '--image': must not be empty",
        ),
        # The flag the user typed is named, not the model field behind it.
        (
            ["render", "--account-id", "-5", "--handle", "acme", "--region", "us-east"],
            "kura: error: Invalid value for '--account-id': -5 is not in the range",
        ),
        # Ids are 64-bit signed integers on the control plane.
        (
            ["render", "--account-id", str(2**63), "--handle", "acme", "--region", "us-east"],
            f"kura: error: Invalid value for '--account-id': {2**63} is not in the range",
        ),
    ],
)
def test_kura_render_bad_input_is_one_line_exit_2(
    invoke: Invoke, args: list[str], message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
