"""The ingress-nginx ConfigMap keys every Kura gateway runs with, dedicated and shared alike.

One definition (upstream's, docs/upstream.md) feeds both the dedicated gateway's ConfigMap and
the platform chart's ``controller.config`` of the shared regional gateways, so they cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from kura_provider_hetzner.gateway_tuning import GatewayTuning

# The Hetzner LB forwards TCP and sends the PROXY header (the LB provider sets
# uses-proxyprotocol): the client address comes from that header, and nothing in front of nginx
# speaks HTTP. So no X-Forwarded-* header a request arrives with is anyone's but the client's:
# they are not trusted (upstream trusts them), and Kura is told nginx's own view: the client
# address from the PROXY header, the scheme and host nginx served. proxy-real-ip-cidr stays open
# because the LB's own addresses are not known here; it only decides who may send a PROXY header,
# which every connection to these ports must.
FORWARDING: Mapping[str, str] = {
    "use-forwarded-headers": "false",
    "use-proxy-protocol": "true",
    "compute-full-forwarded-for": "false",
    "enable-real-ip": "true",
    "proxy-real-ip-cidr": "0.0.0.0/0",
    # No user-supplied nginx config from Ingress annotations.
    "allow-snippet-annotations": "false",
}

# Artifacts stream through nginx: no body size limit, no spooling of requests or responses.
STREAMING: Mapping[str, str] = {
    "proxy-body-size": "0",
    "proxy-request-buffering": "off",
    "proxy-buffering": "off",
    "proxy-max-temp-file-size": "0",
}

KEEPALIVE: Mapping[str, str] = {
    "upstream-keepalive-timeout": "10",
    "keep-alive-requests": "10000",
    "upstream-keepalive-requests": "10000",
}

# ingress-nginx has no key for HTTP/2's preread size, so it goes in through `http-snippet`, as
# upstream does. That is a ConfigMap key, written by whoever runs the gateway, not an Ingress
# annotation a tenant writes, so it works with snippet annotations off. Without it every HTTP/2
# upload stream opens with nginx's default 64k window and waits a round trip for the
# WINDOW_UPDATE that widens it to client-body-buffer-size; with it the stream starts at that size.
HTTP2_PREREAD_SNIPPET = "http-snippet"


def http2_preread_snippet(client_body_buffer_size: str) -> str:
    """The `http-snippet` value: the preread window as large as the body buffer it fills."""
    return f"http2_body_preread_size {client_body_buffer_size};"


def gateway_nginx_config(tuning: GatewayTuning) -> dict[str, str]:
    """The ConfigMap data of a gateway with ``tuning``; every value a string."""
    keys = tuning.nginx_keys()
    preread = {HTTP2_PREREAD_SNIPPET: http2_preread_snippet(keys["client-body-buffer-size"])}
    return {**FORWARDING, **STREAMING, **KEEPALIVE, **keys, **preread}


def config_hash(data: Mapping[str, str]) -> str:
    """SHA-256 of the data as canonical JSON: equal data, equal hash, whatever the key order."""
    canonical = json.dumps(dict(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
