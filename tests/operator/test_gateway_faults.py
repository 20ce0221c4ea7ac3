"""KuraGateway under API faults: each failed request is retried with backoff and it converges.

Faults come from the Kubernetes double (``inject``, ``hang``, ``drop_watches``); the request
log shows the failed request and a later success of the same request.
"""

from __future__ import annotations

from typing import Any

import pytest

from kura_testing.kube_double import RequestRecord
from tests.operator.harness import Cluster, gateway_manifest

GATEWAY_FINALIZER = "kuragateways.kura.tuist.dev/finalizer"


def converge(cluster: Cluster, name: str) -> None:
    cluster.wait_phase(name, "Pending")
    assert all(cluster.children(name).values()), cluster.children(name)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")


def failed_then_succeeded(records: list[RequestRecord], status: int) -> None:
    assert records, "the request was never made"
    assert records[0].status == status, [r.status for r in records]
    assert any(r.status < 300 for r in records[1:]), [r.status for r in records]


def adds_finalizer(record: RequestRecord) -> bool:
    body = record.body if isinstance(record.body, dict) else {}
    return GATEWAY_FINALIZER in (body.get("metadata") or {}).get("finalizers", [])


@pytest.mark.parametrize(
    ("fault", "target", "retry_in"),
    [
        # Someone else changed the gateway between our read and our finalizer patch.
        ({"status": 409}, {"method": "PATCH", "resource": "kuragateways"}, "1.0s"),
        ({"status": 500}, {"method": "PATCH", "resource": "deployments"}, "1.0s"),
        ({"status": 503}, {"method": "PATCH", "resource": "configmaps"}, "1.0s"),
        # Throttled: the server's Retry-After wins over our own backoff.
        (
            {"status": 429, "retry_after": 0.5},
            {"method": "PATCH", "resource": "services"},
            "0.5s",
        ),
    ],
    ids=["409-finalizer", "500-apply", "503-apply", "429-retry-after"],
)
def test_a_failed_request_is_retried_and_the_gateway_converges(
    cluster: Cluster, fault: dict[str, Any], target: dict[str, Any], retry_in: str
) -> None:
    operator = cluster.start_operator()
    cluster.kube.inject(**fault, **target)
    manifest = gateway_manifest(31)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    converge(cluster, name)

    records = cluster.kube.requests_matching(**target, name=None)
    records = [r for r in records if r.name in (name, f"{name}-controller")]
    if target["resource"] == "kuragateways":
        records = [r for r in records if adds_finalizer(r)]
    failed_then_succeeded(records, fault["status"])

    code = str(fault["status"])
    assert operator.metric("kura_operator_api_requests_total", verb="patch", code=code) == 1
    assert (
        operator.metric("kura_operator_reconciles_total", kind="KuraGateway", result="retry") == 1
    )
    (retry,) = [r for r in operator.logs() if r["message"].startswith("reconcile failed")]
    assert retry["message"].startswith(f"reconcile failed, retrying in {retry_in}: {code} ")
    assert retry["object"]["name"] == name


def test_a_stale_read_fails_its_precondition_and_is_read_again(cluster: Cluster) -> None:
    """A real race: the gateway changes while the finalizer patch is on its way."""
    cluster.start_operator()
    in_flight = cluster.kube.hang(0.5, method="PATCH", resource="kuragateways")
    manifest = gateway_manifest(32)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait(lambda: in_flight.hits == 1, "the finalizer patch to be in flight")
    cluster.patch_gateway(name, {"metadata": {"labels": {"example.com/touched": "yes"}}})
    converge(cluster, name)

    patches = [r for r in cluster.kube.requests_matching(method="PATCH") if adds_finalizer(r)]
    failed_then_succeeded(patches, 409)
    stale, fresh = patches[0], patches[-1]
    assert int(fresh.body["metadata"]["resourceVersion"]) > int(
        stale.body["metadata"]["resourceVersion"]
    )
    gateway = cluster.gateway(name)
    assert gateway is not None
    # The other writer's change survives: the precondition kept us from overwriting it.
    assert gateway["metadata"]["labels"]["example.com/touched"] == "yes"


def test_a_dropped_watch_is_reopened_and_later_changes_still_arrive(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = gateway_manifest(33)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    converge(cluster, name)
    watches = len(cluster.kube.requests_matching(verb="watch", resource="kuragateways"))

    assert cluster.kube.drop_watches() >= 5  # gateways and the four kinds of children
    cluster.patch_gateway(name, {"spec": {"replicas": 4}})
    cluster.wait(
        lambda: (cluster.children(name)["Deployment"] or {}).get("spec", {}).get("replicas") == 4,
        "the new replica count",
    )
    assert len(cluster.kube.requests_matching(verb="watch", resource="kuragateways")) > watches
    # And a hand-deleted child, seen only through a reopened watch, comes back.
    cluster.kube.delete("configmaps", "kura", f"{name}-controller")
    cluster.wait(lambda: cluster.children(name)["ConfigMap"] is not None, "the ConfigMap")


@pytest.mark.parametrize("verb", ["list", "watch"])
def test_a_failed_list_or_watch_is_retried_and_nothing_is_reconciled_half_listed(
    cluster: Cluster, verb: str
) -> None:
    manifest = gateway_manifest(34)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    fault = cluster.kube.inject(status=503, verb=verb, resource="configmaps")
    operator = cluster.start_operator(ready=False)
    converge(cluster, name)

    assert fault.hits == 1
    (failed,) = [r for r in operator.logs() if r["message"].startswith("watching configmaps")]
    assert "retrying in" in failed["message"]
    assert failed["severity"] == "warn"
    # A failed list holds every reconcile back until the cache is complete: the ConfigMap was
    # applied once, never over a cache that had not listed it.
    applies = cluster.kube.requests_matching(method="PATCH", resource="configmaps")
    assert [r.status for r in applies] == [201]
