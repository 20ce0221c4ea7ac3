"""Strict validation of rendered objects against the official Kubernetes schemas.

kubernetes-validate ships the OpenAPI schemas of each Kubernetes release. cert-manager's
Certificate is a custom resource it has no schema for, so it gets a structural check of the
fields cert-manager v1 requires and the ones kura sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import all_versions

KUBERNETES_VERSIONS = ("1.31", "1.32", "1.33")
CERT_MANAGER_API = "cert-manager.io/v1"


def supported_versions() -> set[str]:
    """Kubernetes minor versions the installed kubernetes-validate has schemas for."""
    return {".".join(version.split(".")[:2]) for version in all_versions()}


def certificate_problems(obj: Mapping[str, Any]) -> list[str]:
    """What keeps ``obj`` from being the cert-manager v1 Certificate kura renders."""
    problems = []
    if obj.get("apiVersion") != CERT_MANAGER_API or obj.get("kind") != "Certificate":
        problems.append("not a cert-manager.io/v1 Certificate")
    metadata = obj.get("metadata") or {}
    if not metadata.get("name") or not metadata.get("namespace"):
        problems.append("metadata needs name and namespace")
    spec = obj.get("spec") or {}
    allowed = {"secretName", "dnsNames", "issuerRef", "privateKey"}
    problems.extend(f"unexpected spec field {key}" for key in sorted(set(spec) - allowed))
    if not isinstance(spec.get("secretName"), str) or not spec.get("secretName"):
        problems.append("spec.secretName must be a non-empty string")
    names = spec.get("dnsNames")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        problems.append("spec.dnsNames must be a non-empty list of strings")
    issuer = spec.get("issuerRef") or {}
    if not isinstance(issuer.get("name"), str) or not issuer.get("name"):
        problems.append("spec.issuerRef.name must be a non-empty string")
    if issuer.get("kind") not in ("Issuer", "ClusterIssuer"):
        problems.append("spec.issuerRef.kind must be Issuer or ClusterIssuer")
    key = spec.get("privateKey") or {}
    if key.get("algorithm") not in ("RSA", "ECDSA", "Ed25519"):
        problems.append("spec.privateKey.algorithm must be RSA, ECDSA or Ed25519")
    if key.get("algorithm") == "ECDSA" and key.get("size") not in (256, 384, 521):
        problems.append("spec.privateKey.size of an ECDSA key must be 256, 384 or 521")
    if key.get("rotationPolicy") not in ("Never", "Always"):
        problems.append("spec.privateKey.rotationPolicy must be Never or Always")
    return problems


def assert_valid(obj: Mapping[str, Any]) -> None:
    """Strictly valid for every version in :data:`KUBERNETES_VERSIONS` (or a sound Certificate)."""
    if obj.get("apiVersion") == CERT_MANAGER_API:
        assert certificate_problems(obj) == []
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(dict(obj), version, strict=True)
