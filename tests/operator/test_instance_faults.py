"""KuraInstance under API faults: each failed request is retried with backoff and it converges.

Faults come from the Kubernetes double; the request log shows the failed request and a later
success of the same request.
"""

from __future__ import annotations

from typing import Any

import pytest

from kura_testing.kube_double import RequestRecord
from tests.operator.harness import Cluster, instance_manifest

FINALIZER = "kurainstances.kura.tuist.dev/finalizer"


def adds_finalizer(record: RequestRecord) -> bool:
    body = record.body if isinstance(record.body, dict) else {}
    return FINALIZER in (body.get("metadata") or {}).get("finalizers", [])


@pytest.mark.parametrize(
    ("fault", "target", "retry_in"),
    [
        # Someone else changed the instance between our read and our finalizer patch.
        ({"status": 409}, {"method": "PATCH", "resource": "kurainstances"}, "1.0s"),
        ({"status": 500}, {"method": "PATCH", "resource": "statefulsets"}, "1.0s"),
        ({"status": 503}, {"verb": "create", "resource": "secrets"}, "1.0s"),
        # Secrets are not watched: read with a GET.
        ({"status": 502}, {"verb": "get", "resource": "secrets"}, "1.0s"),
        # Throttled: the server's Retry-After wins over our own backoff.
        (
            {"status": 429, "retry_after": 0.5},
            {"method": "PATCH", "resource": "ingresses"},
            "0.5s",
        ),
    ],
    ids=["409-finalizer", "500-apply", "503-secret", "502-secret-read", "429-retry-after"],
)
def test_a_failed_request_is_retried_and_the_instance_converges(
    cluster: Cluster, fault: dict[str, Any], target: dict[str, Any], retry_in: str
) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    # The cache's lists and watches are open by now: the fault hits the reconcile.
    cluster.wait(lambda: cluster.kube.open_watches >= 10, "the cache's watches")
    cluster.kube.clear_requests()
    cluster.kube.inject(**fault, **target, namespace="kura")
    manifest = instance_manifest(71, "faulty")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait_instance_phase(name, "Pending")
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")

    records = cluster.kube.requests_matching(**target, namespace="kura")
    if target["resource"] == "kurainstances":
        records = [r for r in records if adds_finalizer(r)]
    assert records, "the request was never made"
    assert records[0].status == fault["status"], [r.status for r in records]
    assert any(r.status < 300 for r in records[1:]), [r.status for r in records]
    assert (
        operator.metric("kura_operator_reconciles_total", kind="KuraInstance", result="retry") == 1
    )
    (retry,) = [r for r in operator.logs() if r["message"].startswith("reconcile failed")]
    assert retry["message"].startswith(f"reconcile failed, retrying in {retry_in}: ")
    assert retry["object"]["name"] == name
    assert retry["object"]["kind"] == "KuraInstance"


def test_a_restart_in_the_middle_of_a_reconcile_resumes_it(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    in_flight = cluster.kube.hang(30, method="PATCH", resource="statefulsets")
    manifest = instance_manifest(72, "restart")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait(lambda: in_flight.hits == 1, "the StatefulSet apply to be in flight")
    secret = cluster.kube.get("secrets", "kura", f"{name}-peer-tls")
    assert secret is not None

    operator.kill()  # SIGKILL: the apply never completes
    assert cluster.kube.get("statefulsets", "kura", name) is None

    cluster.start_operator()
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")
    # The peer TLS Secret made before the crash is still valid, so it was kept.
    kept = cluster.kube.get("secrets", "kura", f"{name}-peer-tls")
    assert kept is not None
    assert kept["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]
