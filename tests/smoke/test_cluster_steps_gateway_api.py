"""The cluster steps for a region on the ``gateway-api`` provider, against the Kubernetes double.

The catalog moves the test bed's region to the Gateway API. A thread plays the operator with the
``gateway-api`` provider's own rendering of what the smoke applied, and Envoy Gateway by
programming the Gateways, as each test says; the faults (a Gateway never programmed, a
ListenerSet on another Gateway, a route refused) are what the double is for. The endpoint steps
go through the test bed's nginx, standing in for Envoy, pinned with ``--resolve``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from kura_core import KuraGateway, KuraInstance
from kura_core.plugins import PluginHost
from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_testing.kube_double import KubeDouble
from tests.smoke.conftest import InvokeKura
from tests.smoke.smoke_support import FAST, events, statuses, step
from tests.smoke.test_cluster_steps import ALL_PASSED, NS, deployment

GATEWAY_API = "gateway.networking.k8s.io"
ROUTED = frozenset({"Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute"})
SHARED_GATEWAY = "kura-eu-central"


def gateway_api_catalog(plugin_host: PluginHost, bed: TestBed, directory: Path) -> Path:
    """The bed's env with its region, and only that region, on the ``gateway-api`` provider."""
    region = bed.region.model_dump(mode="json", exclude_defaults=True)
    catalog = directory / "catalog.yaml"
    catalog.write_text(
        yaml.safe_dump(
            {"environments": {bed.settings.env: [{**region, "ingress_provider": "gateway-api"}]}}
        )
    )
    return catalog


def serve_gateway_api(kube: KubeDouble) -> None:
    for plural, kind in (
        ("gateways", "Gateway"),
        ("listenersets", "ListenerSet"),
        ("httproutes", "HTTPRoute"),
        ("grpcroutes", "GRPCRoute"),
    ):
        kube.add_resource(GATEWAY_API, "v1", plural, kind)


def programmed(address: str, *, generation: int = 1, ok: bool = True) -> dict[str, Any]:
    """A Gateway's status as Envoy Gateway writes it."""
    return {
        "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Accepted"},
            {
                "type": "Programmed",
                "status": "True" if ok else "False",
                "reason": "Programmed" if ok else "AddressNotAssigned",
                "observedGeneration": generation,
            },
        ],
        "addresses": [{"type": "IPAddress", "value": address}] if ok else [],
    }


ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


def taken(obj: dict[str, Any]) -> dict[str, Any]:
    """The status Envoy Gateway writes on a ListenerSet (Accepted, Programmed) or a route it
    accepted (one Accepted entry per parentRef), at the object's generation."""
    generation = obj["metadata"].get("generation", 1)

    def condition(kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": "True",
            "reason": kind,
            "message": kind,
            "observedGeneration": generation,
            "lastTransitionTime": "2026-12-06T08:00:00Z",
        }

    if obj["kind"] == "ListenerSet":
        return {"conditions": [condition("Accepted"), condition("Programmed")]}
    return {
        "parents": [
            {
                "parentRef": ref,
                "controllerName": ENVOY_GATEWAY_CONTROLLER,
                "conditions": [condition("Accepted"), condition("ResolvedRefs")],
            }
            for ref in obj["spec"]["parentRefs"]
        ]
    }


def seed_platform(
    kube: KubeDouble,
    bed: TestBed,
    *,
    shared: dict[str, Any] | None = None,
    gateway_class: str = SHARED_GATEWAY,
) -> None:
    """As the platform chart leaves a gateway-api region: the shared Gateway, no ingress-nginx."""
    serve_gateway_api(kube)
    kube.put_object(
        {
            "apiVersion": f"{GATEWAY_API}/v1",
            "kind": "Gateway",
            "metadata": {"name": SHARED_GATEWAY, "namespace": "platform"},
            "spec": {"gatewayClassName": gateway_class, "listeners": []},
        }
    )
    status = shared if shared is not None else programmed(bed.address(Mode.REGIONAL))
    kube.patch_status("gateways", "platform", SHARED_GATEWAY, status)
    kube.put_object(deployment(NS, "kura-operator", 1, 1))
    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kura-shared-secrets", "namespace": NS},
            "type": "Opaque",
        }
    )


Edit = Callable[[dict[str, Any]], dict[str, Any]]


