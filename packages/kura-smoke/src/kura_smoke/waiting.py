"""Step 3: wait, within bounded timeouts, until the operator has done its part.

Each wait polls one reading (see :mod:`kura_smoke.cluster_state`) until it holds or the deadline
passes; the last state seen is what a timeout reports, so "never Ready" says where it stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kura_core import GATEWAY_ANNOTATION
from kura_smoke.cluster_state import Reading, load_balancer_address, resource_ready
from kura_smoke.kube import (
    INGRESS,
    INGRESS_CLASS,
    KURA_GATEWAY,
    KURA_INSTANCE,
    SERVICE,
    KubeClient,
    KubeError,
)
from kura_smoke.progress import Silent, View
from kura_smoke.provision import SmokeAccount
from kura_smoke.report import StepFailure


@dataclass
class Poller:
    """Polls a reading every ``interval`` seconds for at most ``timeout`` seconds."""

    timeout: float
    interval: float
    view: View = field(default_factory=Silent)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, label: str, check: Callable[[], Reading]) -> Reading:
        """The first reading that holds, or the last one when the deadline passed."""
        deadline = self.clock() + self.timeout
        with self.view.task(label) as task:
            while True:
                try:
                    reading = check()
                except KubeError as exc:
                    reading = Reading(False, f"API error: {exc}")
                task.describe(reading.state)
                if reading.ok or self.clock() >= deadline:
                    return reading
                self.sleep(min(self.interval, max(0.0, deadline - self.clock())))


def _never(what: str, expected: str, reading: Reading, timeout: float, cause: str) -> StepFailure:
    return StepFailure(
        f"{what} within {timeout:g}s",
        expected=expected,
        got=f"last seen: {reading.state}",
        cause=cause,
    )


def wait_gateway(kube: KubeClient, smoke: SmokeAccount, namespace: str, poller: Poller) -> str:
    """Dedicated mode: the KuraGateway is Ready with an LB address; returns that address."""
    gateway = smoke.assignment.gateway
    if gateway is None:
        raise ValueError("a shared assignment has no gateway to wait for")
    found: dict[str, str] = {}

    def check() -> Reading:
        obj = kube.get(KURA_GATEWAY, namespace, gateway)
        ready = resource_ready(obj)
        status = (obj or {}).get("status") or {}
        address = str(status.get("loadBalancer") or "")
        if not ready.ok or not address:
            return Reading(False, f"{ready.state}, loadBalancer={address or 'none'}")
        service_name = str(status.get("serviceName") or f"{gateway}-controller")
        if not load_balancer_address(kube.get(SERVICE, namespace, service_name)):
            return Reading(False, f"Service {service_name} has no load-balancer ingress")
        ingress_class = str(status.get("ingressClassName") or smoke.assignment.ingress_class)
        if kube.get(INGRESS_CLASS, None, ingress_class) is None:
            return Reading(False, f"IngressClass {ingress_class} does not exist")
        found["address"] = address
        return Reading(True, f"Ready, loadBalancer={address}, IngressClass {ingress_class}")

    reading = poller.until(f"KuraGateway {gateway}", check)
    if not reading.ok:
        raise _never(
            f"KuraGateway {namespace}/{gateway} did not become Ready",
            "phase Ready, a load-balancer address, its Service's LB ingress and its IngressClass",
            reading,
            poller.timeout,
            "the gateway's controller pods or load balancer are not coming up (operator logs, "
            "events on the KuraGateway, LB quota)",
        )
    return found["address"]


def wait_instance(kube: KubeClient, smoke: SmokeAccount, namespace: str, poller: Poller) -> str:
    reading = poller.until(
        f"KuraInstance {smoke.instance}",
        lambda: resource_ready(kube.get(KURA_INSTANCE, namespace, smoke.instance)),
    )
    if not reading.ok:
        raise _never(
            f"KuraInstance {namespace}/{smoke.instance} did not become Ready",
            "phase Ready",
            reading,
            poller.timeout,
            "the Kura pods are not ready (scheduling on the region's pool, image pull, volumes)",
        )
    return f"KuraInstance {smoke.instance} is {reading.state}"


def ingress_reading(
    ingress: dict[str, object] | None, instance: dict[str, object] | None, smoke: SmokeAccount
) -> Reading:
    """The Ingress uses the class policy expects; the gateway annotation is set iff dedicated."""
    if ingress is None:
        return Reading(False, f"Ingress {smoke.instance} not found")
    spec = ingress.get("spec")
    actual = spec.get("ingressClassName") if isinstance(spec, dict) else None
    expected = smoke.assignment.ingress_class
    if actual != expected:
        return Reading(False, f"Ingress class is {actual!r}, policy expects {expected!r}")
    metadata = (instance or {}).get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    annotation = (annotations or {}).get(GATEWAY_ANNOTATION)
    if annotation != smoke.assignment.gateway:
        wanted = smoke.assignment.gateway or "absent"
        return Reading(False, f"annotation {GATEWAY_ANNOTATION} is {annotation!r}, want {wanted}")
    shown = f", {GATEWAY_ANNOTATION}={annotation}" if annotation else ", no gateway annotation"
    return Reading(True, f"Ingress {smoke.instance} uses class {actual}{shown}")


def wait_ingress(kube: KubeClient, smoke: SmokeAccount, namespace: str, poller: Poller) -> str:
    reading = poller.until(
        f"Ingress {smoke.instance}",
        lambda: ingress_reading(
            kube.get(INGRESS, namespace, smoke.instance),
            kube.get(KURA_INSTANCE, namespace, smoke.instance),
            smoke,
        ),
    )
    if not reading.ok:
        raise _never(
            f"Ingress {namespace}/{smoke.instance} is not routed as policy says",
            f"class {smoke.assignment.ingress_class}, gateway annotation "
            f"{smoke.assignment.gateway or 'absent'}",
            reading,
            poller.timeout,
            "the instance was applied with another gateway assignment, or the operator has "
            "not reconciled it yet",
        )
    return reading.state
