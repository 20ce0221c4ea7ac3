"""Peer mTLS material: what is generated, what counts as usable, and the Secret that holds it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.general_name import DNSName
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from kura_core.resources import KuraInstance, parse_instance
from kura_operator.peer_tls import (
    decode_secret_data,
    generate_peer_tls,
    peer_dns_names,
    peer_tls_problem,
    render_peer_tls_secret,
)
from tests.provider_hetzner.kube_schemas import assert_valid

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAME = "kura-acme-us-east-1"
UID = "0d6f3c2b-1b8e-4f4a-8d55-2c1b9a7e6f10"


def instance(name: str = NAME) -> KuraInstance:
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": {"name": name, "namespace": "kura", "uid": UID},
            "spec": {
                "accountHandle": "acme",
                "tenantID": "acme",
                "region": "us-east",
                "image": "ghcr.io/tuist/kura:0.5.0",
            },
        }
    )


@cache
def material() -> dict[str, str]:
    return generate_peer_tls(instance(), now=NOW)


def certificate(key: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(material()[key].encode())


def verifies_for(host: str) -> bool:
    store = Store([certificate("ca.pem")])
    verifier = PolicyBuilder().store(store).time(NOW).build_server_verifier(DNSName(host))
    try:
        verifier.verify(certificate("tls.crt"), [])
    except VerificationError:
        return False
    return True


def test_fresh_material_is_usable() -> None:
    assert peer_tls_problem(material(), instance(), now=NOW) is None


def test_the_ca_and_the_leaf_are_upstreams() -> None:
    ca, leaf = certificate("ca.pem"), certificate("tls.crt")
    name = x509.NameAttribute
    assert ca.subject == x509.Name([name(NameOID.COMMON_NAME, f"{NAME} peer CA")])
    assert leaf.subject == x509.Name([name(NameOID.COMMON_NAME, f"{NAME} peer")])
    assert leaf.issuer == ca.subject
    for cert, years in ((ca, 10), (leaf, 2)):
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == "secp256r1"
        lifetime = cert.not_valid_after_utc - NOW
        assert timedelta(days=365 * years - 1) < lifetime < timedelta(days=365 * years + 3)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == peer_dns_names(NAME, "kura", "acme")


@pytest.mark.parametrize("ordinal", [0, 1, 2, 9])
def test_the_leaf_covers_every_pods_node_url(ordinal: int) -> None:
    assert verifies_for(f"{NAME}-{ordinal}.{NAME}-headless.kura.svc.cluster.local")


@pytest.mark.parametrize(
    "host",
    [
        f"{NAME}-headless.kura.svc.cluster.local",
        "kura-acme-peers.kura.svc.cluster.local",
        "kura-acme-peers",
    ],
)
def test_the_leaf_covers_the_instance_and_account_services(host: str) -> None:
    assert verifies_for(host)


def test_the_leaf_covers_no_other_instance() -> None:
    assert not verifies_for("kura-other-us-east-1-0.kura-other-us-east-1-headless.kura.svc")
    assert not verifies_for("acme-us-east-1.kura.tuist.dev")  # public TLS is the gateway's


def test_each_generation_is_new() -> None:
    again = generate_peer_tls(instance(), now=NOW)
    assert again["tls.key"] != material()["tls.key"]
    assert again["ca.pem"] != material()["ca.pem"]


def other_material() -> dict[str, str]:
    return generate_peer_tls(instance(), now=NOW)


def leaf_without_client_auth() -> dict[str, str]:
    """A leaf the same CA signs for the same names, but only as a server."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server only")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=700))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in peer_dns_names(NAME, "kura", "acme")]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "ca.pem": ca.public_bytes(pem).decode(),
        "tls.crt": leaf.public_bytes(pem).decode(),
        "tls.key": key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: {k: v for k, v in m.items() if k != "tls.key"}, "missing tls.key"),
        (lambda m: {**m, "ca.pem": "", "tls.crt": ""}, "missing ca.pem, tls.crt"),
        (lambda m: {**m, "tls.crt": "not a certificate"}, "a certificate is not valid PEM"),
        (lambda m: {**m, "tls.key": "junk"}, "tls.key is not an unencrypted PEM private key"),
        (lambda m: {**m, "tls.key": other_material()["tls.key"]}, "is not the key of tls.crt"),
        (
            lambda m: {**m, "ca.pem": other_material()["ca.pem"]},
            "tls.crt does not verify against ca.pem",
        ),
        (lambda m: leaf_without_client_auth(), "tls.crt is not a client certificate"),
    ],
    ids=["no-key", "no-certs", "bad-cert", "bad-key", "other-key", "other-ca", "server-only"],
)
def test_unusable_material_says_why(change: Any, problem: str) -> None:
    found = peer_tls_problem(change(dict(material())), instance(), now=NOW)
    assert found is not None
    assert problem in found
    assert "PRIVATE KEY" not in found


def test_material_of_another_instance_is_unusable() -> None:
    found = peer_tls_problem(material(), instance("kura-other-us-east-1"), now=NOW)
    assert found is not None
    assert "kura-other-us-east-1-0.kura-other-us-east-1-headless" in found


def test_material_is_renewed_thirty_days_before_it_expires() -> None:
    leaf_expiry = certificate("tls.crt").not_valid_after_utc
    assert peer_tls_problem(material(), instance(), now=leaf_expiry - timedelta(days=31)) is None
    near = peer_tls_problem(material(), instance(), now=leaf_expiry - timedelta(days=29))
    assert near == "tls.crt expires within 30 days"
    assert peer_tls_problem(material(), instance(), now=leaf_expiry + timedelta(days=1))


def test_the_secret_round_trips_and_is_valid() -> None:
    secret = render_peer_tls_secret(instance(), material())
    assert_valid(secret)
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == f"{NAME}-peer-tls"
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kura-controller"
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("KuraInstance", UID, True)
    assert sorted(secret["data"]) == ["ca.pem", "tls.crt", "tls.key"]
    assert decode_secret_data(secret["data"]) == material()


def test_undecodable_secret_data_is_left_out() -> None:
    data = {"ca.pem": "!!!", "tls.crt": base64.b64encode(b"\xff\xfe").decode(), "x": "eA=="}
    assert decode_secret_data(data) == {"x": "x"}
    assert decode_secret_data(None) == {}