@contextmanager
def operator(
    kube: KubeDouble,
    plugin_host: PluginHost,
    bed: TestBed,
    modes: tuple[Mode, ...],
    *,
    program: bool = True,
    edit: Edit = lambda obj: obj,
) -> Iterator[None]:
    """Once the smoke applied an account's objects: the provider's Gateway, ListenerSet and
    routes (each through ``edit``), the Gateway programmed unless ``program`` is False, and the
    statuses the operator would write."""
    provider = plugin_host.ingress_provider("gateway-api")
    region = bed.region
    load_balancer = plugin_host.load_balancer_provider(region.load_balancer_provider)

    def applied(instance: str) -> Callable[[], bool]:
        return lambda: kube.get("kurainstances", NS, instance) is not None

    def serve(mode: Mode) -> None:
        smoke = bed.accounts[mode]
        gateway = smoke.assignment.gateway
        objects: list[dict[str, Any]] = []
        if gateway is not None:
            live = KuraGateway.model_validate(kube.get("kuragateways", NS, gateway))
            objects += provider.render_gateway(live, region=region, load_balancer=load_balancer)
        instance = KuraInstance.model_validate(kube.get("kurainstances", NS, smoke.instance))
        objects += provider.render_instance_ingress(instance)
        for obj in objects:
            if obj["kind"] in ROUTED:
                status = {} if obj["kind"] == "Gateway" else {"status": taken(obj)}
                kube.put_object(edit({**obj, **status}))
        if gateway is not None:
            address = bed.address(Mode.DEDICATED)
            name = smoke.assignment.ingress_class
            kube.patch_status("gateways", NS, name, programmed(address, ok=program))
            if program:
                kube.patch_status(
                    "kuragateways",
                    NS,
                    gateway,
                    {"phase": "Ready", "loadBalancer": address, "ingressClassName": name},
                )
        kube.patch_status("kurainstances", NS, smoke.instance, {"phase": "Ready"})

    def work() -> None:
        for mode in modes:
            if not kube.wait_until(applied(bed.accounts[mode].instance), timeout=20):
                return
            serve(mode)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    thread.join(timeout=30)


def run(
    kura: InvokeKura,
    bed: TestBed,
    catalog: Path,
    kubeconfig: Path,
    *extra: str,
    modes: tuple[Mode, ...] = tuple(Mode),
) -> Result:
    return kura(
        "--catalog", str(catalog), "smoke", "run", "--kubeconfig", str(kubeconfig),
        *bed.smoke_args(modes), *FAST, "-o", "json", *extra,
    )  # fmt: skip


@pytest.fixture
def catalog(plugin_host: PluginHost, bed: TestBed, tmp_path: Path) -> Path:
    return gateway_api_catalog(plugin_host, bed, tmp_path)


def test_both_modes_pass_on_the_gateway_api_objects(
    kura: InvokeKura,
    plugin_host: PluginHost,
    bed: TestBed,
    kube: KubeDouble,
    catalog: Path,
    tmp_path: Path,
) -> None:
    seed_platform(kube, bed)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    with operator(kube, plugin_host, bed, tuple(Mode)):
        result = run(kura, bed, catalog, kubeconfig, "--check-gateway-address")
    assert result.exit_code == 0, result.output
    found = events(result)
    assert statuses(found, "regional") == {**ALL_PASSED, "wait-gateway": "skipped"}
    assert statuses(found, "dedicated") == {**ALL_PASSED, "wait-gateway": "passed"}
    regional, dedicated = bed.accounts[Mode.REGIONAL], bed.accounts[Mode.DEDICATED]
    shown = f"regional Gateway platform/{SHARED_GATEWAY} of class {SHARED_GATEWAY}"
    assert f"{shown} programmed at 127.0.0.1" in step(found, "regional", "platform")["message"]
    assert step(found, "regional", "wait-ingress")["message"] == (
        f"ListenerSet Accepted and Programmed on Gateway platform/{SHARED_GATEWAY}; "
        f"HTTPRoute {regional.instance}, GRPCRoute {regional.instance}-grpc, "
        "no gateway annotation"
    )
    dedicated_class = dedicated.assignment.ingress_class
    assert step(found, "dedicated", "wait-gateway")["message"] == (
        f"KuraGateway {dedicated.assignment.gateway} Ready at {bed.address(Mode.DEDICATED)}"
    )
    assert step(found, "dedicated", "wait-ingress")["message"].startswith(
        f"ListenerSet Accepted and Programmed on Gateway kura/{dedicated_class}; "
    )
    assert "the gateway's address" in step(found, "dedicated", "dns")["message"]
    # Nothing of ingress-nginx was looked for.
    reads = {r.resource for r in kube.requests if r.method == "GET"}
    assert not reads & {"ingressclasses", "ingresses", "services"}
    assert kube.objects("kurainstances") == kube.objects("kuragateways") == []


