"""The CustomResourceDefinitions a kura control plane serves: kura's, the cert-manager
Certificate kind the operator renders, and the Gateway API with Envoy Gateway's policies, which
the ``gateway-api`` ingress provider renders (README: "Vendored CRDs" says how to update them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kura_core import crds

CRD_DIR = Path(__file__).parent / "crds"
CERT_MANAGER_CERTIFICATE = CRD_DIR / "cert-manager.io_certificates.yaml"
# sigs.k8s.io/gateway-api, standard channel: the kinds kura renders or refers to.
GATEWAY_API_VERSION = "v1.6.1"
GATEWAY_API_KINDS = (
    "gatewayclasses",
    "gateways",
    "listenersets",
    "httproutes",
    "grpcroutes",
    "referencegrants",
)
# github.com/envoyproxy/gateway, whose go.mod requires the Gateway API release above.
ENVOY_GATEWAY_VERSION = "v1.9.1"
ENVOY_GATEWAY_KINDS = (
    "envoyproxies",
    "clienttrafficpolicies",
    "backendtrafficpolicies",
    "httproutefilters",
)
# libyaml's parser where PyYAML has it (its wheels do): the vendored CRDs are 2.6 MB of YAML,
# seconds to read with the pure-Python parser and a tenth of that with libyaml.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: Path) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=_LOADER))


def cert_manager_certificate() -> dict[str, Any]:
    return _load(CERT_MANAGER_CERTIFICATE)


def gateway_api_crds() -> list[dict[str, Any]]:
    """The Gateway API's CRDs (with their CEL rules), then Envoy Gateway's policy CRDs."""
    return [
        *(_load(CRD_DIR / f"gateway.networking.k8s.io_{kind}.yaml") for kind in GATEWAY_API_KINDS),
        *(_load(CRD_DIR / f"gateway.envoyproxy.io_{kind}.yaml") for kind in ENVOY_GATEWAY_KINDS),
    ]


def kura_platform_crds() -> list[dict[str, Any]]:
    """kura's CRDs (``kura crds``), cert-manager's Certificate, the Gateway API and Envoy
    Gateway's policies."""
    return [*crds.custom_resource_definitions(), cert_manager_certificate(), *gateway_api_crds()]
