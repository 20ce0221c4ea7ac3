"""KuraGateway end to end: the real operator process on the real control plane."""

from __future__ import annotations

from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, gateway_manifest

pytestmark = REAL

GATEWAY_FINALIZER = "kuragateways.kura.tuist.dev/finalizer"
OK = {"kind": "KuraGateway", "result": "ok"}


def test_create_then_every_child_then_ready(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    manifest = gateway_manifest(42, replicas=3)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)

    pending = cluster.wait_phase(name, "Pending")
    assert GATEWAY_FINALIZER in pending["metadata"]["finalizers"]
    children = cluster.children(name)
    assert all(children.values()), children
    assert children["Deployment"] is not None
    assert children["Deployment"]["spec"]["replicas"] == 3
    assert pending["status"]["ingressClassName"] == manifest["spec"]["ingressClassName"]
    assert pending["status"]["message"] == "0/3 gateway replicas ready, loadBalancer=false"

    cluster.make_ready(name)
    ready = cluster.wait_phase(name, "Ready")
    status = ready["status"]
    assert status["readyReplicas"] == 3
    assert status["loadBalancer"] == "203.0.113.7"
    assert status["serviceName"] == f"{name}-controller"
    assert status["observedGeneration"] == ready["metadata"]["generation"]
    (condition,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert (condition["status"], condition["observedGeneration"]) == (
        "True",
        ready["metadata"]["generation"],
    )

    cluster.wait(
        lambda: (
            {e["reason"] for e in cluster.kube.objects("events", NAMESPACE)} >= {"Pending", "Ready"}
        ),
        "phase events",
    )
    assert 'kura_operator_gateways{phase="Ready"} 1.0' in operator.metrics()


def test_resync_of_an_unchanged_ready_gateway_sends_no_request(cluster: Cluster) -> None:
    operator = cluster.start_operator("--resync", "0.5")
    manifest = gateway_manifest(7)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    cluster.wait(lambda: len(cluster.events(name)) == 2, "the Pending and Ready events")

    cluster.kube.clear_requests()
    reconciled = operator.metric("kura_operator_reconciles_total", **OK)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) >= reconciled + 3,
        "three resyncs",
    )
    # Each resync reconciles the gateway from the cache: no write, and no read either.
    sent = [(r.verb, r.resource, r.name) for r in cluster.kube.requests if r.verb != "watch"]
    assert [r for r in sent if r[1]] == []


def test_deletion_leaves_nothing_behind(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(9)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")

    cluster.delete_gateway(name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")
    # The Deployment's ReplicaSets and pods go with it, through the garbage collector.
    resources = ("configmaps", "services", "deployments", "replicasets", "pods", "ingressclasses")

    def leftovers() -> dict[str, list[str]]:
        found = {
            resource: [
                o["metadata"]["name"]
                for o in cluster.kube.objects(resource)
                # Published into every namespace by kube-controller-manager.
                if o["metadata"]["name"] != "kube-root-ca.crt"
            ]
            for resource in (*resources, "kuragateways")
        }
        return {resource: names for resource, names in found.items() if names}

    cluster.kube.wait_until(lambda: leftovers() == {}, 30)
    assert leftovers() == {}
