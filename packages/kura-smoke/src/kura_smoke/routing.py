"""What the smoke checks of a region's gateways, by the region's ingress provider.

The steps are the same for every region; what a gateway and an instance's routing are made of
is not. ingress-nginx: the platform chart's controller Deployment and Service and the region's
IngressClass; a dedicated gateway's ``<gateway>-controller`` Service and IngressClass; an
instance's Ingress with its class. gateway-api: a ``Gateway`` named after the class, Accepted
and Programmed with an address (the shared one in the platform namespace, a dedicated one in the
smoke's); an instance's ``ListenerSet`` attached to its assigned Gateway, with its ``HTTPRoute``
``<instance>`` and ``GRPCRoute`` ``<instance>-grpc`` attached to that ListenerSet (the names the
provider renders). Both check that the gateway annotation is set iff the account is dedicated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kura_core import (
    DEPLOYMENT,
    GATEWAY,
    GATEWAY_ANNOTATION,
    GRPC_ROUTE,
    HTTP_ROUTE,
    INGRESS,
    INGRESS_CLASS,
    KURA_INSTANCE,
    LISTENER_SET,
    SERVICE,
    InputError,
    Region,
    regional_gateway_values_key,
)
from kura_kube.client import KubeClient
from kura_smoke.cluster_state import Reading, deployment_rollout, load_balancer_address
from kura_smoke.gateway_api_state import (
    gateway_address,
    gateway_reading,
    listener_set_reading,
    route_reading,
)
from kura_smoke.kube import ObjectRef
from kura_smoke.provision import SmokeAccount
from kura_smoke.report import StepFailure

PLATFORM_RELEASE = "platform"
PLATFORM_NAMESPACE = "platform"


@dataclass(frozen=True)
class RegionalGateway:
    """What the platform step found of the region's shared gateway."""

    address: str
    summary: str


class Routing(Protocol):
    """The provider-specific part of the cluster steps."""

    name: str
    # The kinds the platform step reads, for the message when RBAC refuses one.
    platform_reads: str
    dedicated_expectation: str

    def default_regional_gateway(self, region: Region) -> ObjectRef: ...

    def check_regional_gateway(
        self, kube: KubeClient, ingress_class: str, gateway: ObjectRef
    ) -> RegionalGateway:
        """The shared gateway serves; :class:`StepFailure` when it does not."""
        ...

    def dedicated_gateway(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, status: Mapping[str, Any]
    ) -> Reading:
        """What a Ready KuraGateway (``status``) must have made besides its address."""
        ...

    def route_label(self, smoke: SmokeAccount) -> str: ...

    def route_expectation(self, smoke: SmokeAccount, parent: ObjectRef) -> str: ...

    def instance_routes(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, parent: ObjectRef
    ) -> Reading:
        """The instance is routed through the Gateway ``parent`` (its assigned one)."""
        ...


def annotation_reading(instance: Mapping[str, Any] | None, smoke: SmokeAccount) -> Reading:
    """The gateway annotation is set to the assigned gateway iff the account is dedicated."""
    metadata = (instance or {}).get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    annotation = (annotations or {}).get(GATEWAY_ANNOTATION)
    if annotation != smoke.assignment.gateway:
        wanted = smoke.assignment.gateway or "absent"
        return Reading(False, f"annotation {GATEWAY_ANNOTATION} is {annotation!r}, want {wanted}")
    shown = f", {GATEWAY_ANNOTATION}={annotation}" if annotation else ", no gateway annotation"
    return Reading(True, shown)


def ingress_reading(
    ingress: Mapping[str, Any] | None, instance: Mapping[str, Any] | None, smoke: SmokeAccount
) -> Reading:
    """The Ingress uses the class policy expects; the gateway annotation is set iff dedicated."""
    if ingress is None:
        return Reading(False, f"Ingress {smoke.instance} not found")
    spec = ingress.get("spec")
    actual = spec.get("ingressClassName") if isinstance(spec, dict) else None
    expected = smoke.assignment.ingress_class
    if actual != expected:
        return Reading(False, f"Ingress class is {actual!r}, policy expects {expected!r}")
    annotation = annotation_reading(instance, smoke)
    if not annotation.ok:
        return annotation
    return Reading(True, f"Ingress {smoke.instance} uses class {actual}{annotation.state}")


