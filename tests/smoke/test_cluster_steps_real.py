"""``kura smoke run`` on the real control plane, with the real operator reconciling what it applies.

The platform is seeded as the platform chart leaves it (the region's shared gateway in namespace
``platform`` with its IngressClass and LoadBalancer address, the operator's deploy base, the
shared Secret); the real ``kura-operator`` runs as its ServiceAccount in namespace ``kura``; a
thread plays the kubelet for every pod and the cloud controller for LoadBalancer Services. The
endpoint steps go through the test bed's nginx, pinned with ``--resolve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kura_smoke.cluster_state import deployment_rollout, load_balancer_address
from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_testing.client import KubeClient, wait_for
from kura_testing.control_plane import ControlPlane
from kura_testing.kubelet import report_pods
from tests.operator.harness import OPERATOR
from tests.smoke.conftest import InvokeKura
from tests.smoke.smoke_support import events, statuses
from tests.smoke.test_cluster_steps import ALL_PASSED, REGIONAL_GATEWAY

pytestmark = pytest.mark.e2e

NS = "kura"
PLATFORM = "platform"
SEEDER = "kura-tests"
# Real controllers take their time: wait like a deploy pipeline would, poll often.
WAITS = ["--interval", "0.2", "--wait-timeout", "90", "--ready-timeout", "2", "--timeout", "5"]


def seed_platform(admin: KubeClient, bed: TestBed) -> None:
    labels = {"app.kubernetes.io/name": "ingress-nginx"}
    for obj in (
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": bed.region.ingress_class_name},
            "spec": {"controller": f"k8s.io/{bed.region.ingress_class_name}-ingress-nginx"},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PLATFORM}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": REGIONAL_GATEWAY, "namespace": PLATFORM},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "controller", "image": "ingress-nginx"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": REGIONAL_GATEWAY, "namespace": PLATFORM},
            "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"port": 443}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kura-shared-secrets", "namespace": NS},
            "type": "Opaque",
        },
    ):
        admin.apply(obj, field_manager=SEEDER)


def play_cloud_and_kubelet(admin: KubeClient, bed: TestBed, stop: threading.Event) -> None:
    """Every pod Running and Ready; every LoadBalancer Service an address: the regional one the
    bed's regional address, the rest (dedicated gateways) its dedicated one."""
    while not stop.is_set():
        for namespace in (NS, PLATFORM):
            report_pods(admin, namespace, "")
            for service in admin.list("services", namespace):
                spec, status = service["spec"], service.get("status") or {}
                if spec.get("type") != "LoadBalancer" or status.get("loadBalancer", {}).get(
                    "ingress"
                ):
                    continue
                regional = service["metadata"]["name"] == REGIONAL_GATEWAY
                address = bed.address(Mode.REGIONAL if regional else Mode.DEDICATED)
                admin.merge_patch(
                    "services",
                    namespace,
                    service["metadata"]["name"],
                    {"status": {"loadBalancer": {"ingress": [{"ip": address}]}}},
                    status=True,
                )
        stop.wait(0.2)


