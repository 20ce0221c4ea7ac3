"""Objects upstream's server and controller made or accept, which the operator must serve too.

On the real control plane: a gateway or instance in a region the operator's catalog lacks is
reconciled from the object alone (upstream's controller has no catalog); an IngressClass that
names the gateway's controller but no gateway is adopted, as upstream's CreateOrUpdate does;
upstream's older servers' legacy client-id variable and valueFrom references in extraEnv are
kept (the API server no longer prunes valueFrom), migrated and reported, never an Error.
"""

from __future__ import annotations

from typing import Any

from kura_core import dedicated_load_balancer_name
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, gateway_manifest, instance_manifest

pytestmark = REAL

LB = "load-balancer.hetzner.cloud/"
LEGACY_ID = "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_ID"
CLIENT_ID = "KURA_CONTROL_PLANE_CLIENT_ID"
CLIENT_ID_VALUE = "7c0b4f7e-3f57-4bd0-9a3e-5c1f0d1c2b3a"


def reasons(cluster: Cluster, name: str) -> list[str]:
    return [event["reason"] for event in cluster.events(name)]


def kura_env(cluster: Cluster, name: str) -> dict[str, dict[str, Any]]:
    stateful_set = cluster.kube.get("statefulsets", NAMESPACE, name)
    assert stateful_set is not None
    (container,) = stateful_set["spec"]["template"]["spec"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def test_a_gateway_in_a_region_the_catalog_lacks_is_served_from_its_spec(
    cluster: Cluster,
) -> None:
    operator = cluster.start_operator("--resync", "0.5")
    manifest = gateway_manifest(51)
    manifest["spec"]["region"] = "ap-south"
    manifest["spec"]["nodeSelector"] = {"node.cluster.x-k8s.io/pool": "kura-ap-south"}
    name = manifest["metadata"]["name"]
    # What upstream's server sends for a region of its own: the LB's name (derived from the
    # gateway's, as kura's provider derives it), PROXY and location.
    manifest["spec"]["loadBalancerAnnotations"] = {
        f"{LB}name": dedicated_load_balancer_name(name),
        f"{LB}uses-proxyprotocol": "true",
        f"{LB}location": "sin",
    }
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    ready = cluster.wait_phase(name, "Ready")
    assert ready["status"]["ingressClassName"] == manifest["spec"]["ingressClassName"]

    service = cluster.children(name)["Service"]
    assert service is not None
    annotations = {
        key: value
        for key, value in service["metadata"]["annotations"].items()
        if key.startswith(LB)
    }
    # The spec's annotations and the node selector derived from the spec: nothing from a catalog.
    assert annotations == {
        f"{LB}name": dedicated_load_balancer_name(name),
        f"{LB}uses-proxyprotocol": "true",
        f"{LB}location": "sin",
        f"{LB}node-selector": "node.cluster.x-k8s.io/pool=kura-ap-south",
    }
    # One warning for this generation, however many resyncs pass.
    done = {"kind": "KuraGateway", "result": "ok"}
    reconciled = operator.metric("kura_operator_reconciles_total", **done)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **done) >= reconciled + 4,
        "resyncs",
    )
    assert reasons(cluster, name).count("RegionNotInCatalog") == 1
    (warning,) = [e for e in cluster.events(name) if e["reason"] == "RegionNotInCatalog"]
    assert warning["type"] == "Warning"
    assert "region 'ap-south' is not in the operator's catalog" in warning["message"]


def test_an_instance_in_a_region_the_catalog_lacks_is_served(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    manifest = instance_manifest(52, "faraway")
    manifest["spec"]["region"] = "ap-south"
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.make_instance_ready(name)
    ready = cluster.wait_instance_phase(name, "Ready")
    assert ready["status"]["publicURL"] == f"https://{manifest['spec']['publicHost']}"
    assert kura_env(cluster, name)["KURA_REGION"]["value"] == "ap-south"
    assert cluster.kube.get("ingresses", NAMESPACE, name) is not None
    assert "RegionNotInCatalog" in reasons(cluster, name)


def test_an_unclaimed_class_of_the_gateways_controller_is_adopted(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(53)
    name, class_name = manifest["metadata"]["name"], manifest["spec"]["ingressClassName"]
    # Made by hand (or by a controller that did not label it), for this gateway's controller.
    cluster.put_ingress_class(class_name, f"k8s.io/{class_name}-ingress-nginx")
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    adopted = cluster.kube.get("ingressclasses", None, class_name)
    assert adopted is not None
    assert adopted["metadata"]["labels"]["tuist.dev/kura-gateway"] == name
    assert "AdoptedIngressClass" in reasons(cluster, name)

    # Adopted, it is the gateway's: it goes with the gateway.
    cluster.delete_gateway(name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")
    assert cluster.kube.get("ingressclasses", None, class_name) is None


def test_legacy_variables_and_references_are_kept_and_migrated(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    secret_ref = {"secretKeyRef": {"name": "kura-shared-secrets", "key": "legacy-secret"}}
    extra_env = [
        # What upstream's server emitted before the control-plane credentials were renamed.
        {"name": LEGACY_ID, "value": CLIENT_ID_VALUE},
        {"name": "TUIST_KURA_INTROSPECTION_CLIENT_SECRET", "valueFrom": secret_ref},
        {"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
    ]
    manifest = instance_manifest(54, "oldtimer", extraEnv=extra_env)
    name = manifest["metadata"]["name"]
    created = cluster.create_instance(manifest)
    # The CRD keeps valueFrom: the API server stored the references as they were sent.
    assert created["spec"]["extraEnv"] == extra_env

    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")
    env = kura_env(cluster, name)
    assert env[LEGACY_ID] == {"name": LEGACY_ID, "value": CLIENT_ID_VALUE}
    assert env[CLIENT_ID] == {"name": CLIENT_ID, "value": CLIENT_ID_VALUE}
    assert env["TUIST_KURA_INTROSPECTION_CLIENT_SECRET"]["valueFrom"] == secret_ref
    assert env["NODE_IP"]["valueFrom"] == {
        "fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}
    }
    (notice,) = [e for e in cluster.events(name) if e["reason"] == "LegacyEnvMigrated"]
    assert notice["type"] == "Warning"
    assert LEGACY_ID in notice["message"]
    assert CLIENT_ID_VALUE not in notice["message"]
    assert "Error" not in reasons(cluster, name)
