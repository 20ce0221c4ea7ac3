"""Step 3: wait, within bounded timeouts, until the operator has done its part.

Each wait polls one reading (see :mod:`kura_smoke.cluster_state`) until it holds or the deadline
passes; the last state seen is what a timeout reports, so "never Ready" says where it stuck.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kura_core import KURA_GATEWAY, KURA_INSTANCE
from kura_kube import KubeError
from kura_kube.client import KubeClient
from kura_smoke.cluster_state import Reading, resource_ready
from kura_smoke.kube import ObjectRef
from kura_smoke.progress import Silent, View
from kura_smoke.provision import SmokeAccount
from kura_smoke.report import StepFailure
from kura_smoke.routing import Routing


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


def wait_gateway(
    kube: KubeClient, smoke: SmokeAccount, namespace: str, poller: Poller, routing: Routing
) -> str:
    """Dedicated mode: the KuraGateway is Ready with an LB address, and what its provider made
    serves (:meth:`Routing.dedicated_gateway`); returns that address."""
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
        made = routing.dedicated_gateway(kube, smoke, namespace, status)
        if not made.ok:
            return made
        found["address"] = address
        return Reading(True, f"Ready, loadBalancer={address}, {made.state}")

    reading = poller.until(f"KuraGateway {gateway}", check)
    if not reading.ok:
        raise _never(
            f"KuraGateway {namespace}/{gateway} did not become Ready",
            f"phase Ready, a load-balancer address, {routing.dedicated_expectation}",
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


def assigned_gateway(smoke: SmokeAccount, namespace: str, regional: ObjectRef) -> ObjectRef:
    """The gateway policy routes the account through: its own, named after its class, in the
    smoke's namespace; else the region's shared one, which the platform step checked."""
    if smoke.assignment.dedicated:
        return ObjectRef(namespace=namespace, name=smoke.assignment.ingress_class)
    return regional


def wait_routes(
    kube: KubeClient,
    smoke: SmokeAccount,
    namespace: str,
    poller: Poller,
    routing: Routing,
    *,
    regional: ObjectRef,
) -> str:
    """The instance is routed through the gateway policy assigned, as its provider routes."""
    parent = assigned_gateway(smoke, namespace, regional)
    reading = poller.until(
        routing.route_label(smoke),
        lambda: routing.instance_routes(kube, smoke, namespace, parent),
    )
    if not reading.ok:
        raise _never(
            f"{routing.route_label(smoke)} in {namespace} is not routed as policy says",
            routing.route_expectation(smoke, parent),
            reading,
            poller.timeout,
            "the instance was applied with another gateway assignment, or the operator has "
            "not reconciled it yet",
        )
    return reading.state
