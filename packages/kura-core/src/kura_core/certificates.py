"""cert-manager Certificates for an instance's public hosts: TLS ends at the gateway, with one
certificate per host, whatever the ingress provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The platform's DNS-01 issuer (Cloudflare), upstream's --grpc-cluster-issuer in production.
DEFAULT_CLUSTER_ISSUER = "letsencrypt-cloudflare"


def render_certificate(
    metadata: Mapping[str, Any], *, secret_name: str, host: str, cluster_issuer: str
) -> dict[str, Any]:
    """A ``Certificate`` named after its Secret ``secret_name`` for ``host``, issued by the
    ClusterIssuer ``cluster_issuer``; ``metadata`` gives its namespace, labels and owner."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {**metadata, "name": secret_name},
        "spec": {
            "secretName": secret_name,
            "dnsNames": [host],
            "issuerRef": {
                "name": cluster_issuer,
                "kind": "ClusterIssuer",
                "group": "cert-manager.io",
            },
            # A new key at every renewal: a leaked key serves only until the next one.
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }
