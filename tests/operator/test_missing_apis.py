"""What the operator does when the cluster lacks an API it uses, on the real control plane.

Each test takes a CRD away from this worker's control plane and puts it back afterwards (tests
on one worker run one at a time).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from kura_testing.client import KubeClient, wait_for
from kura_testing.crds import kura_platform_crds
from tests.operator.conftest import REAL
from tests.operator.harness import OPERATOR, Cluster, instance_manifest
from tests.operator.real_cluster import RealCluster

pytestmark = REAL

KOPF_PEERINGS = "kopfpeerings.kopf.dev"
CERTIFICATES = "certificates.cert-manager.io"


@contextmanager
def without_crd(admin: KubeClient, name: str) -> Iterator[None]:
    (crd,) = [c for c in kura_platform_crds() if c["metadata"]["name"] == name]
    admin.delete("customresourcedefinitions", None, name)
    wait_for(
        lambda: admin.get("customresourcedefinitions", None, name) is None, f"{name} to go", 30
    )
    try:
        yield
    finally:
        admin.apply_all([crd], field_manager="kura-tests")


def test_peering_without_its_crd_stops_the_operator_with_one_line(cluster: Cluster) -> None:
    assert isinstance(cluster, RealCluster)
    with without_crd(cluster.real.client, KOPF_PEERINGS):
        answer = subprocess.run(
            [str(OPERATOR), "--namespace", cluster.operator_namespace, "--health-port", "0"],
            env={**os.environ, "KUBECONFIG": str(cluster.operator_kubeconfig())},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert answer.returncode == 1
    (line,) = [line for line in answer.stderr.splitlines() if "error" in line]
    assert line.startswith("kura-operator: error: peering is on (--peering kura-operator)")
    assert "does not serve KopfPeering (kopf.dev/v1)" in line
    assert "kubectl apply -k packages/kura-operator/deploy" in line


def test_without_cert_manager_an_instance_says_so_and_gets_everything_else(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    admin = cluster.real.client
    with without_crd(admin, CERTIFICATES):
        cluster.start_operator("--resync", "1")
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
        status = (cluster.instance(name) or {})["status"]
        assert status["phase"] == "Pending"
        assert status["message"].startswith(
            "this cluster does not serve Certificate (cert-manager.io/v1), so the public TLS "
            "certificates cannot be requested: install cert-manager"
        )
        (condition,) = status["conditions"]
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
