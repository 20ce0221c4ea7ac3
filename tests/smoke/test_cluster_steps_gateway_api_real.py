"""``kura smoke run`` on a ``gateway-api`` region, on the real control plane with the real operator.

The catalog moves the test bed's region to the Gateway API; the control plane serves the official
Gateway API CRDs and Envoy Gateway's. The platform is seeded as the platform chart leaves such a
region: the provider's shared-gateway block (GatewayClass, EnvoyProxy, ClientTrafficPolicy,
Gateway, redirect) in namespace ``platform``, and the operator's deploy base with the
``gateway-api`` component's grants. The real ``kura-operator`` runs as its ServiceAccount; a
thread plays the kubelet for every pod and Envoy Gateway for every Gateway (Accepted,
Programmed, an address). Envoy itself cannot run here: the endpoint steps go through the test
bed's nginx, standing in for it, pinned with ``--resolve``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from kura_core.plugins import PluginHost
from kura_smoke.cluster_state import deployment_rollout
from kura_smoke.gateway_api_state import gateway_reading
from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_testing.client import KubeClient, wait_for
from kura_testing.control_plane import ControlPlane
from kura_testing.kubelet import report_pods
from tests.operator.deploy_base import DEPLOY
from tests.smoke.conftest import InvokeKura
from tests.smoke.smoke_support import events, statuses, step
from tests.smoke.test_cluster_steps import ALL_PASSED
from tests.smoke.test_cluster_steps_gateway_api import SHARED_GATEWAY, gateway_api_catalog, taken
from tests.smoke.test_cluster_steps_real import (
    NS,
    PLATFORM,
    SEEDER,
    WAITS,
    admin_wait_empty,
    running_operator,
)

pytestmark = pytest.mark.e2e

COMPONENT_RBAC = DEPLOY / "components" / "gateway-api" / "rbac.yaml"
ROUTES = ("listenersets", "httproutes", "grpcroutes")


def platform_objects(plugin_host: PluginHost, bed: TestBed) -> list[dict[str, Any]]:
    """The shared gateway block ``kura gateway values`` renders for the gateway-api region."""
    region = bed.region.model_copy(update={"ingress_provider": "gateway-api"})
    provider = plugin_host.ingress_provider("gateway-api")
    load_balancer = plugin_host.load_balancer_provider(region.load_balancer_provider)
    values = provider.shared_gateway_values(region, load_balancer=load_balancer)
    (block,) = values.values()
    return list(block["objects"])


def seed_platform(admin: KubeClient, objects: list[dict[str, Any]]) -> None:
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PLATFORM}},
                field_manager=SEEDER)  # fmt: skip
    for grant in yaml.safe_load_all(COMPONENT_RBAC.read_text()):
        admin.apply(grant, field_manager=SEEDER)
    admin.apply_all(objects, field_manager=SEEDER)
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kura-shared-secrets", "namespace": NS},
            "type": "Opaque",
        },
        field_manager=SEEDER,
    )


def program(admin: KubeClient, gateway: dict[str, Any], address: str) -> None:
    """What Envoy Gateway does with a Gateway of its class: accepts, programs, addresses it."""
    metadata = gateway["metadata"]
    conditions = [
        {
            "type": kind,
            "status": "True",
            "reason": kind,
            "message": "Valid Gateway" if kind == "Accepted" else "Address assigned",
            "observedGeneration": metadata["generation"],
            "lastTransitionTime": "2026-12-06T08:00:00Z",
        }
        for kind in ("Accepted", "Programmed")
    ]
    admin.merge_patch(
        "gateways",
        metadata["namespace"],
        metadata["name"],
        {"status": {"conditions": conditions, "addresses": [{"type": "IPAddress",
                                                              "value": address}]}},
        status=True,
    )  # fmt: skip


def play_envoy_gateway_and_kubelet(admin: KubeClient, bed: TestBed, stop: threading.Event) -> None:
    """Every pod Running and Ready; every Gateway programmed: the shared one at the bed's
    regional address, the rest (dedicated) at its dedicated one."""
    while not stop.is_set():
        for namespace in (NS, PLATFORM):
            report_pods(admin, namespace, "")
            for gateway in admin.list("gateways", namespace):
                if gateway_reading(gateway).ok:
                    continue
                shared = namespace == PLATFORM and gateway["metadata"]["name"] == SHARED_GATEWAY
                program(admin, gateway, bed.address(Mode.REGIONAL if shared else Mode.DEDICATED))
            for plural in ROUTES:
                for obj in admin.list(plural, namespace):
                    if not _taken(obj):
                        name = obj["metadata"]["name"]
                        status = {"status": taken(obj)}
                        admin.merge_patch(plural, namespace, name, status, status=True)
        stop.wait(0.2)


def _taken(obj: dict[str, Any]) -> bool:
    """Whether Envoy Gateway's status for this generation is there already."""
    status = obj.get("status") or {}
    generation = obj["metadata"]["generation"]
    conditions = status.get("conditions") or [
        condition for parent in status.get("parents") or [] for condition in parent["conditions"]
    ]
    return any(
        c["type"] == "Accepted" and c["status"] == "True" and c["observedGeneration"] == generation
        for c in conditions
    )


