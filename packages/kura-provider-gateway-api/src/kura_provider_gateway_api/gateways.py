"""Gateways as Gateway API objects: a region's shared gateway and each dedicated one.

Each gateway is a ``Gateway`` named after its ingress class (the name a KuraInstance's
``spec.ingressClassName`` already carries), with the load-balancer provider's annotations in
``spec.infrastructure.annotations`` and its data plane shaped by an ``EnvoyProxy``
(:mod:`~kura_provider_gateway_api.envoy_gateway`). The Gateway itself listens only on port 80,
where a route redirects to HTTPS; each KuraInstance brings its HTTPS listeners, one per host
with its own certificate, in a ``ListenerSet`` attached to the Gateway
(:mod:`~kura_provider_gateway_api.routes`), so a Gateway never lists its tenants' hosts and a
TLS Secret stays in its instance's namespace. A region's ``GatewayClass`` comes with its shared
gateway, from the platform chart; dedicated gateways use their region's class.
"""

from __future__ import annotations

from typing import Any

from kura_core import (
    DEFAULT_GATEWAY_REPLICAS,
    GATEWAY_KIND,
    NAMESPACE,
    InputError,
    KuraGateway,
    LoadBalancerProvider,
    Region,
    child_metadata,
    dedicated_load_balancer_name,
    gateway_labels,
    regional_ingress_class,
    regional_load_balancer_name,
)
from kura_provider_gateway_api import envoy_gateway
from kura_provider_gateway_api.objects import GATEWAY_API_VERSION, parent_ref

# The platform chart's namespace (upstream's): shared gateways run there.
PLATFORM_NAMESPACE = "platform"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
SHARED_GATEWAY_REPLICAS = 2
HTTP_LISTENER = "http"
# The Gateway API's bound on spec.infrastructure.annotations (its CRD's maxProperties).
MAX_INFRASTRUCTURE_ANNOTATIONS = 16


def values_key(region_id: str) -> str:
    """The platform chart values block of a region's shared Gateway API gateway."""
    return f"kura-{region_id}-gateway-api"


def _annotations(name: str, annotations: dict[str, str]) -> dict[str, str]:
    if len(annotations) > MAX_INFRASTRUCTURE_ANNOTATIONS:
        raise InputError(
            f"gateway {name}: {len(annotations)} load-balancer annotations, but a Gateway's "
            f"spec.infrastructure.annotations holds at most {MAX_INFRASTRUCTURE_ANNOTATIONS}; "
            "remove some from spec.loadBalancerAnnotations"
        )
    return dict(sorted(annotations.items()))


def render_gateway_object(
    name: str,
    meta: dict[str, Any],
    *,
    gateway_class: str,
    annotations: dict[str, str],
    listener_namespaces: dict[str, Any],
) -> dict[str, Any]:
    """A ``Gateway``: port 80 for the redirect, HTTPS from the ListenerSets it admits."""
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": {**meta, "name": name},
        "spec": {
            "gatewayClassName": gateway_class,
            "infrastructure": {
                "annotations": _annotations(name, annotations),
                "parametersRef": envoy_gateway.parameters_ref(name),
            },
            "listeners": [
                {
                    "name": HTTP_LISTENER,
                    "protocol": "HTTP",
                    "port": 80,
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
            ],
            "allowedListeners": {"namespaces": listener_namespaces},
        },
    }


def render_redirect_route(name: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Plain HTTP on the Gateway answers a redirect to HTTPS, as ingress-nginx's ssl-redirect."""
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {**meta, "name": f"{name}-https-redirect"},
        "spec": {
            "parentRefs": [parent_ref("Gateway", name, section=HTTP_LISTENER)],
            "rules": [
                {
                    "filters": [
                        {
                            "type": "RequestRedirect",
                            "requestRedirect": {"scheme": "https", "statusCode": 301},
                        }
                    ]
                }
            ],
        },
    }


