"""The operator is never silently idle, on the real control plane: a missing CRD, peering object or
permission shows in its log, ``/readyz`` and metrics within seconds, and it recovers by itself
once the missing piece is applied.

Some tests take a CRD away from this worker's control plane and put it back afterwards (tests
on one worker run one at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kura_testing.client import KubeClient, wait_for
from kura_testing.crds import kura_platform_crds
from tests.operator.conftest import REAL
from tests.operator.deploy_base import OPERATOR_ACCOUNT, find, render
from tests.operator.harness import Cluster, OperatorProcess, gateway_manifest, instance_manifest
from tests.operator.real_cluster import TEST_MANAGER, RealCluster, without_rule

pytestmark = REAL

KOPF_PEERINGS = "kopfpeerings.kopf.dev"
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


def readiness(operator: OperatorProcess) -> tuple[int, str]:
    return operator.get(operator.health_port, "/readyz")


def failed(operator: OperatorProcess, check: str) -> float:
    return operator.metric("kura_operator_self_check_failed", check=check)


def state(operator: OperatorProcess) -> str:
    scrape = operator.metrics()
    states = ("active", "standby", "paused")
    (current,) = [
        s for s in states if operator.metric("kura_operator_state", scrape=scrape, state=s)
    ]
    return current


def warnings(operator: OperatorProcess) -> list[str]:
    return [r["message"] for r in operator.logs() if r.get("severity") in ("warn", "warning")]


def reconciles_a_gateway(cluster: Cluster) -> None:
    manifest = gateway_manifest(81)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")


def test_without_the_peering_crd_it_waits_unready_then_starts_when_it_is_applied(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    with without_crd(cluster.real.client, KOPF_PEERINGS) as restore:
        operator = cluster.start_operator(*FAST_CHECKS, standalone=False, ready=False)
        cluster.wait(lambda: failed(operator, "crd:kopfpeerings") == 1, "the failed check")
        status, text = readiness(operator)
        assert status == 503
        assert "does not serve KopfPeering (kopf.dev/v1)" in text
        assert FIX in text
        assert state(operator) == "paused"
        assert any("does not serve KopfPeering" in w for w in warnings(operator))
        restore()
        # The CRD is back; the peering object it held went with it: the operator makes its own.
        cluster.wait(lambda: readiness(operator)[0] == 200, "the operator to be ready")
    assert failed(operator, "crd:kopfpeerings") == 0
    assert state(operator) == "active"
    assert cluster.kube.get("kopfpeerings", "kura", OPERATOR_ACCOUNT) is not None
    reconciles_a_gateway(cluster)


def test_a_missing_peering_object_is_created_by_the_operator(cluster: Cluster) -> None:
    assert cluster.kube.get("kopfpeerings", "kura", OPERATOR_ACCOUNT) is None
    operator = cluster.start_operator(*FAST_CHECKS, standalone=False)
    assert readiness(operator) == (200, "ready\n")
    assert cluster.kube.get("kopfpeerings", "kura", OPERATOR_ACCOUNT) is not None
    reconciles_a_gateway(cluster)


def test_a_peering_object_it_may_not_create_is_said_every_interval_until_it_exists(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)

    def no_create(rule: dict[str, Any]) -> dict[str, Any]:
        if "kopfpeerings" in rule["resources"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != "create"]
        return rule

    without_rule(cluster, no_create)
    operator = cluster.start_operator(*FAST_CHECKS, standalone=False, ready=False)
    cluster.wait(lambda: failed(operator, "peering-object") == 1, "the failed check")
    status, text = readiness(operator)
    assert status == 503
    assert "does not exist and the operator may not create it" in text
    cluster.wait(
        lambda: sum("may not create it" in w for w in warnings(operator)) >= 2,
        "the warning, again at the next self-check",
    )
    # An admin applies the deploy base's peering object: the operator starts on its own.
    cluster.kube.put_object(find(render(), "KopfPeering", OPERATOR_ACCOUNT))
    cluster.wait(lambda: readiness(operator)[0] == 200, "the operator to be ready")
    assert failed(operator, "peering-object") == 0
    reconciles_a_gateway(cluster)


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
    status, text = readiness(operator)
    assert status == 503
    assert (
        "not ready: the operator's ServiceAccount may not patch "
        f"kura.tuist.dev/kuragateways/status in its namespace: {FIX}"
    ) in text
    assert any("may not patch kura.tuist.dev/kuragateways/status" in w for w in warnings(operator))
    # Not blocking: the operator runs, and the rest of its work is done.
    assert state(operator) == "active"
    restore()
    cluster.wait(lambda: readiness(operator)[0] == 200, "the operator to be ready")
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
            cluster.wait(lambda: readiness(operator)[0] == 200, "the operator to be ready")
            return
        cluster.wait(lambda: failed(operator, "crd:certificates") == 1, "the failed check")
        status, text = readiness(operator)
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
    cluster.wait(lambda: readiness(operator)[0] == 200, "the operator to be ready")


def test_a_standby_operator_says_who_holds_the_peering(cluster: Cluster) -> None:
    active = cluster.start_operator(*FAST_CHECKS, "--priority", "10", standalone=False)
    standby = cluster.start_operator(*FAST_CHECKS, standalone=False)
    cluster.wait(lambda: readiness(standby)[1].startswith("standby: "), "the standby answer")
    status, text = readiness(standby)
    assert status == 200
    assert "(priority 10) holds the peering kura-operator" in text
    assert state(standby) == "standby"
    assert state(active) == "active"
    assert readiness(active) == (200, "ready\n")
    holds = [r["message"] for r in standby.logs() if r["message"].startswith("standby: ")]
    assert holds
    assert "(priority 10) holds the peering kura-operator" in holds[0]
    # The active one serves; the standby one writes nothing about the gateway.
    reconciles_a_gateway(cluster)
    assert standby.metric("kura_operator_reconciles_total", kind="KuraGateway", result="ok") == 0
