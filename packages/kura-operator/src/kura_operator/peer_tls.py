"""Peer mTLS material for one KuraInstance: a per-instance CA and the pods' leaf certificate.

When ``spec.peerTLSSecretName`` is unset, the operator keeps Secret ``<inst>-peer-tls`` (Opaque,
keys ``ca.pem``, ``tls.crt``, ``tls.key``): a CA (ECDSA P-256, 10 years, CN ``<inst> peer CA``)
that signs one leaf (ECDSA P-256, 2 years, CN ``<inst> peer``, serverAuth and clientAuth) whose
SANs cover every pod's ``KURA_NODE_URL`` host through the headless Service, and the account peer
Service, as upstream does (docs/upstream.md). No certificate is shared between instances.

Generation draws keys and serials from the OS and stamps the clock, so it stays out of the pure
renderers: the Secret is created once and rewritten only when :func:`peer_tls_problem` finds it
unusable, never because a new rendering differs. Nothing here logs, and callers must not log the
material either.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.general_name import DNSName
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from kura_core import KuraInstance
from kura_operator.instance_layout import (
    PEER_TLS_CA,
    PEER_TLS_CERT,
    PEER_TLS_KEY,
    account_peer_service_name,
    generated_peer_tls_secret_name,
    headless_service_name,
    instance_labels,
    namespace_of,
    owner_references,
    pod_dns_name,
)

KEYS = (PEER_TLS_CA, PEER_TLS_CERT, PEER_TLS_KEY)
CA_LIFETIME = timedelta(days=3650)
LEAF_LIFETIME = timedelta(days=730)
RENEW_BEFORE = timedelta(days=30)
# Clocks across nodes differ a little; a certificate valid from "now" could be too new.
BACKDATE = timedelta(hours=1)


def peer_dns_names(instance_name: str, namespace: str, handle: str) -> list[str]:
    """The leaf's SANs: the headless Service and its pods, and the account peer Service."""
    headless = headless_service_name(instance_name)
    account = account_peer_service_name(handle)
    return [
        f"*.{headless}.{namespace}.svc.cluster.local",
        f"*.{headless}.{namespace}.svc",
        f"*.{headless}.{namespace}",
        headless,
        f"{headless}.{namespace}",
        f"{headless}.{namespace}.svc",
        f"{headless}.{namespace}.svc.cluster.local",
        account,
        f"{account}.{namespace}",
        f"{account}.{namespace}.svc",
        f"{account}.{namespace}.svc.cluster.local",
        f"*.{account}.{namespace}.svc.cluster.local",
    ]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, authority: bool) -> x509.KeyUsage:
    """A CA signs certificates (and CRLs); a leaf signs TLS handshakes (ECDSA: no encipherment)."""
    return x509.KeyUsage(
        digital_signature=not authority,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=authority,
        crl_sign=authority,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def generate_peer_tls(instance: KuraInstance, *, now: datetime) -> dict[str, str]:
    """A fresh CA and leaf for ``instance``, as PEM text by Secret key."""
    name, namespace = instance.metadata.name, namespace_of(instance)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{name} peer CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(authority=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans = peer_dns_names(name, namespace, instance.spec.account_handle)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} peer"))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(authority=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san) for san in sans]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {PEER_TLS_CA: _pem(ca), PEER_TLS_CERT: _pem(leaf), PEER_TLS_KEY: key}


def decode_secret_data(data: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's ``data`` (base64) as text; keys that are not valid base64 text are left out."""
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            decoded[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return decoded


def peer_tls_problem(
    material: Mapping[str, str], instance: KuraInstance, *, now: datetime
) -> str | None:
    """Why ``material`` (PEM text by key) is unusable for ``instance``'s pods; None when it is.

    Usable: all three keys; the key is the leaf's; the leaf verifies against the CA as a
    server for the first pod's ``KURA_NODE_URL`` host and is a client certificate too; and
    neither certificate expires within 30 days. The reasons never quote the material.
    """
    missing = [key for key in KEYS if not material.get(key)]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        ca = x509.load_pem_x509_certificate(material[PEER_TLS_CA].encode())
        leaf = x509.load_pem_x509_certificate(material[PEER_TLS_CERT].encode())
    except ValueError:
        return "a certificate is not valid PEM"
    try:
        key = serialization.load_pem_private_key(material[PEER_TLS_KEY].encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return f"{PEER_TLS_KEY} is not an unencrypted PEM private key"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != leaf.public_key().public_bytes(
        encoding, public
    ):
        return f"{PEER_TLS_KEY} is not the key of {PEER_TLS_CERT}"
    host = pod_dns_name(instance.metadata.name, 0, namespace_of(instance))
    try:
        verifier = PolicyBuilder().store(Store([ca])).time(now).build_server_verifier(DNSName(host))
        verifier.verify(leaf, [])
    except VerificationError as exc:
        return f"{PEER_TLS_CERT} does not verify against {PEER_TLS_CA} for {host}: {exc}"
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        return f"{PEER_TLS_CERT} is not a client certificate (peers authenticate each other)"
    for what, certificate in ((PEER_TLS_CA, ca), (PEER_TLS_CERT, leaf)):
        if certificate.not_valid_after_utc - now < RENEW_BEFORE:
            return f"{what} expires within {RENEW_BEFORE.days} days"
    return None


def render_peer_tls_secret(instance: KuraInstance, material: Mapping[str, str]) -> dict[str, Any]:
    """The Secret ``<inst>-peer-tls`` holding ``material``, owned by the instance."""
    metadata: dict[str, Any] = {
        "name": generated_peer_tls_secret_name(instance.metadata.name),
        "namespace": namespace_of(instance),
        "labels": instance_labels(instance),
    }
    if owners := owner_references(instance):
        metadata["ownerReferences"] = owners
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {key: base64.b64encode(material[key].encode()).decode() for key in KEYS},
    }