def _gateway_set(
    name: str,
    meta: dict[str, Any],
    *,
    gateway_class: str,
    annotations: dict[str, str],
    listener_namespaces: dict[str, Any],
    replicas: int,
    node_selector: dict[str, str] | None,
) -> list[dict[str, Any]]:
    """EnvoyProxy, ClientTrafficPolicy, Gateway, redirect: the order they can be applied in."""
    return [
        envoy_gateway.envoy_proxy(name, meta, replicas=replicas, node_selector=node_selector),
        envoy_gateway.client_traffic_policy(name, meta, name),
        render_gateway_object(
            name,
            meta,
            gateway_class=gateway_class,
            annotations=annotations,
            listener_namespaces=listener_namespaces,
        ),
        render_redirect_route(name, meta),
    ]


def render_dedicated_gateway(
    gateway: KuraGateway, *, region: Region | None, load_balancer: LoadBalancerProvider
) -> list[dict[str, Any]]:
    """A dedicated gateway's objects in its namespace, owned by the KuraGateway.

    Only ListenerSets of the gateway's own namespace attach (where its tenant's instances are).
    ``region`` None (a region the catalog lacks) uses the region's default class name.
    """
    if region is not None and gateway.spec.region != region.id:
        raise InputError(
            f"KuraGateway {gateway.metadata.name} is for region {gateway.spec.region!r}, "
            f"not {region.id!r}"
        )
    namespace = gateway.metadata.namespace or NAMESPACE
    name = gateway.spec.ingress_class_name
    meta = child_metadata(
        name,
        namespace=namespace,
        labels=gateway_labels(gateway.metadata.name, gateway.spec.region),
        owner_kind=GATEWAY_KIND,
        owner=gateway.metadata,
    )
    annotations = load_balancer.service_annotations(
        region,
        load_balancer_name=dedicated_load_balancer_name(gateway.metadata.name),
        node_selector=gateway.spec.node_selector,
        overrides=gateway.spec.load_balancer_annotations,
    )
    return _gateway_set(
        name,
        meta,
        gateway_class=region.ingress_class_name
        if region is not None
        else regional_ingress_class(gateway.spec.region),
        annotations=annotations,
        listener_namespaces={"from": "Same"},
        replicas=gateway.spec.replicas or DEFAULT_GATEWAY_REPLICAS,
        node_selector=gateway.spec.node_selector,
    )


def render_gateway_class(region: Region, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "GatewayClass",
        "metadata": {"name": region.ingress_class_name, "labels": meta["labels"]},
        "spec": {"controllerName": envoy_gateway.CONTROLLER_NAME},
    }


def shared_gateway_objects(
    region: Region, *, load_balancer: LoadBalancerProvider
) -> list[dict[str, Any]]:
    """The region's GatewayClass and its shared gateway in the platform namespace.

    ListenerSets attach from namespace ``kura`` only, where the shared accounts' instances run.
    """
    name = region.ingress_class_name
    meta = child_metadata(
        name, namespace=PLATFORM_NAMESPACE, labels=gateway_labels(name, region.id)
    )
    annotations = load_balancer.service_annotations(
        region,
        load_balancer_name=regional_load_balancer_name(region.id),
        node_selector=region.node_selector,
    )
    return [
        render_gateway_class(region, meta),
        *_gateway_set(
            name,
            meta,
            gateway_class=name,
            annotations=annotations,
            listener_namespaces={
                "from": "Selector",
                "selector": {"matchLabels": {NAMESPACE_NAME_LABEL: NAMESPACE}},
            },
            replicas=SHARED_GATEWAY_REPLICAS,
            node_selector=region.node_selector,
        ),
    ]


def shared_gateway_values(region: Region, *, load_balancer: LoadBalancerProvider) -> dict[str, Any]:
    """``{"kura-<region>-gateway-api": {"enabled": true, "objects": [...]}}``: the platform
    chart applies ``objects`` as they are."""
    return {
        values_key(region.id): {
            "enabled": True,
            "objects": shared_gateway_objects(region, load_balancer=load_balancer),
        }
    }


def gateway_peer(gateway: str, *, namespace: str | None) -> dict[str, Any]:
    """A NetworkPolicy peer selecting the proxy pods Envoy Gateway runs for ``gateway``.

    The proxies run in the Gateway's namespace (Envoy Gateway's ``GatewayNamespace`` mode), so
    ``namespace`` None means the instance's own (a dedicated gateway's).
    """
    peer: dict[str, Any] = {
        "podSelector": {"matchLabels": {envoy_gateway.OWNING_GATEWAY_LABEL: gateway}}
    }
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}
    return peer
