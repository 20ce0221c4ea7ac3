"""How public traffic reaches a KuraInstance through a Gateway API gateway.

Per instance, in apply order: a ``ListenerSet`` ``<instance>`` attached to the Gateway its
assignment picked, with one HTTPS listener per host terminating TLS with the host's own
Certificate (``<instance>-public-tls``, ``<instance>-grpc-tls``, as with ingress-nginx); an
``HTTPRoute`` to the instance's plain HTTP port and a ``GRPCRoute`` to its gRPC port, each on
its own listener; the streaming policy and the private-path filter
(:mod:`~kura_provider_gateway_api.envoy_gateway`); then the cert-manager Certificates.

The gateway is named after the instance's ingress class. An instance with a
``tuist.dev/kura-gateway`` annotation (what ``kura render`` gives a dedicated account) attaches
to that class's Gateway in its own namespace; any other to its region's shared Gateway in the
platform namespace.

Kura serves its Prometheus metrics on the HTTP port without a token, so the HTTPRoute answers
``/metrics`` (and below) with 403 at the gateway, the longest prefix winning as in nginx. The
gRPC host routes to the gRPC port only, which serves no ``/metrics``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kura_core import (
    DEFAULT_CLUSTER_ISSUER,
    DEFAULT_INSTANCE_INGRESS_CLASS,
    GATEWAY_ANNOTATION,
    INSTANCE_KIND,
    NAMESPACE,
    KuraInstance,
    child_metadata,
    instance_labels,
    render_certificate,
)
from kura_provider_gateway_api import envoy_gateway
from kura_provider_gateway_api.gateways import PLATFORM_NAMESPACE
from kura_provider_gateway_api.objects import GATEWAY_API_VERSION, parent_ref

# The ports of the instance's Service (upstream Kura's): plain HTTP and gRPC, TLS ends at the
# gateway. A Gateway API backend names a Service port by number.
HTTP_PORT = 4000
GRPC_PORT = 50051
PRIVATE_PATHS = ("/metrics",)
HTTPS_PORT = 443


class Parent(NamedTuple):
    """The Gateway an instance's listeners attach to."""

    name: str
    namespace: str


class Host(NamedTuple):
    listener: str
    host: str
    secret: str


def ingress_class(instance: KuraInstance) -> str:
    """The instance's class; blank means upstream's fallback, ``nginx``."""
    return (instance.spec.ingress_class_name or "").strip() or DEFAULT_INSTANCE_INGRESS_CLASS


def assigned_gateway(instance: KuraInstance) -> Parent:
    """The Gateway assignment picked: dedicated (annotated) in the instance's namespace, else
    the region's shared one in the platform namespace; named after the instance's class."""
    namespace = instance.metadata.namespace or NAMESPACE
    dedicated = (instance.metadata.annotations or {}).get(GATEWAY_ANNOTATION)
    return Parent(ingress_class(instance), namespace if dedicated else PLATFORM_NAMESPACE)


def _hosts(instance: KuraInstance) -> tuple[Host | None, Host | None]:
    name = instance.metadata.name
    spec = instance.spec
    http = Host("https", spec.public_host, f"{name}-public-tls") if spec.public_host else None
    grpc = (
        Host("grpc", spec.grpc_public_host, f"{name}-grpc-tls") if spec.grpc_public_host else None
    )
    return http, grpc


def render_listener_set(
    instance: KuraInstance, meta: dict[str, Any], parent: Parent, hosts: list[Host]
) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "ListenerSet",
        "metadata": {**meta, "name": instance.metadata.name},
        "spec": {
            "parentRef": parent_ref("Gateway", parent.name, namespace=parent.namespace),
            "listeners": [
                {
                    "name": host.listener,
                    "hostname": host.host,
                    "protocol": "HTTPS",
                    "port": HTTPS_PORT,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "group": "", "name": host.secret}],
                    },
                    "allowedRoutes": {"namespaces": {"from": "Same"}},
                }
                for host in hosts
            ],
        },
    }


def _backend(instance: KuraInstance, port: int) -> dict[str, Any]:
    return {"name": instance.metadata.name, "port": port}


def _listener_ref(instance: KuraInstance, host: Host) -> dict[str, Any]:
    return parent_ref("ListenerSet", instance.metadata.name, section=host.listener)


def render_http_route(
    instance: KuraInstance, meta: dict[str, Any], host: Host, private_filter: str
) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": {**meta, "name": instance.metadata.name},
        "spec": {
            "parentRefs": [_listener_ref(instance, host)],
            "hostnames": [host.host],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": path}}],
                    "filters": [envoy_gateway.refusal_filter_ref(private_filter)],
                }
                for path in PRIVATE_PATHS
            ]
            + [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [_backend(instance, HTTP_PORT)],
                    # "0s" turns the request timeout off (large artifacts take long).
                    "timeouts": {"request": envoy_gateway.NO_TIMEOUT},
                }
            ],
        },
    }


def render_grpc_route(instance: KuraInstance, meta: dict[str, Any], host: Host) -> dict[str, Any]:
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "GRPCRoute",
        "metadata": {**meta, "name": f"{instance.metadata.name}-grpc"},
        "spec": {
            "parentRefs": [_listener_ref(instance, host)],
            "hostnames": [host.host],
            "rules": [{"backendRefs": [_backend(instance, GRPC_PORT)]}],
        },
    }


def render_instance_routes(
    instance: KuraInstance, *, cluster_issuer: str | None = None
) -> list[dict[str, Any]]:
    """ListenerSet, routes, policy and filter, then Certificates; nothing without a host.

    ``cluster_issuer`` None means :data:`DEFAULT_CLUSTER_ISSUER`; empty means no Certificates
    (the TLS Secrets come from elsewhere).
    """
    name = instance.metadata.name
    meta = child_metadata(
        name,
        namespace=instance.metadata.namespace or NAMESPACE,
        labels=instance_labels(instance),
        owner_kind=INSTANCE_KIND,
        owner=instance.metadata,
    )
    http, grpc = _hosts(instance)
    hosts = [host for host in (http, grpc) if host is not None]
    if not hosts:
        return []
    objects = [render_listener_set(instance, meta, assigned_gateway(instance), hosts)]
    routes: list[tuple[str, str]] = []
    private_filter = f"{name}-private"
    if http is not None:
        objects.append(render_http_route(instance, meta, http, private_filter))
        objects.append(envoy_gateway.refusal_filter(private_filter, meta))
        routes.append(("HTTPRoute", name))
    if grpc is not None:
        objects.append(render_grpc_route(instance, meta, grpc))
        routes.append(("GRPCRoute", f"{name}-grpc"))
    objects.append(envoy_gateway.backend_traffic_policy(name, meta, routes))
    issuer = DEFAULT_CLUSTER_ISSUER if cluster_issuer is None else cluster_issuer
    if issuer:
        objects.extend(
            render_certificate(meta, secret_name=host.secret, host=host.host, cluster_issuer=issuer)
            for host in hosts
        )
    return objects
