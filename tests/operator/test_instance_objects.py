"""A KuraInstance's children, rendered without a server: golden files, schemas, properties.

Regenerate the golden files after an intended change with
``uv run python -m tests.operator.test_instance_objects``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kura_core.errors import InputError
from kura_core.manifests import yaml_stream
from kura_core.resources import KuraInstance, parse_instance
from kura_operator.instance_checks import INSTANCE_NAME_MAX, check_instance
from kura_operator.instance_env import base_env, legacy_env_notice
from kura_operator.instance_layout import (
    POD_NAME_LABEL,
    account_peer_service_name,
    fnv32a,
    peer_tls_secret_name,
)
from kura_operator.instance_network import (
    render_account_peer_service,
    render_headless_service,
    render_network_policy,
    render_primary_service,
)
from kura_operator.instance_workload import (
    ClaimTemplate,
    claim_template,
    render_extension_config_map,
    render_pod_disruption_budget,
    render_stateful_set,
)
from kura_operator.primary import choose_primary, current_primary
from tests.operator.harness import PUBLIC_TLS_ENV, assert_no_public_tls
from tests.provider_hetzner.kube_schemas import assert_valid

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
NAME = "kura-acme-us-east-1"
UID = "5b1d3c1e-8f7a-4e55-9a7e-0c6f1f7d2a11"
CONTROL_PLANE_ENV = [
    {"name": "KURA_EXTENSION_FAIL_CLOSED_AUTHENTICATE", "value": "true"},
    {"name": "KURA_EXTENSION_FAIL_CLOSED_AUTHORIZE", "value": "true"},
    {"name": "KURA_EXTENSION_HOOK_TIMEOUT_MS", "value": "5000"},
    {"name": "KURA_CONTROL_PLANE_URL", "value": "https://tuist.dev"},
    {"name": "KURA_CONTROL_PLANE_CLIENT_ID", "value": "7c0b4f7e-3f57-4bd0-9a3e-5c1f0d1c2b3a"},
]
# What an ingress provider names as the gateway of us-east's regional class (ingress-nginx's
# shared gateway in the platform namespace).
SHARED_GATEWAY = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}},
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/name": "kura-us-east-ingress-nginx",
            "app.kubernetes.io/component": "controller",
        }
    },
}


def instance(name: str = NAME, *, uid: str | None = UID, **spec: Any) -> KuraInstance:
    metadata: dict[str, Any] = {"name": name, "namespace": "kura", "generation": 1}
    if uid:
        metadata["uid"] = uid
    fields: dict[str, Any] = {
        "accountHandle": "acme",
        "tenantID": "acme",
        "region": "us-east",
        "image": "ghcr.io/tuist/kura:0.5.0",
        "publicHost": "acme-us-east-1.kura.tuist.dev",
        "grpcPublicHost": "grpc.acme-us-east-1.kura.tuist.dev",
        "ingressClassName": "kura-us-east",
        "storageClassName": "hcloud-volumes",
        "nodeSelector": {"node.cluster.x-k8s.io/pool": "kura-us-east"},
        "extraEnv": CONTROL_PLANE_ENV,
    }
    fields.update(spec)
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": metadata,
            "spec": {key: value for key, value in fields.items() if value is not None},
        }
    )


def children(inst: KuraInstance, *, live: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every child the reconcile renders, in its apply order (the peer TLS Secret aside)."""
    rendered = [
        render_extension_config_map(inst),
        render_headless_service(inst),
        render_account_peer_service(inst) if inst.spec.peer_tls_secret_name else None,
        render_primary_service(inst, f"{inst.metadata.name}-0"),
        render_network_policy(inst, gateway_peers=[SHARED_GATEWAY]),
        render_pod_disruption_budget(inst),
        render_stateful_set(
            inst,
            deployment_environment="production",
            claim=claim_template(inst, live),
            shared_secrets_version="4711",
        ),
    ]
    return [obj for obj in rendered if obj is not None]


def by_kind_and_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def stateful_set(inst: KuraInstance) -> dict[str, Any]:
    return children(inst)[-1]


def container(inst: KuraInstance) -> dict[str, Any]:
    (found,) = stateful_set(inst)["spec"]["template"]["spec"]["containers"]
    return dict(found)


def env(inst: KuraInstance) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container(inst)["env"]}


