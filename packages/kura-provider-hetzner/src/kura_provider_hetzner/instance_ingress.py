"""How public traffic reaches a KuraInstance: Ingresses on its gateway's class, TLS at nginx.

As upstream (docs/upstream.md): a public Ingress ``<instance>`` (HTTP backend, port ``http``) and,
with a gRPC host, ``<instance>-grpc`` (GRPC backend, port ``grpc``), each terminating TLS with a
cert-manager Certificate of the same name as its Secret. Bodies stream: no size limit and no
buffering either way, with hour-long read and send timeouts for large artifacts.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kura_core import (
    DEFAULT_CLUSTER_ISSUER,
    DEFAULT_INSTANCE_INGRESS_CLASS,
    GATEWAY_ANNOTATION,
    INSTANCE_KIND,
    NAMESPACE,
    InputError,
    KuraInstance,
    Region,
    child_metadata,
    instance_labels,
    is_label_value,
    regional_ingress_class,
    render_certificate,
)
from kura_provider_hetzner.gateway_objects import selector_labels as gateway_selector_labels
from kura_provider_hetzner.shared_gateway import shared_gateway_peer

ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
STREAM_TIMEOUT_SECONDS = "3600"
# Paths Kura serves that are not for the internet: its Prometheus metrics (scraped in the
# cluster, on the pod's HTTP port) answer without a token.
PRIVATE_PATHS = ("/metrics",)
DENY_EVERYONE = "0.0.0.0/0,::/0"


def streaming_annotations(backend_protocol: str) -> dict[str, str]:
    return {
        ANNOTATION_PREFIX + "backend-protocol": backend_protocol,
        ANNOTATION_PREFIX + "proxy-body-size": "0",
        ANNOTATION_PREFIX + "proxy-buffering": "off",
        ANNOTATION_PREFIX + "proxy-request-buffering": "off",
        ANNOTATION_PREFIX + "proxy-read-timeout": STREAM_TIMEOUT_SECONDS,
        ANNOTATION_PREFIX + "proxy-send-timeout": STREAM_TIMEOUT_SECONDS,
    }


def _metadata(
    name: str, instance: KuraInstance, *, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return child_metadata(
        name,
        namespace=instance.metadata.namespace or NAMESPACE,
        labels=instance_labels(instance),
        annotations=annotations,
        owner_kind=INSTANCE_KIND,
        owner=instance.metadata,
    )


def ingress_class(instance: KuraInstance) -> str:
    """The instance's class; blank means upstream's fallback, ``nginx``."""
    return (instance.spec.ingress_class_name or "").strip() or DEFAULT_INSTANCE_INGRESS_CLASS


def gateway_peers(instance: KuraInstance, *, region: Region | None) -> list[dict[str, Any]]:
    """The pods of the one gateway that routes to ``instance``: its region's shared gateway for
    the regional class, else the dedicated gateway its ``tuist.dev/kura-gateway`` annotation
    names (in the instance's namespace, where dedicated gateways run). No other gateway, and
    nothing for a class neither serves: another tenant's gateway never reaches these pods."""
    # A region the catalog lacks has the default regional class, as every catalogued one can.
    region_id = region.id if region is not None else instance.spec.region
    regional_class = (
        region.ingress_class_name if region is not None else regional_ingress_class(region_id)
    )
    if ingress_class(instance) == regional_class:
        return [shared_gateway_peer(region_id)]
    gateway = (instance.metadata.annotations or {}).get(GATEWAY_ANNOTATION)
    if not gateway:
        return []
    if not is_label_value(gateway):
        raise InputError(
            f"KuraInstance {instance.metadata.name}: the annotation {GATEWAY_ANNOTATION} "
            f"{gateway!r} is not a gateway name"
        )
    return [{"podSelector": {"matchLabels": gateway_selector_labels(gateway)}}]


def _path(path: str, service: str, port: str) -> dict[str, Any]:
    return {
        "path": path,
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": {"name": port}}},
    }


def render_ingress(
    instance: KuraInstance, *, name: str, host: str, secret: str, port: str, protocol: str
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(name, instance, annotations=streaming_annotations(protocol)),
        "spec": {
            "ingressClassName": ingress_class(instance),
            "tls": [{"hosts": [host], "secretName": secret}],
            "rules": [
                {"host": host, "http": {"paths": [_path("/", instance.metadata.name, port)]}}
            ],
        },
    }


def render_private_paths_ingress(instance: KuraInstance, routes: list[_Route]) -> dict[str, Any]:
    """``<instance>-private``: every :data:`PRIVATE_PATHS` of every host, refused with 403.

    ingress-nginx gives each Ingress path a ``location`` with that Ingress's annotations, and the
    longest matching prefix wins, so on these paths the deny-everyone list applies before any
    proxying and the instance's ``/`` route never sees them. The backend is the instance's own
    Service only because ingress-nginx makes no location for a path without a Service backend
    (the request would then fall through to ``/``).
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(
            f"{instance.metadata.name}-private",
            instance,
            annotations={ANNOTATION_PREFIX + "denylist-source-range": DENY_EVERYONE},
        ),
        "spec": {
            "ingressClassName": ingress_class(instance),
            "tls": [{"hosts": [route.host], "secretName": route.secret} for route in routes],
            "rules": [
                {
                    "host": route.host,
                    "http": {
                        "paths": [
                            _path(path, instance.metadata.name, route.port)
                            for path in PRIVATE_PATHS
                        ]
                    },
                }
                for route in routes
            ],
        },
    }


class _Route(NamedTuple):
    ingress: str
    host: str
    secret: str
    port: str
    protocol: str


def _routes(instance: KuraInstance) -> list[_Route]:
    name = instance.metadata.name
    routes = []
    if instance.spec.public_host:
        routes.append(_Route(name, instance.spec.public_host, f"{name}-public-tls", "http", "HTTP"))
    if instance.spec.grpc_public_host:
        routes.append(
            _Route(
                f"{name}-grpc", instance.spec.grpc_public_host, f"{name}-grpc-tls", "grpc", "GRPC"
            )
        )
    return routes


def render_instance_objects(
    instance: KuraInstance, *, cluster_issuer: str | None = None
) -> list[dict[str, Any]]:
    """Ingresses, then Certificates, in upstream's apply order.

    An Ingress exists only for a host the instance has; one more, ``<instance>-private``,
    refuses the :data:`PRIVATE_PATHS` on every host. ``cluster_issuer`` None means
    :data:`DEFAULT_CLUSTER_ISSUER`; an empty one means no Certificates (the TLS Secrets come from
    elsewhere), as upstream without ``--grpc-cluster-issuer``.
    """
    issuer = DEFAULT_CLUSTER_ISSUER if cluster_issuer is None else cluster_issuer
    routes = _routes(instance)
    ingresses = [
        render_ingress(
            instance,
            name=route.ingress,
            host=route.host,
            secret=route.secret,
            port=route.port,
            protocol=route.protocol,
        )
        for route in routes
    ]
    if routes:
        ingresses.append(render_private_paths_ingress(instance, routes))
    certificates = [
        render_certificate(
            _metadata(route.secret, instance),
            secret_name=route.secret,
            host=route.host,
            cluster_issuer=issuer,
        )
        for route in routes
        if issuer
    ]
    return ingresses + certificates
