"""The smoke's readings of Gateway API objects, and the choice of checks by ingress provider."""

from __future__ import annotations

from typing import Any

import pytest

from kura_core import InputError, Region
from kura_smoke.gateway_api_state import gateway_reading, listener_set_reading, route_reading
from kura_smoke.kube import ObjectRef
from kura_smoke.routing import GatewayApi, IngressNginx, routing_for

PLATFORM_GATEWAY = ObjectRef(namespace="platform", name="kura-eu-central")
LISTENER_SET = ObjectRef(namespace="kura", name="acme-eu-central-1")


def condition(kind: str, status: str = "True", generation: int = 2, **extra: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "observedGeneration": generation, **extra}


def gateway(
    conditions: list[dict[str, Any]], addresses: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": "kura-eu-central", "namespace": "platform", "generation": 2},
        "status": {"conditions": conditions, "addresses": addresses or []},
    }


ADDRESS = [{"type": "IPAddress", "value": "203.0.113.9"}]


def test_a_programmed_gateway_with_an_address_is_ready() -> None:
    reading = gateway_reading(gateway([condition("Accepted"), condition("Programmed")], ADDRESS))
    assert reading == (True, "Accepted and Programmed at 203.0.113.9")


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        (None, "not found"),
        (gateway([], ADDRESS), "no current Accepted condition (the controller has not taken it)"),
        # A condition for an older generation describes a spec that is gone.
        (
            gateway([condition("Accepted"), condition("Programmed", generation=1)], ADDRESS),
            "no current Programmed condition (the controller has not taken it)",
        ),
        (
            gateway(
                [
                    condition("Accepted"),
                    condition("Programmed", "False", reason="AddressNotAssigned"),
                ],
                ADDRESS,
            ),
            "not Programmed: AddressNotAssigned",
        ),
        (
            gateway([condition("Accepted", "False", message="GatewayClass not found")], ADDRESS),
            "not Accepted: GatewayClass not found",
        ),
        (
            gateway([condition("Accepted"), condition("Programmed")]),
            "Programmed, but no address in status.addresses",
        ),
    ],
)
def test_a_gateway_not_serving_says_why(obj: dict[str, Any] | None, state: str) -> None:
    assert gateway_reading(obj) == (False, state)


def listener_set(parent: dict[str, Any], conditions: list[dict[str, Any]] | None = None) -> Any:
    return {
        "metadata": {"name": "acme-eu-central-1", "namespace": "kura", "generation": 2},
        "spec": {"parentRef": parent},
        "status": {"conditions": conditions or []},
    }


GATEWAY_REF = {
    "group": "gateway.networking.k8s.io",
    "kind": "Gateway",
    "name": "kura-eu-central",
    "namespace": "platform",
}


def test_a_listener_set_on_the_assigned_gateway_is_attached_once_programmed() -> None:
    accepted = listener_set(GATEWAY_REF, [condition("Accepted"), condition("Programmed")])
    assert listener_set_reading(accepted, PLATFORM_GATEWAY) == (
        True,
        "ListenerSet Accepted and Programmed on Gateway platform/kura-eu-central",
    )
    # What the CRD defaults a new ListenerSet's status to, until the controller writes it.
    waiting = [
        condition(kind, "Unknown", reason="Pending", message="Waiting for controller")
        for kind in ("Accepted", "Programmed")
    ]
    assert listener_set_reading(listener_set(GATEWAY_REF, waiting), PLATFORM_GATEWAY) == (
        False,
        "ListenerSet on Gateway platform/kura-eu-central: not Accepted: Waiting for controller",
    )
    assert listener_set_reading(listener_set(GATEWAY_REF), PLATFORM_GATEWAY) == (
        False,
        "ListenerSet on Gateway platform/kura-eu-central: no current Accepted condition (the "
        "controller has not taken it)",
    )


