"""The KuraGateway and KuraInstance models: wire names, validation, parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from kura_core.dns import is_dns_subdomain, is_label_key, is_label_value
from kura_core.errors import InputError
from kura_core.resources import (
    API_VERSION,
    DEFAULT_CONTROLLER_IMAGE,
    DEFAULT_GATEWAY_REPLICAS,
    GATEWAY_ANNOTATION,
    GATEWAY_FINALIZER,
    GROUP,
    INSTANCE_FINALIZER,
    MANIFEST_REVISION_ANNOTATION,
    NAMESPACE,
    VERSION,
    KuraGateway,
    KuraInstance,
    KuraInstanceSpec,
    parse_gateway,
    parse_instance,
    parse_resource,
    to_manifest,
)


def gateway_dict(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "metadata": {"name": "kgw-38dbcc9b3c91-us-east", "namespace": "kura"},
        "spec": {
            "region": "us-east",
            "ingressClassName": "kura-us-east-kgw-38dbcc9b3c91-us-east",
            **spec,
        },
    }


def instance_dict(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraInstance",
        "metadata": {"name": "kura-acme-us-east-1", "namespace": "kura"},
        "spec": {
            "accountHandle": "acme",
            "tenantID": "acme",
            "region": "us-east",
            "image": "ghcr.io/tuist/kura:0.1.0",
            **spec,
        },
    }


def test_the_default_controller_image_is_a_patched_release_pinned_by_digest() -> None:
    # Upstream defaults to v1.11.3, which the March 2025 ingress-nginx CVEs (IngressNightmare)
    # affect; fixed from v1.11.5 and v1.12.1. A digest keeps a moved tag from reaching gateways.
    image, _, digest = DEFAULT_CONTROLLER_IMAGE.partition("@")
    assert image == "registry.k8s.io/ingress-nginx/controller:v1.15.1"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    version = tuple(int(part) for part in image.rpartition(":v")[2].split("."))
    assert version >= (1, 12, 1)


def test_upstream_constants() -> None:
    assert f"{GROUP}/{VERSION}" == API_VERSION == "kura.tuist.dev/v1alpha1"
    assert GATEWAY_FINALIZER == "kuragateways.kura.tuist.dev/finalizer"
    assert INSTANCE_FINALIZER == "kurainstances.kura.tuist.dev/finalizer"
    assert GATEWAY_ANNOTATION == "tuist.dev/kura-gateway"
    assert MANIFEST_REVISION_ANNOTATION == "tuist.dev/kura-manifest-revision"
    assert DEFAULT_GATEWAY_REPLICAS == 2
    assert NAMESPACE == "kura"


def test_gateway_round_trips_with_upstream_field_names() -> None:
    data = gateway_dict(
        controllerClassName="k8s.io/custom",
        controllerImage="example/controller:1",
        replicas=3,
        nodeSelector={"node.cluster.x-k8s.io/pool": "kura-us-east"},
        loadBalancerAnnotations={"load-balancer.hetzner.cloud/name": "lb"},
    )
    data["status"] = {
        "phase": "Ready",
        "ingressClassName": "kura-us-east-kgw-38dbcc9b3c91-us-east",
        "serviceName": "kgw-38dbcc9b3c91-us-east-controller",
        "readyReplicas": 3,
        "loadBalancer": "203.0.113.7",
        "message": "3/3 gateway replicas ready",
        "lastReconciledAt": "2025-06-01T12:00:00Z",
        "observedGeneration": 4,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "observedGeneration": 4,
                "lastTransitionTime": "2025-06-01T12:00:00Z",
                "reason": "ReplicasReady",
                "message": "3/3 gateway replicas ready",
            }
        ],
    }
    gateway = parse_gateway(data)
    assert gateway.spec.ingress_class_name == "kura-us-east-kgw-38dbcc9b3c91-us-east"
    assert gateway.spec.load_balancer_annotations == {"load-balancer.hetzner.cloud/name": "lb"}
    assert gateway.status is not None
    assert gateway.status.last_reconciled_at == datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert gateway.status.conditions is not None
    assert gateway.status.conditions[0].observed_generation == 4
    assert to_manifest(gateway) == data


def test_instance_uses_upstream_acronym_aliases() -> None:
    spec = KuraInstanceSpec(
        account_handle="acme",
        tenant_id="acme",
        region="us-east",
        image="ghcr.io/tuist/kura:0.1.0",
        peer_tls_secret_name="peer-tls",
    )
    dumped = spec.model_dump(by_alias=True, exclude_none=True)
    assert dumped == {
        "accountHandle": "acme",
        "tenantID": "acme",
        "region": "us-east",
        "image": "ghcr.io/tuist/kura:0.1.0",
        "peerTLSSecretName": "peer-tls",
    }
    data = instance_dict(extraEnv=[{"name": "A", "value": "1"}], extensionScript="return {}")
    data["status"] = {"publicURL": "https://h", "grpcPublicURL": "grpcs://g", "readyReplicas": 0}
    instance = parse_instance(data)
    assert instance.status is not None
    assert instance.status.public_url == "https://h"
    assert to_manifest(instance) == data


def test_metadata_keeps_what_the_operator_needs_and_ignores_server_bookkeeping() -> None:
    data = gateway_dict()
    data["metadata"].update(
        generation=5,
        finalizers=[GATEWAY_FINALIZER],
        deletionTimestamp="2025-06-01T12:00:00Z",
        uid="abc",
        managedFields=[{"manager": "tuist-server"}],
    )
    gateway = parse_gateway(data)
    assert gateway.metadata.generation == 5
    assert gateway.metadata.finalizers == [GATEWAY_FINALIZER]
    assert gateway.metadata.deletion_timestamp is not None
    assert "managedFields" not in to_manifest(gateway)["metadata"]


def test_malformed_gateway_lists_every_problem_in_one_line() -> None:
    data = gateway_dict(replicas=0, region="US_East", replica=2)
    del data["spec"]["ingressClassName"]
    with pytest.raises(InputError) as caught:
        parse_gateway(data)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("invalid KuraGateway kgw-38dbcc9b3c91-us-east: ")
    for problem in (
        "spec.region: region 'US_East' is not a DNS label",
        "spec.ingressClassName: Field required",
        "spec.replicas: Input should be greater than or equal to 1",
        "spec.replica: Extra inputs are not permitted",
    ):
        assert problem in message


def test_malformed_instance_lists_every_problem() -> None:
    data = instance_dict(ingressClassName="Bad_Name", extraEnv=[{"value": "x"}])
    del data["spec"]["tenantID"]
    data["metadata"]["labels"] = {"tuist.dev/account": "not a label"}
    data["status"] = {"conditions": [{"type": "Ready", "status": "Yes"}]}
    with pytest.raises(InputError) as caught:
        parse_instance(data)
    message = str(caught.value)
    for path in (
        "metadata.labels",
        "spec.tenantID",
        "spec.ingressClassName",
        "spec.extraEnv[0].name",
        "status.conditions[0].status",
        "status.conditions[0].lastTransitionTime",
        "status.conditions[0].reason",
    ):
        assert f"{path}: " in message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not a mapping", "KuraGateway: expected a mapping, got str"),
        ({**gateway_dict(), "kind": "KuraInstance"}, "kind: Input should be 'KuraGateway'"),
        ({**gateway_dict(), "apiVersion": "kura.tuist.dev/v1"}, "apiVersion: Input should be"),
    ],
)
def test_parse_gateway_rejects_wrong_shapes(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_gateway(data)


def test_parse_resource_dispatches_on_kind() -> None:
    assert isinstance(parse_resource(gateway_dict()), KuraGateway)
    assert isinstance(parse_resource(instance_dict()), KuraInstance)
    with pytest.raises(InputError, match="got kind 'Deployment'"):
        parse_resource({"kind": "Deployment"})
    with pytest.raises(InputError, match="got kind None"):
        parse_resource([])


def test_condition_reason_must_be_camel_case() -> None:
    data = gateway_dict()
    condition = {
        "type": "Ready",
        "status": "False",
        "lastTransitionTime": "2025-06-01T12:00:00Z",
        "reason": "not ready",
        "message": "",
    }
    data["status"] = {"conditions": [condition]}
    with pytest.raises(InputError, match=r"status\.conditions\[0\]\.reason"):
        parse_gateway(data)
    data["status"] = {"conditions": [{**condition, "reason": "LoadBalancerPending"}]}
    assert parse_gateway(data).status is not None


def test_models_are_frozen() -> None:
    gateway = parse_gateway(gateway_dict())
    with pytest.raises(ValueError, match="frozen"):
        gateway.spec.replicas = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "subdomain", "label_value"),
    [
        ("kura-acme-us-east-1", True, True),
        ("a.b-c", True, True),
        ("Upper", False, True),
        ("under_score", False, True),
        ("-dash", False, False),
        ("", False, True),
        ("x" * 64, True, False),
    ],
)
def test_name_rules(value: str, subdomain: bool, label_value: bool) -> None:
    assert is_dns_subdomain(value) is subdomain
    assert is_label_value(value) is label_value


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("app.kubernetes.io/name", True),
        ("tuist.dev/kura-gateway", True),
        ("plain", True),
        ("Bad_Prefix/name", False),
        ("tuist.dev/", False),
        ("a/b/c", False),
    ],
)
def test_label_keys(key: str, valid: bool) -> None:
    assert is_label_key(key) is valid


def test_unknown_status_fields_are_ignored_while_the_spec_stays_strict() -> None:
    data = gateway_dict()
    # As a newer operator or another controller may write them.
    data["status"] = {"phase": "Ready", "shardName": "s2", "readyReplicas": 2}
    gateway = parse_gateway(data)
    assert gateway.status is not None
    assert (gateway.status.phase, gateway.status.ready_replicas) == ("Ready", 2)
    assert to_manifest(gateway)["status"] == {"phase": "Ready", "readyReplicas": 2}
    instance = instance_dict()
    instance["status"] = {"phase": "Ready", "shardName": "s2"}
    assert parse_instance(instance).status is not None
    data["spec"] = {**data["spec"], "shardName": "s2"}
    with pytest.raises(InputError, match=r"spec\.shardName"):
        parse_gateway(data)
