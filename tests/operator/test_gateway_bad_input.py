"""KuraGateways the operator must refuse: phase Error, a clear message, a Warning Event, and
nothing applied, while every other gateway is still served.

These run on the real control plane. An invalid class name and ``replicas: 0`` never get past
its admission (the CRD schema): that is tested here too. The operator refuses them anyway, as it
must for objects stored before the schema tightened or with validation off; only the double
stores such an object, so those cases run on it. An unknown LB type, a class owned by another
gateway or controller and a missing provider pass any schema: only the operator can catch them.
(A region the catalog lacks is not refused: tests/operator/test_upstream_objects.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kura_testing.client import KubeRequestError
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, gateway_manifest, lab_catalog

pytestmark = REAL

GOOD_ACCOUNT = 40
LB_TYPE = "load-balancer.hetzner.cloud/type"
LB_NAME = "load-balancer.hetzner.cloud/name"
LB_PROXY = "load-balancer.hetzner.cloud/uses-proxyprotocol"
LB_LOCATION = "load-balancer.hetzner.cloud/location"


def serves_a_good_gateway(cluster: Cluster) -> None:
    """A valid gateway created after the bad one still goes all the way to Ready."""
    manifest = gateway_manifest(GOOD_ACCOUNT)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")


def assert_refused(cluster: Cluster, name: str, class_name: str, message: str) -> None:
    gateway = cluster.gateway(name)
    assert gateway is not None
    status = gateway["status"]
    assert status["phase"] == "Error"
    assert message in status["message"]
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "Ready",
        "False",
        "InvalidSpec",
    )
    assert condition["message"] == status["message"]
    # No finalizer: nothing was created that would need cleaning up.
    assert "finalizers" not in gateway["metadata"]

    cluster.wait(lambda: len(cluster.events(name)) == 1, "the Error event")
    (event,) = cluster.events(name)
    assert (event["type"], event["reason"]) == ("Warning", "Error")
    assert event["message"] == f"Error: {status['message']}"

    workload = f"{name}-controller"
    for resource in ("configmaps", "services", "deployments"):
        assert cluster.kube.get(resource, NAMESPACE, workload) is None, resource
    # The only writes about the gateway: the test's create and one status write.
    about = {name, workload, class_name}
    writes = [(w.verb, w.resource, w.subresource) for w in cluster.kube.writes() if w.name in about]
    assert writes == [("patch", "kuragateways", "status")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"ingressClassName": "Kura_Class"},
            "spec.ingressClassName: ingress class name 'Kura_Class' is not a DNS label",
            marks=pytest.mark.double,
            id="invalid-class-name",
        ),
        pytest.param(
            {"replicas": 0},
            "spec.replicas: Input should be greater than or equal to 1",
            marks=pytest.mark.double,
            id="zero-replicas",
        ),
        pytest.param(
            {"nodeSelector": {"bad key!": "v"}},
            "spec.nodeSelector: every key must be a label key",
            marks=pytest.mark.double,
            id="node-selector-key",
        ),
        (
            {"loadBalancerAnnotations": {"load-balancer.hetzner.cloud/type": "lb99"}},
            "lb99",  # the Hetzner provider knows which LB types exist
        ),
    ],
    ids=["invalid-class-name", "zero-replicas", "node-selector-key", "unknown-lb-type"],
)
def test_an_invalid_gateway_is_refused_and_the_others_are_served(
    cluster: Cluster, spec: dict[str, Any], message: str
) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(41)
    manifest["spec"].update(spec)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")

    serves_a_good_gateway(cluster)
    assert_refused(cluster, name, manifest["spec"]["ingressClassName"], message)
    assert cluster.kube.get("ingressclasses", None, manifest["spec"]["ingressClassName"]) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"ingressClassName": "Kura_Class"},
            "spec.ingressClassName in body should match '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'",
        ),
        ({"replicas": 0}, "spec.replicas in body should be greater than or equal to 1"),
    ],
    ids=["invalid-class-name", "zero-replicas"],
)
def test_the_api_server_refuses_what_the_crd_schema_forbids(
    cluster: Cluster, spec: dict[str, Any], message: str
) -> None:
    manifest = gateway_manifest(41)
    manifest["spec"].update(spec)
    with pytest.raises(KubeRequestError) as refused:
        cluster.create_gateway(manifest)
    assert refused.value.status == 422
    assert message in refused.value.message
    assert cluster.gateway(manifest["metadata"]["name"]) is None


def test_two_gateways_claiming_one_class(cluster: Cluster) -> None:
    cluster.start_operator()
    owner = gateway_manifest(GOOD_ACCOUNT)
    owner_name, class_name = owner["metadata"]["name"], owner["spec"]["ingressClassName"]
    cluster.create_gateway(owner)
    cluster.make_ready(owner_name)
    cluster.wait_phase(owner_name, "Ready")
    cluster.kube.clear_requests()

    claimant = gateway_manifest(42, ingressClassName=class_name)
    name = claimant["metadata"]["name"]
    cluster.create_gateway(claimant)
    cluster.wait_phase(name, "Error")

    assert_refused(
        cluster,
        name,
        class_name,
        f"IngressClass {class_name!r} already exists and belongs to gateway {owner_name!r}",
    )
    ingress_class = cluster.kube.get("ingressclasses", None, class_name)
    assert ingress_class is not None
    assert ingress_class["metadata"]["labels"]["tuist.dev/kura-gateway"] == owner_name
    # The owner keeps its class and stays Ready.
    assert cluster.phase(owner_name) == "Ready"

    # Deleting the claimant leaves the owner's class alone.
    cluster.delete_gateway(name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the claimant to go")
    assert cluster.kube.get("ingressclasses", None, class_name) is not None
    assert cluster.kube.requests_matching(verb="delete", resource="ingressclasses") == []


def test_a_class_of_another_controller_is_not_taken_over(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(43)
    name, class_name = manifest["metadata"]["name"], manifest["spec"]["ingressClassName"]
    cluster.put_ingress_class(class_name, "k8s.io/ingress-nginx")
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")
    serves_a_good_gateway(cluster)
    assert_refused(
        cluster,
        name,
        class_name,
        f"IngressClass {class_name!r} already exists with controller 'k8s.io/ingress-nginx', not "
        f"this gateway's 'k8s.io/{class_name}-ingress-nginx': it is someone else's",
    )
    ingress_class = cluster.kube.get("ingressclasses", None, class_name)
    assert ingress_class is not None
    assert ingress_class["spec"] == {"controller": "k8s.io/ingress-nginx"}


def test_a_region_whose_provider_no_plugin_provides(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_operator("--catalog", str(lab_catalog(tmp_path)), "--env", "lab")
    manifest = gateway_manifest(44)
    manifest["spec"]["region"] = "lab-east"
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")

    serves_a_good_gateway(cluster)
    assert_refused(
        cluster,
        name,
        manifest["spec"]["ingressClassName"],
        "no plugin provides the ingress provider 'traefik' (loaded: gateway-api, ingress-nginx)",
    )


def test_fixing_the_spec_brings_an_invalid_gateway_to_ready(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(45, loadBalancerAnnotations={LB_TYPE: "lb99"})
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")

    cluster.patch_gateway(name, {"spec": {"loadBalancerAnnotations": {LB_TYPE: "lb11"}}})
    cluster.make_ready(name)
    ready = cluster.wait_phase(name, "Ready")
    (condition,) = ready["status"]["conditions"]
    assert (condition["status"], condition["reason"]) == ("True", "GatewayReady")
    assert ready["status"]["message"] == "2/2 gateway replicas ready"


def test_a_gateway_named_like_a_regions_shared_lb_is_refused(cluster: Cluster) -> None:
    # kura-us-east's load balancer would be tuist-kura-us-east-ingress: the shared gateway's.
    cluster.start_operator()
    manifest = gateway_manifest(46)
    manifest["metadata"]["name"] = name = "kura-us-east"
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")
    assert_refused(
        cluster,
        name,
        manifest["spec"]["ingressClassName"],
        "KuraGateway kura-us-east: its load balancer would be 'tuist-kura-us-east-ingress', a "
        "region's shared gateway's; choose another name",
    )


def test_annotations_naming_placing_or_wiring_the_lb_are_ignored_with_one_warning(
    cluster: Cluster,
) -> None:
    cluster.start_operator()
    asked = {
        LB_NAME: "tuist-kura-us-east-ingress",  # the regional LB
        LB_PROXY: "false",
        LB_LOCATION: "hil",
        LB_TYPE: "lb21",  # honoured
    }
    manifest = gateway_manifest(47, loadBalancerAnnotations=asked)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    service = cluster.children(name)["Service"]
    assert service is not None
    annotations = service["metadata"]["annotations"]
    assert (
        annotations[LB_NAME],
        annotations[LB_PROXY],
        annotations[LB_LOCATION],
        annotations[LB_TYPE],
    ) == (f"tuist-{name}-ingress", "true", "ash", "lb21")

    def warnings() -> list[dict[str, Any]]:
        return [e for e in cluster.events(name) if e["reason"] == "AnnotationsIgnored"]

    (warning,) = warnings()
    assert warning["type"] == "Warning"
    assert warning["message"] == (
        "spec.loadBalancerAnnotations: ignored load-balancer.hetzner.cloud/location (kept "
        f"'ash'), load-balancer.hetzner.cloud/name (kept 'tuist-{name}-ingress'), "
        "load-balancer.hetzner.cloud/uses-proxyprotocol (kept 'true'): the load-balancer "
        "provider 'hetzner' sets them from the gateway's name and region"
    )
    # Once per spec generation, not on every reconcile.
    cluster.patch_gateway(name, {"spec": {"replicas": 3}})
    cluster.wait(lambda: len(warnings()) == 2, "the warning for the new generation")

    # The annotations the Tuist server sends are the derived ones: no warning for them.
    upstream = gateway_manifest(GOOD_ACCOUNT)
    assert upstream["spec"]["loadBalancerAnnotations"][LB_NAME] == (
        f"tuist-{upstream['metadata']['name']}-ingress"
    )
    serves_a_good_gateway(cluster)

    def reasons() -> list[str]:
        return [e["reason"] for e in cluster.events(upstream["metadata"]["name"])]

    # The warning would come first, before anything is written.
    cluster.wait(lambda: "Ready" in reasons(), "the Ready event")
    assert "AnnotationsIgnored" not in reasons()
