"""The cert-manager Certificate every ingress provider renders per public host."""

from __future__ import annotations

from kura_core import DEFAULT_CLUSTER_ISSUER, render_certificate


def test_a_certificate_is_named_after_its_secret_and_keeps_the_metadata() -> None:
    metadata = {"name": "acme", "namespace": "kura", "labels": {"a": "b"}}
    assert render_certificate(
        metadata,
        secret_name="acme-public-tls",
        host="acme.example.com",
        cluster_issuer=DEFAULT_CLUSTER_ISSUER,
    ) == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "acme-public-tls", "namespace": "kura", "labels": {"a": "b"}},
        "spec": {
            "secretName": "acme-public-tls",
            "dnsNames": ["acme.example.com"],
            "issuerRef": {
                "name": "letsencrypt-cloudflare",
                "kind": "ClusterIssuer",
                "group": "cert-manager.io",
            },
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }
    assert metadata["name"] == "acme"
