"""The operator is never silently idle, on the real control plane: a missing CRD or permission
shows in its log, ``/readyz`` and metrics within seconds, and it recovers by itself once the
missing piece is applied.

Some tests take a CRD away from this worker's control plane and put it back afterwards (tests
on one worker run one at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kura_operator.settings import LEADER_ELECTION_ID
from kura_testing.client import KubeClient, wait_for
from kura_testing.crds import kura_platform_crds
from tests.operator.conftest import REAL
from tests.operator.harness import Cluster, OperatorProcess, gateway_manifest, instance_manifest
from tests.operator.real_cluster import TEST_MANAGER, RealCluster, without_rule

pytestmark = REAL

CERTIFICATES = "certificates.cert-manager.io"
FAST_CHECKS = ("--self-check-interval", "1")
FIX = "kubectl apply -k packages/kura-operator/deploy"


@contextmanager
def without_crd(admin: KubeClient, name: str) -> Iterator[Callable[[], None]]:
    """The CRD ``name`` taken away; call the yielded function to put it back earlier."""
    (crd,) = [c for c in kura_platform_crds() if c["metadata"]["name"] == name]
    admin.delete("customresourcedefinitions", None, name)
    wait_for(
        lambda: admin.get("customresourcedefinitions", None, name) is None, f"{name} to go", 30
    )

    def restore() -> None:
        admin.apply_all([crd], field_manager=TEST_MANAGER)

    try:
        yield restore
    finally:
        restore()


def failed(operator: OperatorProcess, check: str) -> float:
    return operator.metric("kura_operator_self_check_failed", check=check)


def warnings(operator: OperatorProcess) -> list[str]:
    return [r["message"] for r in operator.logs() if r.get("severity") in ("warn", "warning")]


def reconciles_a_gateway(cluster: Cluster) -> None:
    manifest = gateway_manifest(81)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")


def test_without_access_to_its_lease_it_waits_writing_nothing_until_it_is_granted(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)

    def no_renewal(rule: dict[str, Any]) -> dict[str, Any]:
        if rule["resources"] == ["leases"] and "update" in rule["verbs"]:
            rule["verbs"] = ["get"]
        return rule

    restore = without_rule(cluster, no_renewal)
    operator = cluster.start_operator(*FAST_CHECKS, standalone=False, ready=False)
    check = "access:update coordination.k8s.io/leases"
    cluster.wait(lambda: failed(operator, check) == 1, "the failed check")
    status, text = operator.readiness()
    assert status == 503
    assert (
        f"may not update coordination.k8s.io/leases {LEADER_ELECTION_ID} in its namespace: {FIX}"
    ) in text
    # It would lose the Lease at its first renewal: it does not even take it.
    assert operator.state() == "paused"
    manifest = gateway_manifest(82)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.wait(
        lambda: (
            sum("may not update coordination.k8s.io/leases" in w for w in warnings(operator)) >= 2
        ),
        "the warning, again at the next self-check",
    )
    assert cluster.real.writes() == []
    # An admin applies the deploy base's Role: the operator takes the Lease and gets to work.
    restore()
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    assert failed(operator, check) == 0
    assert operator.state() == "active"


def test_a_missing_permission_fails_readiness_until_it_is_granted(cluster: Cluster) -> None:
    assert isinstance(cluster, RealCluster)

    def no_status_patch(rule: dict[str, Any]) -> dict[str, Any] | None:
        if rule["resources"] == ["kuragateways/status", "kurainstances/status"]:
            return {**rule, "resources": ["kurainstances/status"]}
        return rule

    restore = without_rule(cluster, no_status_patch)
    operator = cluster.start_operator(*FAST_CHECKS, ready=False)
    check = "access:patch kura.tuist.dev/kuragateways/status"
    cluster.wait(lambda: failed(operator, check) == 1, "the failed check")
    status, text = operator.readiness()
    assert status == 503
    assert (
        "not ready: the operator's ServiceAccount may not patch "
        f"kura.tuist.dev/kuragateways/status in its namespace: {FIX}"
    ) in text
    assert any("may not patch kura.tuist.dev/kuragateways/status" in w for w in warnings(operator))
    # Not blocking: the operator runs, and the rest of its work is done.
    assert operator.state() == "active"
    restore()
    cluster.wait(lambda: operator.readiness()[0] == 200, "the operator to be ready")
    assert failed(operator, check) == 0
    reconciles_a_gateway(cluster)


@pytest.mark.parametrize("issuer", [(), ("--cluster-issuer", "")], ids=["issuer", "no-issuer"])
def test_without_cert_manager_an_instance_says_so_and_gets_everything_else(
    cluster: Cluster, issuer: tuple[str, ...]
) -> None:
    assert isinstance(cluster, RealCluster)
    admin = cluster.real.client
    with without_crd(admin, CERTIFICATES):
        operator = cluster.start_operator("--resync", "1", *FAST_CHECKS, *issuer, ready=False)
        if issuer:
            # Without an issuer no Certificate is rendered: cert-manager is not needed at all.
            cluster.wait(lambda: operator.readiness()[0] == 200, "the operator to be ready")
            return
        cluster.wait(lambda: failed(operator, "crd:certificates") == 1, "the failed check")
        status, text = operator.readiness()
        assert status == 503
        assert "install cert-manager" in text
        cluster.seed_regional_class()
        manifest = instance_manifest(71, "nocerts")
        name = manifest["metadata"]["name"]
        cluster.create_instance(manifest)
        cluster.make_instance_ready(name)

        def reported() -> bool:
            status = (cluster.instance(name) or {}).get("status") or {}
            return bool(status.get("conditions")) and (
                status["conditions"][0]["reason"] == "KindNotServed"
            )

        cluster.wait(reported, "the missing Certificate API in the status")
        status_of = (cluster.instance(name) or {})["status"]
        assert status_of["phase"] == "Pending"
        assert status_of["message"].startswith(
            "this cluster does not serve Certificate (cert-manager.io/v1), so the public TLS "
            "certificates cannot be requested: install cert-manager"
        )
        (condition,) = status_of["conditions"]
        assert (condition["type"], condition["status"]) == ("Ready", "False")
        # Everything but the Certificates is there, the pods' StatefulSet included.
        for resource, child in (
            ("statefulsets", name),
            ("services", name),
            ("services", f"{name}-headless"),
            ("ingresses", name),
            ("ingresses", f"{name}-grpc"),
            ("networkpolicies", name),
        ):
            assert cluster.kube.get(resource, "kura", child) is not None, (resource, child)
        cluster.wait(
            lambda: [e["reason"] for e in cluster.events(name)].count("KindNotServed") == 1,
            "one Warning Event",
        )
        warning = next(e for e in cluster.events(name) if e["reason"] == "KindNotServed")
        assert warning["type"] == "Warning"

    # cert-manager arrives: the next resync requests the Certificates and the instance is Ready.
    cluster.wait_instance_phase(name, "Ready", timeout=60)
    assert cluster.kube.get("certificates", "kura", f"{name}-public-tls") is not None
    assert [e["reason"] for e in cluster.events(name)].count("KindNotServed") == 1
    cluster.wait(lambda: operator.readiness()[0] == 200, "the operator to be ready")
