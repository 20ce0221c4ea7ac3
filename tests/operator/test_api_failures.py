"""Every failure shows in status, on the real control plane: a request the API server refuses (a
real 403 from RBAC, a real 422 for an object it will not store) or keeps failing (a real 500 from
a full NodePort range) puts a ``Ready=False`` condition with the server's answer on the object,
posts one Warning Event, and clears once the cause is gone. Deletion blocked by a refusal shows
as Terminating.

The permissions are taken from the test's namespace only: its Role, or its ClusterRoleBinding
bound to a copy of the deploy base's ClusterRole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kura_testing.pytest_plugin import unavailable
from kura_testing.release import INSTALL_COMMAND, Binaries
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, gateway_manifest, instance_manifest
from tests.operator.real_cluster import (
    RealCluster,
    own_cluster,
    without_cluster_rule,
    without_rule,
)

pytestmark = REAL

# The slow retry of refused requests, short enough for a test to see a fix taken up.
RETRY = ("--permanent-error-retry", "1")


def without_verb(resource: str, verb: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A rule filter: ``verb`` taken from the rule that has ``resource``."""

    def keep(rule: dict[str, Any]) -> dict[str, Any]:
        if resource in rule["resources"]:
            return {**rule, "verbs": [v for v in rule["verbs"] if v != verb]}
        return rule

    return keep


def ready_condition(obj: dict[str, Any]) -> dict[str, Any]:
    (condition,) = [c for c in obj["status"]["conditions"] if c["type"] == "Ready"]
    return dict(condition)


def warnings(cluster: Cluster, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in cluster.events(name) if e["reason"] == reason]


def recovers(cluster: Cluster, name: str, reason: str, warned: int) -> None:
    """The gateway becomes Ready, its condition cleared, after ``warned`` ``reason`` Events."""
    cluster.make_ready(name)
    gateway = cluster.wait_phase(name, "Ready")
    assert ready_condition(gateway)["reason"] == "GatewayReady"
    assert len(warnings(cluster, name, reason)) == warned


def refused(cluster: RealCluster, resource: str, status: int) -> int:
    """The operator's applies of ``resource`` the API server answered with ``status``."""
    applies = cluster.real.requests_matching(method="PATCH", resource=resource)
    return sum(record.status == status for record in applies)


def test_a_child_the_operator_may_not_write_shows_until_the_permission_returns(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    namespace = cluster.operator_namespace
    restore = without_rule(cluster, without_verb("deployments", "patch"))
    # Unready: its self-check says which permission is missing.
    cluster.start_operator(*RETRY, ready=False)
    manifest = gateway_manifest(91, replicas=2)
    name = manifest["metadata"]["name"]
    workload = f"{name}-controller"
    cluster.create_gateway(manifest)

    gateway = cluster.wait_phase(name, "Error")
    message = gateway["status"]["message"]
    assert message.startswith(f"apply Deployment {namespace}/{workload} failed: 403 Forbidden: ")
    assert 'cannot patch resource "deployments" in API group "apps"' in message
    assert message.endswith("; retrying every 1s")
    condition = ready_condition(gateway)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "Forbidden",
        message,
    )
    # Retried every second, announced once.
    cluster.wait(lambda: refused(cluster, "deployments", 403) >= 3, "three refused applies")
    (event,) = warnings(cluster, name, "Forbidden")
    assert event["type"] == "Warning"
    assert event["message"] == f"Error: {message}"

    # The admin puts the permission back: the next retry applies the Deployment.
    restore()
    cluster.make_ready(name)
    gateway = cluster.wait_phase(name, "Ready")
    condition = ready_condition(gateway)
    assert (condition["status"], condition["reason"]) == ("True", "GatewayReady")
    assert [e["reason"] for e in cluster.events(name)] == ["Forbidden", "Pending", "Ready"]
    assert cluster.events(name)[1]["message"].startswith("Pending (was Error): ")

    # Refused again while the gateway serves: Degraded, and the pods it has keep serving.
    restore = without_rule(cluster, without_verb("deployments", "patch"))
    cluster.patch_gateway(name, {"spec": {"replicas": 3}})
    gateway = cluster.wait_phase(name, "Degraded")
    message = gateway["status"]["message"]
    assert message.startswith(f"apply Deployment {namespace}/{workload} failed: 403 Forbidden: ")
    # Two of the three pods the spec now wants are ready behind the LB address.
    assert message.endswith(
        "; retrying every 1s; still serving: 2/3 gateway replicas ready, loadBalancer=true"
    )
    assert (ready_condition(gateway)["status"], ready_condition(gateway)["reason"]) == (
        "False",
        "Forbidden",
    )
    cluster.wait(lambda: len(warnings(cluster, name, "Forbidden")) == 2, "the second refusal")
    assert warnings(cluster, name, "Forbidden")[1]["message"] == f"Degraded (was Ready): {message}"

    restore()
    cluster.wait(
        lambda: (cluster.children(name)["Deployment"] or {})["spec"]["replicas"] == 3,
        "the new replica count",
    )
    recovers(cluster, name, "Forbidden", 2)


