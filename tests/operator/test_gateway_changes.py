"""KuraGateway under change: spec edits, hand edits, restarts, and how the operator reports it.

The real ``kura-operator`` process runs on the real control plane; tests play the
Deployment and Service controllers (``Cluster.make_ready``).
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from kura_operator.convergence import APPLIED_HASH_ANNOTATION as APPLIED_HASH
from kura_operator.handlers import watched
from kura_testing.kube_double import RequestRecord
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, OPERATOR, Cluster, as_rendered, gateway_manifest

pytestmark = REAL

GATEWAY_FINALIZER = "kuragateways.kura.tuist.dev/finalizer"
LB_TYPE = "load-balancer.hetzner.cloud/type"
OK = {"kind": "KuraGateway", "result": "ok"}


def gateway_ref(name: str, namespace: str) -> dict[str, Any]:
    """The ``object`` field of a log line about a gateway."""
    return {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "name": name,
        "namespace": namespace,
    }


def ready_gateway(cluster: Cluster, account_id: int, **spec: Any) -> tuple[str, dict[str, Any]]:
    manifest = gateway_manifest(account_id, **spec)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    return name, manifest


def index(records: list[RequestRecord], predicate: Callable[[RequestRecord], bool]) -> int:
    """Where the first request ``predicate`` picks is in the request log."""
    return next(i for i, record in enumerate(records) if predicate(record))


# --- spec changes ---------------------------------------------------------------------------


def test_a_spec_change_updates_every_child_and_removes_the_old_class(cluster: Cluster) -> None:
    cluster.start_operator()
    name, manifest = ready_gateway(cluster, 11, loadBalancerAnnotations={LB_TYPE: "lb21"})
    old_class = manifest["spec"]["ingressClassName"]
    new_class = f"{old_class}-b"
    image = "registry.k8s.io/ingress-nginx/controller:v1.12.1"
    cluster.kube.clear_requests()

    # A merge patch: null takes the LB type annotation out of the spec.
    cluster.patch_gateway(
        name,
        {
            "spec": {
                "replicas": 3,
                "controllerImage": image,
                "ingressClassName": new_class,
                "loadBalancerAnnotations": {LB_TYPE: None, "example.com/team": "cache"},
            }
        },
    )
    cluster.wait(
        lambda: (
            (cluster.gateway(name) or {}).get("status", {}).get("ingressClassName") == new_class
            and (cluster.children(name)["Deployment"] or {}).get("spec", {}).get("replicas") == 3
            and cluster.kube.get("ingressclasses", None, old_class) is None
        ),
        "the gateway to follow its new spec",
    )

    children = cluster.children(name)
    deployment, service, ingress_class = (
        children["Deployment"],
        children["Service"],
        children["IngressClass"],
    )
    assert deployment is not None
    assert service is not None
    assert ingress_class is not None
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image
    assert f"--ingress-class={new_class}" in container["args"]
    assert service["metadata"]["annotations"]["example.com/team"] == "cache"
    assert ingress_class["spec"]["controller"] == f"k8s.io/{new_class}-ingress-nginx"
    assert ingress_class["metadata"]["labels"]["tuist.dev/kura-gateway"] == name

    requests = cluster.kube.requests
    # The annotation taken out of the spec is applied away: the double keeps fields that an
    # apply leaves out (it has no field ownership), a real API server removes them.
    service_applies = [
        r for r in requests if r.method == "PATCH" and r.resource == "services" and r.status < 300
    ]
    assert service_applies
    assert LB_TYPE not in service_applies[-1].body["metadata"]["annotations"]

    # The documented order: the old class deleted before the new class is applied (both read
    # from the cache, which held the old one); the renamed class is persisted in
    # status.ingressClassName before the Deployment.
    old_deleted = index(
        requests, lambda r: (r.verb, r.resource, r.name) == ("delete", "ingressclasses", old_class)
    )
    new_applied = index(
        requests, lambda r: (r.verb, r.resource, r.name) == ("patch", "ingressclasses", new_class)
    )
    remembered = index(
        requests,
        lambda r: (
            r.subresource == "status" and r.body == {"status": {"ingressClassName": new_class}}
        ),
    )
    deployment_applied = index(requests, lambda r: (r.verb, r.resource) == ("patch", "deployments"))
    assert old_deleted < new_applied < remembered < deployment_applied
    assert len(cluster.kube.requests_matching(verb="delete", resource="ingressclasses")) == 1

    # Two of three replicas are ready now; the test's controllers catch up.
    assert cluster.wait_phase(name, "Pending")["status"]["message"].startswith("2/3")
    cluster.make_ready(name)
    ready = cluster.wait_phase(name, "Ready")
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]


def test_a_renamed_class_that_is_already_gone_is_not_deleted(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    manifest = gateway_manifest(12)
    name, old_class = manifest["metadata"]["name"], manifest["spec"]["ingressClassName"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Pending")
    operator.stop()
    # While the operator is down, someone removes the class and the spec is renamed.
    cluster.kube.delete("ingressclasses", None, old_class)
    cluster.patch_gateway(name, {"spec": {"ingressClassName": f"{old_class}-b"}})
    cluster.kube.clear_requests()

    cluster.start_operator()
    cluster.wait(
        lambda: (
            (cluster.gateway(name) or {}).get("status", {}).get("ingressClassName")
            == f"{old_class}-b"
            and cluster.kube.get("ingressclasses", None, f"{old_class}-b") is not None
        ),
        "the renamed class",
    )
    # The cache has no such class: nothing is deleted, and nothing was asked either.
    assert cluster.kube.requests_matching(verb="delete") == []
    assert [r for r in cluster.kube.requests_matching(verb="get") if r.resource] == []


# --- hand edits -----------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["deployments", "ingressclasses", "configmaps", "services"])
def test_a_child_deleted_by_hand_is_restored(cluster: Cluster, resource: str) -> None:
    cluster.start_operator()
    name, manifest = ready_gateway(cluster, 13)
    namespace, child = (
        (None, manifest["spec"]["ingressClassName"])
        if resource == "ingressclasses"
        else (NAMESPACE, f"{name}-controller")
    )
    before = cluster.kube.get(resource, namespace, child)
    assert before is not None

    cluster.kube.delete(resource, namespace, child)
    cluster.wait(
        lambda: (
            (cluster.kube.get(resource, namespace, child) or before)["metadata"]["uid"]
            != before["metadata"]["uid"]
        ),
        f"{resource} {child} to come back",
    )
    restored = cluster.kube.get(resource, namespace, child)
    assert restored is not None
    for field in ("spec", "data"):
        assert as_rendered(restored.get(field)) == as_rendered(before.get(field))
    assert restored["metadata"]["labels"] == before["metadata"]["labels"]
    assert restored["metadata"].get("ownerReferences") == before["metadata"].get("ownerReferences")


@pytest.mark.parametrize(
    ("resource", "edit"),
    [
        ("configmaps", {"data": {"proxy-body-size": "1m"}}),
        ("deployments", {"spec": {"replicas": 5}}),
        # An IngressClass's controller is immutable; its applied hash is what a hand edit meets.
        ("ingressclasses", {"metadata": {"annotations": {APPLIED_HASH: "edited"}}}),
        ("services", {"metadata": {"annotations": {"load-balancer.hetzner.cloud/location": "x"}}}),
    ],
    ids=["configmap-data", "deployment-replicas", "ingressclass-annotation", "service-annotation"],
)
def test_a_child_edited_by_hand_is_restored(
    cluster: Cluster, resource: str, edit: dict[str, Any]
) -> None:
    cluster.start_operator()
    name, manifest = ready_gateway(cluster, 14)
    if resource == "ingressclasses":
        namespace, child = None, manifest["spec"]["ingressClassName"]
        path = f"/apis/networking.k8s.io/v1/ingressclasses/{child}"
    else:
        namespace, child = NAMESPACE, f"{name}-controller"
        group = "/apis/apps/v1" if resource == "deployments" else "/api/v1"
        path = f"{group}/namespaces/{NAMESPACE}/{resource}/{child}"
    before = cluster.kube.get(resource, namespace, child)
    assert before is not None

    edited = cluster.request("PATCH", path, edit)
    assert edited["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]

    def restored() -> bool:
        now = cluster.kube.get(resource, namespace, child) or {"metadata": {}}
        return all(now.get(field) == before.get(field) for field in ("spec", "data")) and (
            now["metadata"].get("annotations") == before["metadata"].get("annotations")
        )

    cluster.wait(restored, f"{resource} {child} to be restored")


# --- restarts -------------------------------------------------------------------------------


@pytest.mark.double  # holds one request in flight: only the double can
def test_a_restart_in_the_middle_of_a_reconcile_resumes_it(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    in_flight = cluster.kube.hang(30, method="PATCH", resource="deployments")
    manifest = gateway_manifest(15)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait(lambda: in_flight.hits == 1, "the Deployment apply to be in flight")

    operator.kill()  # SIGKILL: no clean-up, the apply never completes
    assert cluster.children(name)["Deployment"] is None
    assert cluster.children(name)["ConfigMap"] is not None

    cluster.start_operator()
    cluster.wait(lambda: cluster.children(name)["Deployment"] is not None, "the Deployment")
    cluster.make_ready(name)
    ready = cluster.wait_phase(name, "Ready")
    assert ready["metadata"]["finalizers"] == [GATEWAY_FINALIZER]
    assert all(cluster.children(name).values())


def test_a_restart_over_an_unchanged_ready_gateway_writes_nothing(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    name, _ = ready_gateway(cluster, 16)
    cluster.wait(lambda: len(cluster.events(name)) == 2, "the Pending and Ready events")
    operator.stop()
    cluster.kube.clear_requests()

    restarted = cluster.start_operator("--resync", "0.3")
    # The start-up reconcile, then resyncs, all from the cache.
    cluster.wait(
        lambda: restarted.metric("kura_operator_reconciles_total", **OK) >= 3,
        "three reconciles after the restart",
    )
    assert cluster.kube.writes() == []
    # One list per watched kind, then its watch: no read of the gateway or of any child.
    # (The self-check's rules review is a question, not a write.)
    sent = [
        (r.verb, r.resource)
        for r in cluster.kube.requests
        if r.resource and r.group != "authorization.k8s.io"
    ]
    assert {verb for verb, _ in sent} == {"list", "watch"}
    lists = [resource for verb, resource in sent if verb == "list"]
    assert sorted(lists) == sorted(set(lists))
    assert {"kuragateways", "configmaps", "services", "deployments", "ingressclasses"} <= set(lists)
    # Nothing of kopf's own bookkeeping is kept on the gateway, either.
    gateway = cluster.gateway(name)
    assert gateway is not None
    assert not gateway["metadata"].get("annotations")


# --- what the operator reports --------------------------------------------------------------


def test_every_phase_change_posts_one_event_of_its_type(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(17, replicas=1, loadBalancerAnnotations={LB_TYPE: "lb99"})
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait_phase(name, "Error")
    cluster.patch_gateway(name, {"spec": {"loadBalancerAnnotations": {LB_TYPE: "lb11"}}})
    cluster.wait_phase(name, "Pending")
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    cluster.wait(lambda: len(cluster.events(name)) == 3, "three events")

    events = cluster.events(name)
    assert [(e["reason"], e["type"]) for e in events] == [
        ("Error", "Warning"),
        ("Pending", "Normal"),
        ("Ready", "Normal"),
    ]
    assert (
        events[1]["message"]
        == "Pending (was Error): 0/1 gateway replicas ready, loadBalancer=false"
    )
    assert events[2]["message"] == "Ready (was Pending): 1/1 gateway replicas ready"
    assert {e["involvedObject"]["kind"] for e in events} == {"KuraGateway"}
    assert {e["source"]["component"] for e in events} == {"kura-operator"}


def test_metrics_count_reconciles_phases_and_api_requests(cluster: Cluster) -> None:
    # One self-check in the test's time: its rules review is one more create answered 201.
    operator = cluster.start_operator("--self-check-interval", "3600")
    bad = gateway_manifest(18, loadBalancerAnnotations={LB_TYPE: "lb99"})
    cluster.create_gateway(bad)
    cluster.wait_phase(bad["metadata"]["name"], "Error")
    name, _ = ready_gateway(cluster, 19)

    def metric(sample: str, **labels: str) -> float:
        return operator.metric(sample, **labels)

    # Three phase events posted (and their answers counted): Error, then Pending and Ready; and
    # the start-up self-check's rules review.
    cluster.wait(
        lambda: metric("kura_operator_api_requests_total", verb="create", code="201") == 3 + 1,
        "the phase events",
    )
    assert metric("kura_operator_gateways", phase="Ready") == 1
    assert metric("kura_operator_gateways", phase="Error") == 1
    assert metric("kura_operator_gateways", phase="Pending") == 0
    assert metric("kura_operator_reconciles_total", **OK) >= 2
    assert metric("kura_operator_reconciles_total", kind="KuraGateway", result="invalid") >= 1
    # One scrape: reconciles may still finish between two.
    scrape = operator.metrics()
    reconciles = sum(
        operator.metric("kura_operator_reconciles_total", scrape=scrape, **labels)
        for labels in ({"kind": "KuraGateway", "result": r} for r in ("ok", "invalid", "retry"))
    )
    assert (
        operator.metric(
            "kura_operator_reconcile_duration_seconds_count", scrape=scrape, kind="KuraGateway"
        )
        == reconciles
    )
    # The self-check's discovery is what is read with a GET; every watched kind is listed once
    # and then watched, and reconciles read from the cache: not one 404.
    assert metric("kura_operator_api_requests_total", verb="get", code="200") > 0
    assert metric("kura_operator_api_requests_total", verb="get", code="404") == 0
    assert metric("kura_operator_api_requests_total", verb="list", code="200") == len(watched())
    assert metric("kura_operator_api_requests_total", verb="watch", code="200") >= len(watched())
    assert metric("kura_operator_api_requests_total", verb="patch", code="201") == 4

    cluster.delete_gateway(name)
    cluster.wait(lambda: metric("kura_operator_gateways", phase="Ready") == 0, "gauge to drop")
    assert metric("kura_operator_api_requests_total", verb="delete", code="200") == 1


@pytest.mark.parametrize(
    ("args", "elsewhere"), [((), True), (("--bind-address", "127.0.0.1"), False)]
)
def test_the_servers_listen_where_they_are_told(
    cluster: Cluster, args: tuple[str, ...], elsewhere: bool
) -> None:
    # 127.0.0.2 is this host too, but not the address 127.0.0.1: bound there, nothing answers.
    operator = cluster.start_operator(*args)
    for port in (operator.health_port, operator.metrics_port):
        assert reachable("127.0.0.1", port)
        assert reachable("127.0.0.2", port) is elsewhere


def reachable(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except OSError:
        return False
    return True


def test_a_bind_address_that_is_no_address_is_refused_in_one_line() -> None:
    answer = subprocess.run(
        [str(OPERATOR), "--bind-address", "localhost:80"], capture_output=True, text=True
    )
    assert answer.returncode == 2
    assert answer.stderr.count("\n") == 1
    assert "bind_address" in answer.stderr


def test_health_and_readiness(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    assert operator.get(operator.health_port, "/healthz") == (200, "ok\n")
    assert operator.get(operator.health_port, "/readyz") == (200, "ready\n")


def test_every_log_line_is_json_and_reconcile_lines_name_the_gateway(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    name, manifest = ready_gateway(cluster, 20)
    cluster.kube.delete("deployments", NAMESPACE, f"{name}-controller")
    cluster.wait(lambda: cluster.phase(name) == "Pending", "the Deployment to be restored")
    cluster.delete_gateway(name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")
    assert operator.stop() == 0

    lines = [line for line in operator.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line: one JSON object
    assert all(isinstance(r, dict) and "message" in r and "severity" in r for r in records)
    # Whatever mentions the gateway carries a reference to an object.
    assert all("object" in r for r in records if name in r["message"])
    namespace = cluster.operator_namespace
    about = [r["message"] for r in records if r.get("object") == gateway_ref(name, namespace)]
    workload = f"{namespace}/{name}-controller"
    expected = [
        f"adding the finalizer {GATEWAY_FINALIZER}",
        f"applying ConfigMap {workload} (missing)",
        f"applying Service {workload} (missing)",
        f"applying IngressClass {manifest['spec']['ingressClassName']} (missing)",
        f"applying Deployment {workload} (missing)",
        "phase Pending: 0/2 gateway replicas ready, loadBalancer=false",
        "phase Ready (was Pending): 2/2 gateway replicas ready",
        f"applying Deployment {workload} (missing)",
        "phase Pending (was Ready): 0/2 gateway replicas ready, loadBalancer=true",
        f"deleting IngressClass {manifest['spec']['ingressClassName']}",
        f"removing the finalizer {GATEWAY_FINALIZER}",
    ]
    assert [m for m in about if m in expected] == expected


def test_dry_run_logs_the_changes_and_writes_nothing(cluster: Cluster) -> None:
    manifest = gateway_manifest(21)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.kube.clear_requests()

    operator = cluster.start_operator("--dry-run")
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) >= 1, "a reconcile"
    )
    assert cluster.kube.writes() == []
    assert cluster.kube.requests_matching(verb="list", resource="deployments")
    gateway = cluster.gateway(name)
    assert gateway is not None
    assert "status" not in gateway
    assert "finalizers" not in gateway["metadata"]

    messages = [r["message"] for r in operator.logs()]
    workload = f"{cluster.operator_namespace}/{name}-controller"
    for intended in (
        f"dry run: would patch metadata of KuraGateway {cluster.operator_namespace}/{name}",
        f"dry run: would apply ConfigMap {workload}",
        f"dry run: would apply Service {workload}",
        f"dry run: would apply IngressClass {manifest['spec']['ingressClassName']}",
        f"dry run: would apply Deployment {workload}",
        f"dry run: would set status of KuraGateway {cluster.operator_namespace}/{name}",
    ):
        assert intended in messages
    applied = next(r for r in operator.logs() if r["message"].endswith(f"Deployment {workload}"))
    assert applied["desired"]["spec"]["replicas"] == 2


# The deploy base grants one namespace; watching all of them needs ClusterRoles it does not hold.
@pytest.mark.double
def test_all_namespaces_reconciles_a_gateway_in_another_namespace(cluster: Cluster) -> None:
    other = "tenants"
    cluster.kube.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    operator = cluster.start_operator("--all-namespaces", "--resync", "0.3")
    manifest = gateway_manifest(22)
    manifest["metadata"]["namespace"] = other
    name, class_name = manifest["metadata"]["name"], manifest["spec"]["ingressClassName"]
    workload = f"{name}-controller"
    cluster.request(
        "POST", f"/apis/kura.tuist.dev/v1alpha1/namespaces/{other}/kuragateways", manifest
    )

    def phase() -> str | None:
        gateway = cluster.kube.get("kuragateways", other, name) or {}
        return (gateway.get("status") or {}).get("phase")

    cluster.wait(lambda: phase() == "Pending", "the gateway in another namespace")
    for resource in ("configmaps", "services", "deployments"):
        child = cluster.kube.get(resource, other, workload)
        assert child is not None, resource
        assert child["metadata"]["ownerReferences"][0]["name"] == name
    assert cluster.kube.objects("deployments", NAMESPACE) == []

    cluster.kube.patch_status("deployments", other, workload, {"replicas": 2, "readyReplicas": 2})
    cluster.kube.patch_status(
        "services", other, workload, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}
    )
    cluster.wait(lambda: phase() == "Ready", "Ready")

    # A cluster-scoped child finds its gateway in whichever namespace it lives.
    def class_uid() -> str | None:
        found = cluster.kube.get("ingressclasses", None, class_name)
        return None if found is None else str(found["metadata"]["uid"])

    uid = class_uid()
    cluster.kube.delete("ingressclasses", None, class_name)
    cluster.wait(lambda: class_uid() not in (None, uid), "the IngressClass to come back")

    # Every kind is listed once across namespaces, then watched; the class's gateway is found
    # in the cache.
    lists = cluster.kube.requests_matching(verb="list", resource="kuragateways")
    assert [(r.namespace, r.status) for r in lists] == [(None, 200)]
    assert [r for r in cluster.kube.requests_matching(verb="get") if r.resource] == []
    assert [r for r in operator.logs() if r["severity"] in ("error", "fatal")] == []
