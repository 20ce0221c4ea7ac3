"""Envoy Gateway, the first Gateway API implementation kura targets: everything specific to it.

The rest of the provider renders only standard Gateway API objects. Here are the controller's
name, the ``EnvoyProxy`` that shapes a gateway's data plane (replicas, nodes, the LoadBalancer
Service, no API credentials in the pods), and the policies that make a gateway stream like the
ingress-nginx gateways do (docs/architecture.md, "Gateway API: Envoy Gateway first"):

- no body size limit and no buffering: Envoy proxies bodies as streams with flow control unless
  a buffering filter is configured, and kura configures none (``BackendTrafficPolicy``'s
  ``requestBuffer`` stays unset); ``connection.bufferLimit`` is the per-connection flow-control
  window, not a limit on the body;
- long timeouts: no total request timeout (Envoy's route default is 15 s, which would cut every
  large download), an idle timeout of an hour between bytes, as nginx's read and send timeouts;
- HTTP/2 upload preread: the initial stream window is as large as nginx's preread buffer, so
  an upload's first megabyte goes out without waiting for a window update;
- the PROXY protocol the Hetzner load balancer speaks, required on every connection, and no
  trust in a client's own ``X-Forwarded-*`` headers (the PROXY header's address is the client).

It also holds the proxies' term of a shard's capacity ceiling, which has no figure yet.
"""

from __future__ import annotations

import re
from typing import Any

from kura_core import Component, InputError
from kura_provider_gateway_api.objects import GATEWAY_API_GROUP

API_VERSION = "gateway.envoyproxy.io/v1alpha1"
GROUP = "gateway.envoyproxy.io"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
# The pod label Envoy Gateway gives a gateway's proxies; Prometheus's usual pod relabelling
# (`labelmap` of `__meta_kubernetes_pod_label_(.+)`) turns it into this metric label.
OWNING_GATEWAY_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
STREAM_IDLE_TIMEOUT = "3600s"
NO_TIMEOUT = "0s"
# nginx's client_body_buffer_size and http2_body_preread_size on the ingress-nginx gateways.
HTTP2_STREAM_WINDOW = "1Mi"
HTTP2_CONNECTION_WINDOW = "16Mi"
CONNECTION_BUFFER = "1Mi"
PRIVATE_PATH_STATUS = 403
ENVOY_PROXY_COMPONENT = "envoy-proxy"


def envoy_proxy(
    name: str,
    metadata: dict[str, Any],
    *,
    replicas: int,
    node_selector: dict[str, str] | None,
) -> dict[str, Any]:
    """The ``EnvoyProxy`` a Gateway's ``spec.infrastructure.parametersRef`` names.

    The proxy pods get no ServiceAccount token: Envoy Gateway sends each proxy its listeners'
    certificates over xDS, so nothing in an internet-facing pod can call the Kubernetes API or
    read a Secret. ``externalTrafficPolicy: Local`` keeps the client address, as for nginx.
    """
    pod: dict[str, Any] = {}
    if node_selector:
        pod["nodeSelector"] = dict(sorted(node_selector.items()))
    deployment: dict[str, Any] = {
        "replicas": replicas,
        "patch": {
            "type": "StrategicMerge",
            "value": {"spec": {"template": {"spec": {"automountServiceAccountToken": False}}}},
        },
    }
    if pod:
        deployment["pod"] = pod
    return {
        "apiVersion": API_VERSION,
        "kind": "EnvoyProxy",
        "metadata": {**metadata, "name": name},
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyDeployment": deployment,
                    "envoyService": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
                },
            }
        },
    }


def parameters_ref(name: str) -> dict[str, str]:
    """A Gateway's ``spec.infrastructure.parametersRef`` to its ``EnvoyProxy``."""
    return {"group": GROUP, "kind": "EnvoyProxy", "name": name}


def client_traffic_policy(name: str, metadata: dict[str, Any], gateway: str) -> dict[str, Any]:
    """The client side of a Gateway: PROXY protocol, streaming windows and timeouts."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ClientTrafficPolicy",
        "metadata": {**metadata, "name": name},
        "spec": {
            "targetRefs": [{"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": gateway}],
            # Required: the load balancer sends a PROXY header on every connection.
            "proxyProtocol": {"optional": False},
            "clientIPDetection": {"xForwardedFor": {"numTrustedHops": 0}},
            "timeout": {"http": {"streamIdleTimeout": STREAM_IDLE_TIMEOUT, "idleTimeout": "3600s"}},
            "connection": {"bufferLimit": CONNECTION_BUFFER},
            "http2": {
                "initialStreamWindowSize": HTTP2_STREAM_WINDOW,
                "initialConnectionWindowSize": HTTP2_CONNECTION_WINDOW,
            },
        },
    }


def backend_traffic_policy(
    name: str, metadata: dict[str, Any], routes: list[tuple[str, str]]
) -> dict[str, Any]:
    """The upstream side of an instance's routes: no total timeout, an hour of idleness.

    ``routes`` are (kind, name) pairs of the HTTPRoute and GRPCRoute it applies to.
    """
    if not routes:
        raise InputError(f"BackendTrafficPolicy {name}: no route to apply to")
    return {
        "apiVersion": API_VERSION,
        "kind": "BackendTrafficPolicy",
        "metadata": {**metadata, "name": name},
        "spec": {
            "targetRefs": [
                {"group": GATEWAY_API_GROUP, "kind": kind, "name": route} for kind, route in routes
            ],
            "timeout": {
                "http": {
                    "requestTimeout": NO_TIMEOUT,
                    "streamIdleTimeout": STREAM_IDLE_TIMEOUT,
                }
            },
        },
    }


def refusal_filter(name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """An ``HTTPRouteFilter`` answering 403 itself: the private paths never reach Kura."""
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRouteFilter",
        "metadata": {**metadata, "name": name},
        "spec": {"directResponse": {"statusCode": PRIVATE_PATH_STATUS}},
    }


def refusal_filter_ref(name: str) -> dict[str, Any]:
    """An HTTPRoute rule filter that applies :func:`refusal_filter` ``name``."""
    return {
        "type": "ExtensionRef",
        "extensionRef": {"group": GROUP, "kind": "HTTPRouteFilter", "name": name},
    }


# Envoy Gateway's Programmed message: "Address assigned to the Gateway, 2/2 envoy replicas
# available" (its internal/gatewayapi/status/gateway.go).
_REPLICAS = re.compile(r"(\d+)/(\d+) envoy replicas available")


def available_replicas(programmed_message: str) -> int | None:
    """The proxy replicas available, as Envoy Gateway's Programmed message reports them."""
    match = _REPLICAS.search(programmed_message)
    return int(match[1]) if match else None


def envoy_proxy_term() -> Component:
    """The Envoy proxies' term of a shard's ceiling, per replica, without a figure.

    Envoy publishes no throughput figure (its FAQ: performance depends on the features used and
    the environment, and the project publishes no official benchmarks), and Envoy does not run
    on the machines kura is built on, so nothing has measured it. The plan says the ceiling is
    unknown rather than borrow nginx's figure; a scenario gives the measured one by this name.
    """
    return Component(
        name=ENVOY_PROXY_COMPONENT,
        capacity=None,
        per_replica=True,
        assumption=True,
        data_plane=True,
        source=(
            "unknown: Envoy publishes no throughput figure and it has not been measured for "
            "kura (docs/capacity.md); set envoy-proxy in a scenario once benchmarked"
        ),
    )