def test_a_spec_change_or_a_deletion_ends_the_slow_retrys_wait(cluster: Cluster) -> None:
    assert isinstance(cluster, RealCluster)
    without_rule(cluster, without_verb("deployments", "patch"))
    cluster.start_operator(ready=False)  # the default slow retry: every 300 s
    manifest = gateway_manifest(97)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")
    refusals = refused(cluster, "deployments", 403)

    # A spec change is tried at once (and refused again: the Deployment changes with it).
    cluster.patch_gateway(name, {"spec": {"replicas": 3}})
    cluster.wait(lambda: refused(cluster, "deployments", 403) > refusals, "a new attempt")
    # Deletion needs no Deployment write: the gateway goes without waiting out the 300 s.
    cluster.delete_gateway(name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")


def test_a_refused_delete_while_finalizing_shows_as_terminating(cluster: Cluster) -> None:
    assert isinstance(cluster, RealCluster)
    cluster.start_operator(*RETRY)
    manifest = gateway_manifest(92)
    name = manifest["metadata"]["name"]
    class_name = manifest["spec"]["ingressClassName"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")

    restore = without_cluster_rule(cluster, without_verb("ingressclasses", "delete"))
    cluster.delete_gateway(name)
    gateway = cluster.wait_phase(name, "Terminating")
    message = gateway["status"]["message"]
    assert message.startswith(
        f"deletion blocked: delete IngressClass {class_name} failed: 403 Forbidden: "
    )
    assert 'cannot delete resource "ingressclasses"' in message
    # It no longer claims to be ready.
    condition = ready_condition(gateway)
    assert (condition["status"], condition["reason"]) == ("False", "Forbidden")
    assert "replicas ready" not in message
    cluster.wait(lambda: refused_deletes(cluster) >= 3, "three refused deletes")
    (event,) = warnings(cluster, name, "Forbidden")
    assert event["message"] == f"Terminating (was Ready): {message}"

    restore()
    cluster.wait(
        lambda: (
            cluster.gateway(name) is None
            and cluster.kube.get("ingressclasses", None, class_name) is None
        ),
        "the gateway and its class to go",
    )


def refused_deletes(cluster: RealCluster) -> int:
    deletes = cluster.real.requests_matching(method="DELETE", resource="ingressclasses")
    return sum(record.status == 403 for record in deletes)


def test_an_object_the_server_will_not_store_shows_as_invalid(cluster: Cluster) -> None:
    """A real 422: a Deployment of the gateway's workload name made by hand, with a selector of
    its own, which a Deployment cannot change."""
    assert isinstance(cluster, RealCluster)
    cluster.start_operator(*RETRY)
    manifest = gateway_manifest(93)
    name = manifest["metadata"]["name"]
    workload = f"{name}-controller"
    labels = {"app": "hand-made"}
    cluster.kube.put_object(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": workload, "namespace": NAMESPACE},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "example.com/app:1"}]},
                },
            },
        }
    )
    cluster.create_gateway(manifest)

    gateway = cluster.wait_phase(name, "Error")
    message = gateway["status"]["message"]
    prefix = f"apply Deployment {cluster.operator_namespace}/{workload} failed: 422 Invalid: "
    assert message.startswith(prefix)
    assert "field is immutable" in message
    assert ready_condition(gateway)["reason"] == "Invalid"
    cluster.wait(lambda: refused(cluster, "deployments", 422) >= 3, "three refused applies")
    (event,) = warnings(cluster, name, "Invalid")
    assert event["message"] == f"Error: {message}"

    # Someone takes the hand-made Deployment away: the next retry makes the gateway's.
    cluster.kube.delete("deployments", NAMESPACE, workload)
    recovers(cluster, name, "Invalid", 1)