def test_a_shared_gateway_not_programmed_fails_the_platform_check(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, catalog: Path, tmp_path: Path
) -> None:
    seed_platform(kube, bed, shared=programmed("", ok=False))
    result = run(kura, bed, catalog, kube.write_kubeconfig(tmp_path / "kc"), modes=(Mode.REGIONAL,))
    assert result.exit_code == 1
    found = events(result)
    platform = step(found, "regional", "platform")
    assert platform["message"] == f"the regional Gateway platform/{SHARED_GATEWAY} is not serving"
    assert platform["got"] == "not Programmed: AddressNotAssigned"
    assert step(found, "regional", "provision")["message"] == "not run: platform failed"
    assert kube.writes() == []


def test_a_shared_gateway_of_another_class_fails_the_platform_check(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, catalog: Path, tmp_path: Path
) -> None:
    seed_platform(kube, bed, gateway_class="kura-us-east")
    result = run(kura, bed, catalog, kube.write_kubeconfig(tmp_path / "kc"), modes=(Mode.REGIONAL,))
    assert result.exit_code == 1
    platform = step(events(result), "regional", "platform")
    assert platform["message"] == (
        f"the regional Gateway platform/{SHARED_GATEWAY} is of another class"
    )
    assert platform["got"] == "gatewayClassName 'kura-us-east'"
    assert kube.writes() == []


def test_a_dedicated_gateway_never_programmed_fails_the_wait_and_is_cleaned_up(
    kura: InvokeKura,
    plugin_host: PluginHost,
    bed: TestBed,
    kube: KubeDouble,
    catalog: Path,
    tmp_path: Path,
) -> None:
    seed_platform(kube, bed)
    modes = (Mode.DEDICATED,)
    with operator(kube, plugin_host, bed, modes, program=False):
        result = run(
            kura, bed, catalog, kube.write_kubeconfig(tmp_path / "kc"),
            "--wait-timeout", "0.5", modes=modes,
        )  # fmt: skip
    assert result.exit_code == 1
    found = events(result)
    wait = step(found, "dedicated", "wait-gateway")
    assert wait["status"] == "failed"
    assert "its Gateway Accepted and Programmed with an address" in wait["expected"]
    assert step(found, "dedicated", "ready")["message"] == "not run: wait-gateway failed"
    assert step(found, "dedicated", "cleanup")["status"] == "passed"
    assert kube.objects("kuragateways") == []


def on_another_gateway(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] != "ListenerSet":
        return obj
    spec = {**obj["spec"], "parentRef": {**obj["spec"]["parentRef"], "name": "kura-elsewhere"}}
    return {**obj, "spec": spec}


def refused_grpc_route(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] != "GRPCRoute":
        return obj
    parent = obj["spec"]["parentRefs"][0]
    condition = {"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners"}
    return {**obj, "status": {"parents": [{"parentRef": parent, "conditions": [condition]}]}}


@pytest.mark.parametrize(
    ("edit", "got"),
    [
        (
            on_another_gateway,
            "ListenerSet attaches to Gateway platform/kura-elsewhere, policy expects Gateway "
            f"platform/{SHARED_GATEWAY}",
        ),
        (
            refused_grpc_route,
            "GRPCRoute {instance}-grpc: GRPCRoute on ListenerSet kura/{instance} is not "
            "Accepted: NotAllowedByListeners",
        ),
    ],
)
def test_an_instance_not_routed_through_its_gateway_fails_the_route_wait(
    kura: InvokeKura,
    plugin_host: PluginHost,
    bed: TestBed,
    kube: KubeDouble,
    catalog: Path,
    tmp_path: Path,
    edit: Edit,
    got: str,
) -> None:
    seed_platform(kube, bed)
    modes = (Mode.REGIONAL,)
    instance = bed.accounts[Mode.REGIONAL].instance
    with operator(kube, plugin_host, bed, modes, edit=edit):
        result = run(
            kura, bed, catalog, kube.write_kubeconfig(tmp_path / "kc"),
            "--wait-timeout", "0.3", modes=modes,
        )  # fmt: skip
    assert result.exit_code == 1
    wait = step(events(result), "regional", "wait-ingress")
    assert wait["status"] == "failed"
    assert wait["message"] == (
        f"ListenerSet {instance} in kura is not routed as policy says within 0.3s"
    )
    assert wait["got"] == "last seen: " + got.format(instance=instance)
    assert step(events(result), "regional", "ready")["message"] == "not run: wait-ingress failed"