GOLDEN_CASES: dict[str, Callable[[], KuraInstance]] = {
    "instance-shared.yaml": lambda: instance(),
    "instance-peering-extension.yaml": lambda: instance(
        peerTLSSecretName="kura-acme-peer-tls",
        extensionScript="function authenticate(ctx)\n  return nil\nend\n",
        replicas=1,
        storageSize="50Gi",
    ),
}


@pytest.mark.parametrize("golden", sorted(GOLDEN_CASES))
def test_rendered_children_match_the_golden_files(golden: str) -> None:
    assert yaml_stream(children(GOLDEN_CASES[golden]())) == (GOLDEN / golden).read_text(), (
        f"tests/operator/golden/{golden} is stale; if the change is intended, regenerate it "
        "with `uv run python -m tests.operator.test_instance_objects`"
    )


@pytest.mark.parametrize("golden", sorted(GOLDEN_CASES))
def test_every_child_is_strictly_valid_for_every_kubernetes_version(golden: str) -> None:
    for obj in children(GOLDEN_CASES[golden]()):
        assert_valid(obj)


def test_strict_validation_would_catch_a_stray_field() -> None:
    service = render_headless_service(instance())
    stray = {**service, "spec": {**service["spec"], "tls": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(stray, "1.33", strict=True)


# --- upstream's shapes -----------------------------------------------------------------------


def test_services_and_their_ports() -> None:
    objects = by_kind_and_name(children(instance(peerTLSSecretName="kura-acme-peer-tls")))
    ports = [
        {"name": "http", "port": 4000, "targetPort": "http", "protocol": "TCP"},
        {"name": "grpc", "port": 50051, "targetPort": "grpc", "protocol": "TCP"},
        {"name": "peer", "port": 7443, "targetPort": "peer", "protocol": "TCP"},
    ]
    primary = objects[("Service", NAME)]
    assert primary["spec"] == {
        "type": "ClusterIP",
        "selector": {
            "app.kubernetes.io/name": "kura",
            "app.kubernetes.io/instance": NAME,
            POD_NAME_LABEL: f"{NAME}-0",
        },
        "ports": ports,
    }
    headless = objects[("Service", f"{NAME}-headless")]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert headless["spec"]["ports"] == ports
    peers = objects[("Service", "kura-acme-peers")]
    assert peers["spec"] == {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": {"app.kubernetes.io/name": "kura", "tuist.dev/account": "acme"},
        "ports": [ports[2]],
    }
    # Shared by the account's instances: no owner, and no instance label.
    assert "ownerReferences" not in peers["metadata"]
    assert peers["metadata"]["labels"] == {
        "app.kubernetes.io/name": "kura",
        "app.kubernetes.io/managed-by": "kura-controller",
        "tuist.dev/account": "acme",
    }
    for key, obj in objects.items():
        if key != ("Service", "kura-acme-peers"):
            (owner,) = obj["metadata"]["ownerReferences"]
            assert owner == {
                "apiVersion": "kura.tuist.dev/v1alpha1",
                "kind": "KuraInstance",
                "name": NAME,
                "uid": UID,
                "controller": True,
                "blockOwnerDeletion": True,
            }


def test_an_instance_never_applied_renders_unowned_children() -> None:
    for obj in children(instance(uid=None)):
        assert "ownerReferences" not in obj["metadata"]


def test_the_account_peer_service_exists_only_with_cross_region_peering() -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in children(instance())]
    assert ("Service", "kura-acme-peers") not in kinds
    assert "KURA_GLOBAL_DISCOVERY_DNS_NAME" not in env(instance())
    peering = env(instance(peerTLSSecretName="kura-acme-peer-tls"))
    assert peering["KURA_GLOBAL_DISCOVERY_DNS_NAME"]["value"] == (
        "kura-acme-peers.kura.svc.cluster.local"
    )


def test_fnv32a_matches_the_reference_vectors() -> None:
    assert [fnv32a(data) for data in (b"", b"a", b"foobar")] == [
        0x811C9DC5,
        0xE40C292C,
        0xBF9CF968,
    ]


def test_a_long_account_peer_service_name_is_shortened_as_upstream() -> None:
    assert account_peer_service_name("acme") == "kura-acme-peers"
    exact = "a" * 52  # kura-<52>-peers: 63 characters, kept
    assert account_peer_service_name(exact) == f"kura-{exact}-peers"
    # The cut lands right after a '-', which is trimmed before the hash suffix.
    handle = "a" * 48 + "-" + "b" * 10
    suffix = f"-{fnv32a(handle.encode()):x}"
    name = account_peer_service_name(handle)
    assert name == "kura-" + "a" * 48 + suffix
    assert len(name) <= 63


def test_stateful_set_shape() -> None:
    spec = stateful_set(instance())["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == f"{NAME}-headless"
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete",
        "whenScaled": "Retain",
    }
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOncePod"],
        "resources": {"requests": {"storage": "200Gi"}},
        "storageClassName": "hcloud-volumes",
    }
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 20 + 240 + 15
    assert pod["nodeSelector"] == {"node.cluster.x-k8s.io/pool": "kura-us-east"}
    assert pod["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": spec["selector"]["matchLabels"]},
        }
    ]
    assert spec["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port-name": "http",
        "prometheus.io/path": "/metrics",
        "kura.tuist.dev/shared-secrets-resource-version": "4711",
    }
    kura = container(instance())
    assert kura["resources"] == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"memory": "2Gi"},
    }
    assert [(p["name"], p["containerPort"]) for p in kura["ports"]] == [
        ("http", 4000),
        ("grpc", 50051),
        ("peer", 7443),
    ]
    assert kura["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert kura["livenessProbe"]["httpGet"] == {"path": "/up", "port": "http"}
    assert kura["startupProbe"]["httpGet"] == {"path": "/up", "port": "http"}
    assert kura["envFrom"] == [{"secretRef": {"name": "kura-shared-secrets", "optional": True}}]
    assert "sleep 20" in kura["lifecycle"]["preStop"]["exec"]["command"][-1]
    assert "kill -USR1" in kura["lifecycle"]["preStop"]["exec"]["command"][-1]


def test_kura_runs_unprivileged_on_a_read_only_root_without_an_api_token() -> None:
    pod = stateful_set(instance())["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    kura = container(instance())
    assert kura["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    # What Kura writes lands on volumes: the data claim (KURA_DATA_DIR and KURA_TMP_DIR) and a
    # bounded /tmp; everything else it reads is mounted read-only.
    writable = {m["mountPath"]: m["name"] for m in kura["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/cache/kura": "data", "/tmp": "scratch"}
    variables = env(instance())
    assert variables["KURA_TMP_DIR"]["value"].startswith("/var/cache/kura/")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["scratch"] == {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}


def test_the_default_node_selector_and_storage() -> None:
    inst = instance(nodeSelector=None, storageClassName=None)
    spec = stateful_set(inst)["spec"]
    assert spec["template"]["spec"]["nodeSelector"] == {"node.cluster.x-k8s.io/pool": "kura"}
    assert "storageClassName" not in spec["volumeClaimTemplates"][0]["spec"]


def test_peer_env_and_the_peer_tls_mount() -> None:
    variables = env(instance())
    headless = f"{NAME}-headless"
    assert variables["KURA_NODE_URL"]["value"] == (
        f"https://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc.cluster.local:7443"
    )
    assert variables["KURA_DISCOVERY_DNS_NAME"]["value"] == (
        f"{headless}.$(POD_NAMESPACE).svc.cluster.local"
    )
    assert variables["KURA_INTERNAL_PORT"]["value"] == "7443"
    assert {
        key: variables[f"KURA_INTERNAL_TLS_{key}_PATH"]["value"]
        for key in ("CA_CERT", "CERT", "KEY")
    } == {
        "CA_CERT": "/etc/kura/peer-tls/ca.pem",
        "CERT": "/etc/kura/peer-tls/tls.crt",
        "KEY": "/etc/kura/peer-tls/tls.key",
    }
    assert variables["KURA_CONTROL_PLANE_CLIENT_ID"]["value"] == CONTROL_PLANE_ENV[-1]["value"]
    assert variables["KURA_OTEL_DEPLOYMENT_ENVIRONMENT"]["value"] == "production"
    assert variables["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    mounts = {m["mountPath"]: m for m in container(instance())["volumeMounts"]}
    assert mounts["/etc/kura/peer-tls"] == {
        "name": "peer-tls",
        "mountPath": "/etc/kura/peer-tls",
        "readOnly": True,
    }
    volumes = {
        v["name"]: v for v in stateful_set(instance())["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes["peer-tls"]["secret"] == {"secretName": f"{NAME}-peer-tls"}
    external = instance(peerTLSSecretName="kura-acme-peer-tls")
    volumes = {v["name"]: v for v in stateful_set(external)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["peer-tls"]["secret"] == {"secretName": "kura-acme-peer-tls"}
    # A shared Secret may be named anything; it is still the only Secret the pods mount.
    shared = stateful_set(instance(peerTLSSecretName="fleet-mtls"))["spec"]["template"]
    assert_no_public_tls(shared)
    assert [v["secret"] for v in shared["spec"]["volumes"] if "secret" in v] == [
        {"secretName": "fleet-mtls"}
    ]


def test_an_extension_script_is_a_config_map_mounted_read_only() -> None:
    script = "function authenticate(ctx) return nil end\n"
    inst = instance(extensionScript=script)
    objects = by_kind_and_name(children(inst))
    config_map = objects[("ConfigMap", f"{NAME}-extension")]
    assert config_map["data"] == {"hooks.lua": script}
    variables = env(inst)
    assert variables["KURA_EXTENSION_ENABLED"]["value"] == "true"
    assert variables["KURA_EXTENSION_SCRIPT_PATH"]["value"] == "/etc/kura/extensions/hooks.lua"
    # Upstream's volume name: a pod template taken over from upstream's controller keeps it.
    mounts = {m["name"]: m for m in container(inst)["volumeMounts"]}
    assert mounts["extension-script"] == {
        "name": "extension-script",
        "mountPath": "/etc/kura/extensions",
        "readOnly": True,
    }
    volumes = stateful_set(inst)["spec"]["template"]["spec"]["volumes"]
    assert {"name": "extension-script", "configMap": {"name": f"{NAME}-extension"}} in volumes
    # A new script rolls the pods.
    annotations = stateful_set(inst)["spec"]["template"]["metadata"]["annotations"]
    other = stateful_set(instance(extensionScript=script + "-- v2\n"))
    assert "kura.tuist.dev/extension-sha256" in annotations
    assert (
        other["spec"]["template"]["metadata"]["annotations"]["kura.tuist.dev/extension-sha256"]
        != annotations["kura.tuist.dev/extension-sha256"]
    )
    assert render_extension_config_map(instance()) is None


def test_network_policy_rules() -> None:
    policy = render_network_policy(
        instance(), gateway_peers=[SHARED_GATEWAY], scraper_namespaces=["monitoring", "alloy"]
    )
    own = {"app.kubernetes.io/name": "kura", "app.kubernetes.io/instance": NAME}
    assert policy["spec"] == {
        "podSelector": {"matchLabels": own},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": own}}]},
            {
                "from": [
                    {
                        "podSelector": {
                            "matchLabels": {
                                "app.kubernetes.io/name": "kura",
                                "tuist.dev/account": "acme",
                            }
                        }
                    }
                ],
                "ports": [{"protocol": "TCP", "port": "peer"}],
            },
            {
                "from": [SHARED_GATEWAY],
                "ports": [{"protocol": "TCP", "port": "http"}, {"protocol": "TCP", "port": "grpc"}],
            },
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/metadata.name",
                                    "operator": "In",
                                    "values": ["alloy", "monitoring"],
                                }
                            ]
                        }
                    }
                ],
                "ports": [{"protocol": "TCP", "port": "http"}],
            },
        ],
    }


def test_without_a_gateway_or_scrapers_nothing_else_reaches_http_or_grpc() -> None:
    # A rule with no `from` admits every source: a missing gateway leaves the rule out instead.
    rules = render_network_policy(instance(), gateway_peers=[])["spec"]["ingress"]
    for rule in rules:
        assert rule.get("from"), rule
        for peer in rule["from"]:
            assert peer.get("podSelector", {}).get("matchLabels"), peer
    ports = [port["port"] for rule in rules for port in rule.get("ports", [])]
    assert ports == ["peer"]


@pytest.mark.parametrize(("replicas", "min_available"), [(1, None), (2, 1), (3, 2), (5, 4)])
def test_disruption_budget(replicas: int, min_available: int | None) -> None:
    budget = render_pod_disruption_budget(instance(replicas=replicas))
    if min_available is None:
        assert budget is None
    else:
        assert budget is not None
        assert budget["spec"]["minAvailable"] == min_available


def test_an_existing_stateful_set_keeps_its_claim_template() -> None:
    live = stateful_set(instance(storageSize="100Gi"))
    grown = instance(storageSize="500Gi", storageClassName="fast")
    assert claim_template(grown, live) == ClaimTemplate("100Gi", "hcloud-volumes")
    assert claim_template(grown, None) == ClaimTemplate("500Gi", "fast")
    rendered = by_kind_and_name(children(grown, live=live))[("StatefulSet", NAME)]
    assert rendered["spec"]["volumeClaimTemplates"] == live["spec"]["volumeClaimTemplates"]


# --- upstream's older objects -----------------------------------------------------------------

LEGACY_ID = "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_ID"
CLIENT_ID = "7c0b4f7e-3f57-4bd0-9a3e-5c1f0d1c2b3a"


def test_a_legacy_client_id_is_kept_and_migrated_to_the_canonical_name() -> None:
    # What upstream's server emitted before the control-plane credentials were renamed.
    old = instance(extraEnv=[{"name": LEGACY_ID, "value": CLIENT_ID}])
    check_instance(old)
    variables = env(old)
    assert variables[LEGACY_ID] == {"name": LEGACY_ID, "value": CLIENT_ID}
    assert variables["KURA_CONTROL_PLANE_CLIENT_ID"] == {
        "name": "KURA_CONTROL_PLANE_CLIENT_ID",
        "value": CLIENT_ID,
    }
    notice = legacy_env_notice(old)
    assert notice is not None
    assert LEGACY_ID in notice
    assert "the pods also get KURA_CONTROL_PLANE_CLIENT_ID" in notice
    assert CLIENT_ID not in notice


def test_the_canonical_client_id_wins_over_a_legacy_one() -> None:
    both = instance(
        extraEnv=[
            {"name": "TUIST_KURA_INTROSPECTION_CLIENT_ID", "value": "old"},
            {"name": "KURA_CONTROL_PLANE_CLIENT_ID", "value": CLIENT_ID},
        ]
    )
    check_instance(both)
    assert env(both)["KURA_CONTROL_PLANE_CLIENT_ID"]["value"] == CLIENT_ID
    names = [entry["name"] for entry in container(both)["env"]]
    assert names.count("KURA_CONTROL_PLANE_CLIENT_ID") == 1
    notice = legacy_env_notice(both)
    assert notice is not None
    assert "also get" not in notice


def test_references_are_kept_for_legacy_and_canonical_secrets() -> None:
    ref = {"secretKeyRef": {"name": "kura-shared-secrets", "key": "client-secret"}}
    refs = instance(
        extraEnv=[
            {"name": "TUIST_KURA_INTROSPECTION_CLIENT_SECRET", "valueFrom": ref},
            {"name": "KURA_CONTROL_PLANE_CLIENT_SECRET", "valueFrom": ref},
            {"name": "LEGACY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]
    )
    check_instance(refs)
    variables = env(refs)
    assert variables["TUIST_KURA_INTROSPECTION_CLIENT_SECRET"]["valueFrom"] == ref
    assert variables["KURA_CONTROL_PLANE_CLIENT_SECRET"] == {
        "name": "KURA_CONTROL_PLANE_CLIENT_SECRET",
        "valueFrom": ref,
    }
    assert variables["LEGACY_POD"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert_valid(stateful_set(refs))


def test_no_notice_without_legacy_names() -> None:
    assert legacy_env_notice(instance(extraEnv=[{"name": "A", "value": "1"}])) is None


# --- refused input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"extraEnv": [{"name": "KURA_CONTROL_PLANE_CLIENT_SECRET", "value": "s3cr3t"}]},
            "KURA_CONTROL_PLANE_CLIENT_SECRET is a secret and comes only from the "
            "kura-shared-secrets Secret",
        ),
        (
            {"extraEnv": [{"name": "KURA_PORT", "value": "8080"}]},
            "KURA_PORT is set by the operator",
        ),
        (
            {"extraEnv": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]},
            "spec.extraEnv: names must be unique; set more than once: A",
        ),
        (
            {"extraEnv": [{"name": "1BAD", "value": ""}]},
            "spec.extraEnv[0].name: '1BAD' is not an environment variable name",
        ),
        ({"storageSize": "lots"}, "spec.storageSize: 'lots' is not a quantity such as 200Gi"),
        ({"accountHandle": "Acme"}, "spec.accountHandle: account handle 'Acme' is not a DNS label"),
        (
            {"nodeSelector": {"pool": "not ok"}},
            "spec.nodeSelector.pool: 'not ok' is not a label value",
        ),
    ],
    ids=[
        "secret-in-spec",
        "reserved",
        "twice",
        "bad-name",
        "storage-size",
        "handle",
        "node-selector",
    ],
)
def test_bad_input_is_refused_with_one_clear_message(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_instance(instance(**spec))
    assert message in str(caught.value)
    # A value put in the spec is never quoted back: it may be a secret.
    assert "s3cr3t" not in str(caught.value)


def test_a_name_too_long_for_the_stateful_set_pods_is_refused() -> None:
    check_instance(instance("k" * INSTANCE_NAME_MAX))
    with pytest.raises(InputError, match="at most 52 characters"):
        check_instance(instance("k" * (INSTANCE_NAME_MAX + 1)))
    with pytest.raises(InputError, match="starting with a letter"):
        check_instance(instance("1kura"))


def test_the_pod_environment_is_in_upstreams_order() -> None:
    # Upstream's controller's order, so taking its pods over leaves their environment as it is.
    inst = instance(
        peerTLSSecretName="kura-acme-peer-tls", extensionScript="function authenticate() end\n"
    )
    variables = base_env(
        inst, deployment_environment="production", otlp_traces_endpoint="http://otel:4318"
    )
    assert [entry["name"] for entry in variables] == [
        "POD_NAME",
        "POD_NAMESPACE",
        "KURA_PORT",
        "KURA_GRPC_PORT",
        "KURA_TENANT_ID",
        "KURA_REGION",
        "KURA_TMP_DIR",
        "KURA_DATA_DIR",
        "KURA_NODE_URL",
        "KURA_DISCOVERY_DNS_NAME",
        "KURA_INTERNAL_PORT",
        "KURA_INTERNAL_TLS_CA_CERT_PATH",
        "KURA_INTERNAL_TLS_CERT_PATH",
        "KURA_INTERNAL_TLS_KEY_PATH",
        "KURA_DRAIN_COMPLETION_TIMEOUT_MS",
        "KURA_OTEL_SERVICE_NAME",
        "KURA_OTEL_DEPLOYMENT_ENVIRONMENT",
        "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "KURA_EXTENSION_ENABLED",
        "KURA_EXTENSION_SCRIPT_PATH",
        "KURA_GLOBAL_DISCOVERY_DNS_NAME",
    ]


def test_the_pods_send_traces_to_the_operators_otlp_endpoint_unless_their_own() -> None:
    def traces(inst: KuraInstance, endpoint: str) -> list[str]:
        rendered = render_stateful_set(
            inst,
            deployment_environment="production",
            claim=claim_template(inst, None),
            otlp_traces_endpoint=endpoint,
        )
        (kura,) = rendered["spec"]["template"]["spec"]["containers"]
        name = "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        return [entry["value"] for entry in kura["env"] if entry["name"] == name]

    assert traces(instance(), "") == []
    assert traces(instance(), "http://otel:4318") == ["http://otel:4318"]
    own = [*CONTROL_PLANE_ENV, {"name": "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "value": "x"}]
    check_instance(instance(extraEnv=own))
    assert traces(instance(extraEnv=own), "http://otel:4318") == ["x"]


def test_an_own_deployment_environment_replaces_the_operators() -> None:
    inst = instance(extraEnv=[{"name": "KURA_OTEL_DEPLOYMENT_ENVIRONMENT", "value": "staging"}])
    check_instance(inst)
    names = [entry["name"] for entry in container(inst)["env"]]
    assert names.count("KURA_OTEL_DEPLOYMENT_ENVIRONMENT") == 1
    assert env(inst)["KURA_OTEL_DEPLOYMENT_ENVIRONMENT"]["value"] == "staging"


# --- the primary pod -------------------------------------------------------------------------


def pod(ordinal: int, *, ready: bool = True, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": f"{NAME}-{ordinal}"}
    if deleting:
        metadata["deletionTimestamp"] = "2025-05-01T12:00:00Z"
    state = "True" if ready else "False"
    return {"metadata": metadata, "status": {"conditions": [{"type": "Ready", "status": state}]}}


@pytest.mark.parametrize(
    ("current", "pods", "expected"),
    [
        (None, [], 0),  # nothing yet: ordinal 0
        (None, [pod(0, ready=False), pod(1), pod(2)], 1),  # lowest Ready ordinal
        (2, [pod(0), pod(1), pod(2)], 2),  # sticky while Ready
        (2, [pod(0), pod(1), pod(2, ready=False)], 0),  # hand over when it is not
        (1, [pod(0), pod(1, deleting=True), pod(2)], 0),  # a terminating pod is not Ready
        (1, [pod(0, ready=False), pod(1, ready=False)], 1),  # none Ready: no needless move
        (7, [pod(0, ready=False)], 0),  # a pod beyond the replicas is no candidate
    ],
)
def test_choose_primary(current: int | None, pods: list[dict[str, Any]], expected: int) -> None:
    name = None if current is None else f"{NAME}-{current}"
    assert choose_primary(instance(), name, pods) == f"{NAME}-{expected}"


def test_the_current_primary_is_read_back_from_the_service() -> None:
    assert current_primary(render_primary_service(instance(), f"{NAME}-2")) == f"{NAME}-2"
    assert current_primary(None) is None
    assert current_primary({"spec": {"selector": {}}}) is None


# --- properties ------------------------------------------------------------------------------

# At most 15 + 3 x 15 = 60 characters: handles are DNS labels.
handles = st.from_regex(r"[a-z][a-z0-9]{0,14}(-[a-z0-9]{1,14}){0,3}", fullmatch=True)
env_names = st.from_regex(r"APP_[A-Z0-9_]{1,12}", fullmatch=True)


@st.composite
def instances(draw: st.DrawFn) -> KuraInstance:
    handle = draw(handles)
    cluster = draw(st.sampled_from(["us-east-1", "us-west-1", "eu-central-1"]))
    name = f"kura-{handle}-{cluster}"[:INSTANCE_NAME_MAX].rstrip("-")
    extra = draw(st.lists(env_names, unique=True, max_size=4))
    return instance(
        name,
        uid=draw(st.none() | st.uuids().map(str)),
        accountHandle=handle,
        tenantID=handle,
        replicas=draw(st.none() | st.integers(1, 7)),
        peerTLSSecretName=draw(st.none() | st.just(f"kura-{handle}-peer-tls"[:63].rstrip("-"))),
        extensionScript=draw(st.none() | st.text(min_size=1, max_size=40)),
        storageSize=draw(st.none() | st.sampled_from(["50Gi", "1Ti", "200Gi"])),
        extraEnv=[{"name": n, "value": draw(st.text(max_size=10))} for n in extra],
    )


@given(instances())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rendering_is_deterministic_and_consistent(inst: KuraInstance) -> None:
    check_instance(inst)
    first = children(inst)
    assert children(inst) == first
    pod_template = stateful_set(inst)["spec"]["template"]
    pod_labels = pod_template["metadata"]["labels"]
    for obj in first:
        if obj["kind"] == "Service":
            assert len(obj["metadata"]["name"]) <= 63
            selector = dict(obj["spec"]["selector"])
            selector.pop(POD_NAME_LABEL, None)  # the StatefulSet controller adds it per pod
            assert selector.items() <= pod_labels.items()
        if obj["kind"] in ("StatefulSet", "PodDisruptionBudget"):
            assert obj["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        if obj["kind"] == "NetworkPolicy":
            assert obj["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    peers = account_peer_service_name(inst.spec.account_handle)
    assert len(peers) <= 63
    assert peers == account_peer_service_name(inst.spec.account_handle)
    variables = [entry["name"] for entry in pod_template["spec"]["containers"][0]["env"]]
    assert len(variables) == len(set(variables))
    assert ("KURA_GLOBAL_DISCOVERY_DNS_NAME" in variables) == bool(inst.spec.peer_tls_secret_name)
    assert_no_public_tls(pod_template)
    mounted = [v["secret"]["secretName"] for v in pod_template["spec"]["volumes"] if "secret" in v]
    assert mounted == [peer_tls_secret_name(inst)]


@given(instances())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_rendering_is_strictly_valid(inst: KuraInstance) -> None:
    for obj in children(inst):
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_the_base_env_never_names_public_tls() -> None:
    names = [e["name"] for e in base_env(instance(), deployment_environment="production")]
    assert not [n for n in names if n.startswith(PUBLIC_TLS_ENV) or n == "KURA_HTTPS_PORT"]


if __name__ == "__main__":
    for golden, make in GOLDEN_CASES.items():
        (GOLDEN / golden).write_text(yaml_stream(children(make())))
        print(f"wrote tests/operator/golden/{golden}")
