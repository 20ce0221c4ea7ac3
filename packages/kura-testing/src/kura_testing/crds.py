"""The CustomResourceDefinitions a kura control plane serves: kura's and the cert-manager
Certificate kind the operator renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kura_core import crds

CERT_MANAGER_CERTIFICATE = Path(__file__).parent / "crds" / "cert-manager.io_certificates.yaml"


def cert_manager_certificate() -> dict[str, Any]:
    return dict(yaml.safe_load(CERT_MANAGER_CERTIFICATE.read_text()))


def kura_platform_crds() -> list[dict[str, Any]]:
    """kura's CRDs (``kura crds``), then cert-manager's Certificate."""
    return [*crds.custom_resource_definitions(), cert_manager_certificate()]