class IngressNginx:
    """The platform chart's ingress-nginx controllers and each instance's Ingress."""

    name = "ingress-nginx"
    platform_reads = "Deployments, Services, IngressClasses and Secrets"
    dedicated_expectation = "its Service's LB ingress and its IngressClass"

    def default_regional_gateway(self, region: Region) -> ObjectRef:
        return ObjectRef(
            namespace=PLATFORM_NAMESPACE,
            name=f"{PLATFORM_RELEASE}-{regional_gateway_values_key(region.id)}-controller",
        )

    def check_regional_gateway(
        self, kube: KubeClient, ingress_class: str, gateway: ObjectRef
    ) -> RegionalGateway:
        if kube.get(INGRESS_CLASS, None, ingress_class) is None:
            raise StepFailure(
                f"IngressClass {ingress_class} is missing",
                expected=f"IngressClass {ingress_class} exists",
                got="not found",
                cause="the region's shared gateway is not deployed (platform chart block "
                "disabled?)",
            )
        rollout = deployment_rollout(kube.get(DEPLOYMENT, gateway.namespace, gateway.name))
        if not rollout.ok:
            raise StepFailure(
                f"the regional gateway Deployment {gateway} is not ready",
                expected=f"Deployment {gateway} rolled out with every replica ready",
                got=rollout.state,
                cause="gateway pods are pending or crashing (node pool capacity, image pull, "
                "config)",
            )
        address = load_balancer_address(kube.get(SERVICE, gateway.namespace, gateway.name))
        if not address:
            raise StepFailure(
                f"the regional gateway Service {gateway} has no load-balancer address",
                expected=f"Service {gateway} has status.loadBalancer.ingress",
                got="no load-balancer ingress",
                cause="the cloud controller has not provisioned the load balancer (quota, "
                "annotations)",
            )
        return RegionalGateway(
            address, f"IngressClass {ingress_class}, regional gateway ready at {address}"
        )

    def dedicated_gateway(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, status: Mapping[str, Any]
    ) -> Reading:
        service_name = str(status.get("serviceName") or f"{smoke.assignment.gateway}-controller")
        if not load_balancer_address(kube.get(SERVICE, namespace, service_name)):
            return Reading(False, f"Service {service_name} has no load-balancer ingress")
        ingress_class = str(status.get("ingressClassName") or smoke.assignment.ingress_class)
        if kube.get(INGRESS_CLASS, None, ingress_class) is None:
            return Reading(False, f"IngressClass {ingress_class} does not exist")
        return Reading(True, f"IngressClass {ingress_class}")

    def route_label(self, smoke: SmokeAccount) -> str:
        return f"Ingress {smoke.instance}"

    def route_expectation(self, smoke: SmokeAccount, parent: ObjectRef) -> str:
        return (
            f"class {smoke.assignment.ingress_class}, gateway annotation "
            f"{smoke.assignment.gateway or 'absent'}"
        )

    def instance_routes(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, parent: ObjectRef
    ) -> Reading:
        return ingress_reading(
            kube.get(INGRESS, namespace, smoke.instance),
            kube.get(KURA_INSTANCE, namespace, smoke.instance),
            smoke,
        )