@contextmanager
def running_operator(plane: ControlPlane, workdir: Path, *extra: str) -> Iterator[None]:
    """The operator as its ServiceAccount in namespace ``kura``; ``extra`` are more options."""
    token = plane.admin.create_token(NS, "kura-operator")
    kubeconfig = plane.write_kubeconfig(workdir / "operator.kubeconfig", token=token, namespace=NS)
    log = (workdir / "operator.log").open("wb")
    process = subprocess.Popen(
        [str(OPERATOR), "--leader-elect=false", "--namespace", NS, "--health-port", "0",
         "--metrics-port", "0", "--resync", "2", *extra],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def platform_ready(admin: KubeClient) -> bool:
    gateway = admin.get("deployments", PLATFORM, REGIONAL_GATEWAY) or {}
    operator = admin.get("deployments", NS, "kura-operator") or {}
    service = admin.get("services", PLATFORM, REGIONAL_GATEWAY) or {}
    return bool(
        deployment_rollout(gateway).ok
        and deployment_rollout(operator).ok
        and load_balancer_address(service)
    )


def admin_wait_empty(admin: KubeClient) -> None:
    wait_for(
        lambda: not admin.list("kuragateways", NS) and not admin.list("kurainstances", NS),
        "the smoke's objects to go",
        60,
    )


def clean_up(admin: KubeClient, bed: TestBed) -> None:
    admin.delete("namespaces", None, PLATFORM)
    # The next test on this control plane seeds the platform again: not into a terminating one.
    wait_for(lambda: admin.get("namespaces", None, PLATFORM) is None, "the platform to go", 60)
    admin.delete("ingressclasses", None, bed.region.ingress_class_name)
    admin.delete("secrets", NS, "kura-shared-secrets")


def test_provision_wait_roundtrip_and_clean_up_with_the_real_operator(
    kura: InvokeKura,
    bed: TestBed,
    operator_control_plane: ControlPlane,
    tmp_path: Path,
) -> None:
    plane = operator_control_plane
    admin = plane.admin
    seed_platform(admin, bed)
    kubeconfig = plane.write_kubeconfig(tmp_path / "admin.kubeconfig")
    stop = threading.Event()
    player = threading.Thread(target=play_cloud_and_kubelet, args=(admin, bed, stop), daemon=True)
    player.start()
    # As after a platform deploy: the smoke's platform step checks once, it does not wait.
    wait_for(lambda: platform_ready(admin), "the platform to be rolled out", 60)
    try:
        with running_operator(plane, tmp_path):
            result = kura(
                "smoke", "run", "--kubeconfig", str(kubeconfig), *bed.smoke_args(tuple(Mode)),
                *WAITS, "-o", "json",
            )  # fmt: skip
            # The smoke deleted what it made; the operator's finalizers let it go.
            admin_wait_empty(admin)
            leftovers: dict[str, list[Any]] = {
                plural: admin.list(plural, NS) for plural in ("kuragateways", "kurainstances")
            }
    finally:
        stop.set()
        player.join(10)
        clean_up(admin, bed)
    log = (tmp_path / "operator.log").read_text()[-3000:]
    assert result.exit_code == 0, f"{result.output}\n--- operator ---\n{log}"
    found = events(result)
    assert statuses(found, "regional") == {**ALL_PASSED, "wait-gateway": "skipped"}
    assert statuses(found, "dedicated") == {**ALL_PASSED, "wait-gateway": "passed"}
    assert leftovers == {"kuragateways": [], "kurainstances": []}


def test_a_customer_instance_is_refused_and_left_untouched(
    kura: InvokeKura, operator_control_plane: ControlPlane, tmp_path: Path
) -> None:
    plane = operator_control_plane
    admin = plane.admin
    rendered = kura(
        "render", "--account-id", "4242", "--handle", "acme", "--plan", "air",
        "--region", "eu-central", "-o", "json",
    )  # fmt: skip
    assert rendered.exit_code == 0, rendered.output
    (customer,) = json.loads(rendered.stdout)
    name = customer["metadata"]["name"]
    instance = admin.create(customer)
    labels = {"app.kubernetes.io/instance": name}
    # The customer's cache: its volumes go with the StatefulSet (retention policy Delete).
    statefulset = admin.create(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": name,
                "namespace": NS,
                "ownerReferences": [
                    {
                        "apiVersion": customer["apiVersion"],
                        "kind": "KuraInstance",
                        "name": name,
                        "uid": instance["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "serviceName": name,
                "selector": {"matchLabels": labels},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "kura", "image": "kura"}]},
                },
            },
        }
    )
    try:
        result = kura(
            "smoke", "run", "--mode", "regional", "--region", "eu-central",
            "--regional-account", "acme", "--regional-account-id", "4242",
            "--kubeconfig", str(plane.write_kubeconfig(tmp_path / "admin.kubeconfig")),
            "-o", "json", *WAITS, env={"KURA_SMOKE_TOKEN": "t"},
        )  # fmt: skip
        after = admin.get("kurainstances", NS, name)
        statefulset_after = admin.get("statefulsets", NS, name)
    finally:
        admin.delete("kurainstances", NS, name)
        admin.delete("statefulsets", NS, name)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert f"KuraInstance kura/{name} exists and is not a smoke object" in line
    assert after is not None
    assert after["metadata"]["resourceVersion"] == instance["metadata"]["resourceVersion"]
    assert after["metadata"]["uid"] == instance["metadata"]["uid"]
    assert statefulset_after is not None
    assert statefulset_after["metadata"]["uid"] == statefulset["metadata"]["uid"]