def platform_ready(admin: KubeClient) -> bool:
    operator = admin.get("deployments", NS, "kura-operator") or {}
    shared = admin.get("gateways", PLATFORM, SHARED_GATEWAY)
    return deployment_rollout(operator).ok and gateway_reading(shared).ok


def clean_up(admin: KubeClient, objects: list[dict[str, Any]]) -> None:
    admin.delete("namespaces", None, PLATFORM)
    # The next test on this control plane seeds the platform again: not into a terminating one.
    wait_for(lambda: admin.get("namespaces", None, PLATFORM) is None, "the platform to go", 60)
    for obj in objects:
        if obj["kind"] == "GatewayClass":
            admin.delete("gatewayclasses", None, obj["metadata"]["name"])
    for grant in yaml.safe_load_all(COMPONENT_RBAC.read_text()):
        plural = "roles" if grant["kind"] == "Role" else "rolebindings"
        admin.delete(plural, NS, grant["metadata"]["name"])
    admin.delete("secrets", NS, "kura-shared-secrets")


def test_a_gateway_api_region_passes_the_cluster_steps_with_the_real_operator(
    kura: InvokeKura,
    plugin_host: PluginHost,
    bed: TestBed,
    operator_control_plane: ControlPlane,
    tmp_path: Path,
) -> None:
    plane = operator_control_plane
    admin = plane.admin
    catalog = gateway_api_catalog(plugin_host, bed, tmp_path)
    objects = platform_objects(plugin_host, bed)
    seed_platform(admin, objects)
    kubeconfig = plane.write_kubeconfig(tmp_path / "admin.kubeconfig")
    stop = threading.Event()
    player = threading.Thread(
        target=play_envoy_gateway_and_kubelet, args=(admin, bed, stop), daemon=True
    )
    player.start()
    wait_for(lambda: platform_ready(admin), "the platform to be rolled out", 60)
    routed: dict[str, list[dict[str, Any]]] = {}
    try:
        options = ("--catalog", str(catalog), "--env", bed.settings.env)
        with running_operator(plane, tmp_path, *options):
            result = kura(
                "--catalog", str(catalog), "smoke", "run", "--kubeconfig", str(kubeconfig),
                *bed.smoke_args(tuple(Mode)), *WAITS, "-o", "json",
            )  # fmt: skip
            admin_wait_empty(admin)
            # The operator's children go with their owners (the garbage collector's work).
            wait_for(
                lambda: not any(admin.list(plural, NS) for plural in ("gateways", *ROUTES)),
                "the smoke's Gateway API objects to go",
                60,
            )
            routed = {plural: admin.list(plural, NS) for plural in ("gateways", *ROUTES)}
    finally:
        stop.set()
        player.join(10)
        clean_up(admin, objects)
    log = (tmp_path / "operator.log").read_text()[-3000:]
    assert result.exit_code == 0, f"{result.output}\n--- operator ---\n{log}"
    found = events(result)
    assert statuses(found, "regional") == {**ALL_PASSED, "wait-gateway": "skipped"}
    assert statuses(found, "dedicated") == {**ALL_PASSED, "wait-gateway": "passed"}
    regional, dedicated = bed.accounts[Mode.REGIONAL], bed.accounts[Mode.DEDICATED]
    assert (
        f"regional Gateway platform/{SHARED_GATEWAY} of class {SHARED_GATEWAY} programmed at"
        in (step(found, "regional", "platform")["message"])
    )
    # The operator's ListenerSet on the platform's shared Gateway, its routes on the ListenerSet.
    assert step(found, "regional", "wait-ingress")["message"] == (
        f"ListenerSet Accepted and Programmed on Gateway platform/{SHARED_GATEWAY}; "
        f"HTTPRoute {regional.instance}, GRPCRoute {regional.instance}-grpc, "
        "no gateway annotation"
    )
    dedicated_class = dedicated.assignment.ingress_class
    assert step(found, "dedicated", "wait-gateway")["message"] == (
        f"KuraGateway {dedicated.assignment.gateway} Ready at {bed.address(Mode.DEDICATED)}"
    )
    assert step(found, "dedicated", "wait-ingress")["message"] == (
        f"ListenerSet Accepted and Programmed on Gateway {NS}/{dedicated_class}; "
        f"HTTPRoute {dedicated.instance}, GRPCRoute {dedicated.instance}-grpc, "
        f"tuist.dev/kura-gateway={dedicated.assignment.gateway}"
    )
    assert routed == {"gateways": [], "listenersets": [], "httproutes": [], "grpcroutes": []}