class GatewayApi:
    """Gateway API objects served by Envoy Gateway: a Gateway per gateway, a ListenerSet and
    routes per instance."""

    name = "gateway-api"
    platform_reads = "Gateways, Deployments and Secrets"
    dedicated_expectation = "its Gateway Accepted and Programmed with an address"

    def default_regional_gateway(self, region: Region) -> ObjectRef:
        return ObjectRef(namespace=PLATFORM_NAMESPACE, name=region.ingress_class_name)

    def check_regional_gateway(
        self, kube: KubeClient, ingress_class: str, gateway: ObjectRef
    ) -> RegionalGateway:
        found = kube.get(GATEWAY, gateway.namespace, gateway.name)
        reading = gateway_reading(found)
        if not reading.ok:
            raise StepFailure(
                f"the regional Gateway {gateway} is not serving",
                expected=f"Gateway {gateway} Accepted and Programmed, with an address",
                got=reading.state,
                cause="the region's shared gateway is not deployed (platform chart block "
                "disabled?), Envoy Gateway has not taken it (GatewayClass, controller down), or "
                "the load balancer has no address yet",
            )
        gateway_class = ((found or {}).get("spec") or {}).get("gatewayClassName")
        if gateway_class != ingress_class:
            raise StepFailure(
                f"the regional Gateway {gateway} is of another class",
                expected=f"gatewayClassName {ingress_class} (the region's class)",
                got=f"gatewayClassName {gateway_class!r}",
                cause="--regional-gateway names another region's Gateway, or the platform "
                "chart's block was rendered for another catalog",
            )
        address = gateway_address(found)
        return RegionalGateway(
            address, f"regional Gateway {gateway} of class {ingress_class} programmed at {address}"
        )

    def dedicated_gateway(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, status: Mapping[str, Any]
    ) -> Reading:
        name = str(status.get("ingressClassName") or smoke.assignment.ingress_class)
        reading = gateway_reading(kube.get(GATEWAY, namespace, name))
        return Reading(reading.ok, f"Gateway {name}: {reading.state}")

    def route_label(self, smoke: SmokeAccount) -> str:
        return f"ListenerSet {smoke.instance}"

    def route_expectation(self, smoke: SmokeAccount, parent: ObjectRef) -> str:
        return (
            f"ListenerSet {smoke.instance} on Gateway {parent}, its HTTPRoute and GRPCRoute on "
            f"the ListenerSet, gateway annotation {smoke.assignment.gateway or 'absent'}"
        )

    def instance_routes(
        self, kube: KubeClient, smoke: SmokeAccount, namespace: str, parent: ObjectRef
    ) -> Reading:
        instance = kube.get(KURA_INSTANCE, namespace, smoke.instance)
        annotation = annotation_reading(instance, smoke)
        if not annotation.ok:
            return annotation
        listener_set = listener_set_reading(
            kube.get(LISTENER_SET, namespace, smoke.instance), parent
        )
        if not listener_set.ok:
            return listener_set
        own = ObjectRef(namespace=namespace, name=smoke.instance)
        spec = (instance or {}).get("spec") or {}
        routes = [(HTTP_ROUTE, smoke.instance)] if spec.get("publicHost") else []
        if spec.get("grpcPublicHost"):
            routes.append((GRPC_ROUTE, f"{smoke.instance}-grpc"))
        for kind, name in routes:
            route = route_reading(kube.get(kind, namespace, name), kind.kind, own)
            if not route.ok:
                return Reading(False, f"{kind.kind} {name}: {route.state}")
        shown = ", ".join(f"{kind.kind} {name}" for kind, name in routes)
        return Reading(True, f"{listener_set.state}; {shown}{annotation.state}")


_ROUTING: dict[str, Routing] = {IngressNginx.name: IngressNginx(), GatewayApi.name: GatewayApi()}


def routing_for(region: Region) -> Routing:
    """The checks for the region's ingress provider; :class:`InputError` for one the smoke does
    not know how to check."""
    routing = _ROUTING.get(region.ingress_provider)
    if routing is None:
        known = ", ".join(sorted(_ROUTING))
        raise InputError(
            f"region {region.id} uses the ingress provider {region.ingress_provider!r}, whose "
            f"gateways kura smoke run cannot check (it knows {known})"
        )
    return routing