def test_an_instance_that_still_serves_is_degraded(cluster: Cluster) -> None:
    assert isinstance(cluster, RealCluster)
    cluster.start_operator(*RETRY)
    cluster.seed_regional_class()
    manifest = instance_manifest(94, "degraded")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.make_instance_ready(name)
    ready = cluster.wait_instance_phase(name, "Ready")

    restore = without_rule(cluster, without_verb("statefulsets", "patch"))
    image = "ghcr.io/tuist/kura:0.5.1"
    cluster.patch_instance(name, {"spec": {"image": image}})
    instance = cluster.wait_instance_phase(name, "Degraded")
    message = instance["status"]["message"]
    assert message.startswith(
        f"apply StatefulSet {cluster.operator_namespace}/{name} failed: 403 Forbidden: "
    )
    assert message.endswith(f"; still serving: {ready['status']['message']}")
    condition = ready_condition(instance)
    assert (condition["status"], condition["reason"]) == ("False", "Forbidden")
    cluster.wait(lambda: refused(cluster, "statefulsets", 403) >= 3, "three refused applies")
    (event,) = warnings(cluster, name, "Forbidden")
    assert event["message"] == f"Degraded (was Ready): {message}"

    restore()
    cluster.wait(
        lambda: (
            (cluster.kube.get("statefulsets", NAMESPACE, name) or {})["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
            == image
        ),
        "the new image",
    )
    cluster.make_instance_ready(name)
    instance = cluster.wait_instance_phase(name, "Ready")
    assert instance["status"]["observedImage"] == image
    assert len(warnings(cluster, name, "Forbidden")) == 1


@pytest.fixture
def small_node_port_range(tmp_path: Path) -> Iterator[RealCluster]:
    """A control plane of its own whose NodePort range holds one gateway's Service (three
    ports: http, https and the health check)."""
    binaries = Binaries.cached()
    if not binaries.complete:
        unavailable(f"the real Kubernetes control plane is not built: run `{INSTALL_COMMAND}`")
    with own_cluster(tmp_path, "t-ports", node_ports="30000-30002") as running:
        yield running


def test_a_server_error_that_persists_shows_and_clears(small_node_port_range: RealCluster) -> None:
    """A real 500: the API server cannot allocate a NodePort for a second gateway's Service."""
    cluster = small_node_port_range
    cluster.start_operator()
    first = gateway_manifest(95)["metadata"]["name"]
    cluster.create_gateway(gateway_manifest(95))
    cluster.wait(lambda: cluster.children(first)["Service"] is not None, "the first Service")
    manifest = gateway_manifest(96)
    name = manifest["metadata"]["name"]
    service = f"{name}-controller"
    cluster.create_gateway(manifest)

    gateway = cluster.wait_phase(name, "Error", timeout=60)
    message = gateway["status"]["message"]
    assert message.startswith(
        f"apply Service {cluster.operator_namespace}/{service} failed: 500 InternalError: "
    )
    assert "failed to allocate a nodePort: range is full" in message
    assert message.endswith("; retrying with backoff")
    assert ready_condition(gateway)["reason"] == "ApiUnavailable"
    # Transient, so retried quietly first: the status shows it only after five failures.
    assert refused(cluster, "services", 500) >= 5
    (event,) = warnings(cluster, name, "ApiUnavailable")
    assert event["message"] == f"Error: {message}"

    # The first gateway goes, the garbage collector deletes its Service, its ports come free.
    cluster.delete_gateway(first)
    cluster.wait(lambda: cluster.children(name)["Service"] is not None, "the Service", 120)
    recovers(cluster, name, "ApiUnavailable", 1)