@pytest.mark.parametrize(
    ("parent", "shown"),
    [
        # No namespace: the ListenerSet's own, so not the platform's shared Gateway.
        ({"name": "kura-eu-central"}, "Gateway kura/kura-eu-central"),
        ({**GATEWAY_REF, "name": "kura-eu-central-acme"}, "Gateway platform/kura-eu-central-acme"),
        ({**GATEWAY_REF, "kind": "ListenerSet"}, "ListenerSet platform/kura-eu-central"),
    ],
)
def test_a_listener_set_on_another_gateway_is_not_attached(
    parent: dict[str, Any], shown: str
) -> None:
    reading = listener_set_reading(listener_set(parent), PLATFORM_GATEWAY)
    assert reading == (
        False,
        f"ListenerSet attaches to {shown}, policy expects Gateway platform/kura-eu-central",
    )


def test_a_listener_set_the_controller_refused_is_not_attached() -> None:
    refused = listener_set(
        GATEWAY_REF, [condition("Accepted", "False", reason="NotAllowed"), condition("Programmed")]
    )
    assert listener_set_reading(refused, PLATFORM_GATEWAY) == (
        False,
        "ListenerSet on Gateway platform/kura-eu-central: not Accepted: NotAllowed",
    )
    assert listener_set_reading(None, PLATFORM_GATEWAY) == (False, "ListenerSet not found")


def route(parents: list[dict[str, Any]], status: list[dict[str, Any]] | None = None) -> Any:
    return {
        "metadata": {"name": "acme-eu-central-1", "namespace": "kura", "generation": 1},
        "spec": {"parentRefs": parents},
        "status": {"parents": status or []},
    }


LISTENER_REF = {
    "group": "gateway.networking.k8s.io",
    "kind": "ListenerSet",
    "name": "acme-eu-central-1",
    "sectionName": "https",
}


def parent_status(status: str, reason: str) -> dict[str, Any]:
    accepted = condition("Accepted", status, generation=1, reason=reason)
    return {"parentRef": LISTENER_REF, "conditions": [accepted]}


def test_a_route_on_the_listener_set_is_attached_once_its_parent_accepted_it() -> None:
    accepted = route([LISTENER_REF], [parent_status("True", "Accepted")])
    assert route_reading(accepted, "HTTPRoute", LISTENER_SET) == (
        True,
        "HTTPRoute accepted on ListenerSet kura/acme-eu-central-1",
    )
    assert route_reading(route([LISTENER_REF]), "HTTPRoute", LISTENER_SET) == (
        False,
        "HTTPRoute on ListenerSet kura/acme-eu-central-1: no current Accepted parent status yet",
    )
    refused = route([LISTENER_REF], [parent_status("False", "NoMatchingParent")])
    assert route_reading(refused, "HTTPRoute", LISTENER_SET) == (
        False,
        "HTTPRoute on ListenerSet kura/acme-eu-central-1 is not Accepted: NoMatchingParent",
    )


def test_a_route_elsewhere_or_missing_is_not_attached() -> None:
    on_gateway = route([GATEWAY_REF])
    assert route_reading(on_gateway, "GRPCRoute", LISTENER_SET) == (
        False,
        "GRPCRoute attaches to Gateway platform/kura-eu-central, not ListenerSet "
        "kura/acme-eu-central-1",
    )
    assert route_reading(route([]), "GRPCRoute", LISTENER_SET).state.startswith(
        "GRPCRoute attaches to nothing"
    )
    assert route_reading(None, "GRPCRoute", LISTENER_SET) == (False, "GRPCRoute not found")


def region(provider: str) -> Region:
    return Region(
        id="eu-central",
        display_name="EU",
        location="fsn1",
        node_pool="kura",
        ingress_provider=provider,
    )


def test_the_checks_follow_the_regions_ingress_provider() -> None:
    assert isinstance(routing_for(region("ingress-nginx")), IngressNginx)
    gateway_api = routing_for(region("gateway-api"))
    assert isinstance(gateway_api, GatewayApi)
    assert gateway_api.default_regional_gateway(region("gateway-api")) == PLATFORM_GATEWAY
    assert IngressNginx().default_regional_gateway(region("ingress-nginx")) == ObjectRef(
        namespace="platform", name="platform-kura-eu-central-ingress-nginx-controller"
    )
    with pytest.raises(InputError, match="ingress provider 'traefik', whose gateways"):
        routing_for(region("traefik"))
