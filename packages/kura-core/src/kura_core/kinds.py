"""The Kubernetes resources kura reads and writes: one table, and their REST paths.

The operator, the smoke tool and the dashboard all reach the API server through ``kura_kube``,
which takes these. Pure data: nothing here imports a Kubernetes client. The two custom
resources' entries are the ones their CRDs are generated from (:mod:`kura_core.crds`); the rest
are checked against a real API server's discovery and the vendored CRDs by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_core.resources import GATEWAY_KIND, GROUP, INSTANCE_KIND, VERSION


@dataclass(frozen=True)
class Kind:
    """One API resource: where it is served and whether its objects live in a namespace."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_path(self) -> str:
        """The discovery path of the kind's group version (``/apis/apps/v1``, ``/api/v1``)."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None, name: str | None = None, subresource: str = "") -> str:
        """The REST path; a namespaced kind without a namespace is its list across namespaces.

        ``ValueError`` for a namespaced object named without its namespace: that path would
        address nothing.
        """
        base = self.group_path
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        elif self.namespaced and name:
            raise ValueError(f"{self.kind} is namespaced: a namespace is required")
        path = f"{base}/{self.plural}"
        if name:
            path += f"/{name}"
            if subresource:
                path += f"/{subresource}"
        return path


KURA_GATEWAY = Kind(GROUP, VERSION, "kuragateways", GATEWAY_KIND)
KURA_INSTANCE = Kind(GROUP, VERSION, "kurainstances", INSTANCE_KIND)
CONFIG_MAP = Kind("", "v1", "configmaps", "ConfigMap")
SERVICE = Kind("", "v1", "services", "Service")
SECRET = Kind("", "v1", "secrets", "Secret")
EVENT = Kind("", "v1", "events", "Event")
POD = Kind("", "v1", "pods", "Pod")
DEPLOYMENT = Kind("apps", "v1", "deployments", "Deployment")
STATEFUL_SET = Kind("apps", "v1", "statefulsets", "StatefulSet")
INGRESS = Kind("networking.k8s.io", "v1", "ingresses", "Ingress")
INGRESS_CLASS = Kind("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False)
NETWORK_POLICY = Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy")
POD_DISRUPTION_BUDGET = Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")
LEASE = Kind("coordination.k8s.io", "v1", "leases", "Lease")
CERTIFICATE = Kind("cert-manager.io", "v1", "certificates", "Certificate")
# The gateway-api provider's: Gateway API objects, and Envoy Gateway's policies for them.
GATEWAY = Kind("gateway.networking.k8s.io", "v1", "gateways", "Gateway")
LISTENER_SET = Kind("gateway.networking.k8s.io", "v1", "listenersets", "ListenerSet")
HTTP_ROUTE = Kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
GRPC_ROUTE = Kind("gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute")
ENVOY_PROXY = Kind("gateway.envoyproxy.io", "v1alpha1", "envoyproxies", "EnvoyProxy")
CLIENT_TRAFFIC_POLICY = Kind(
    "gateway.envoyproxy.io", "v1alpha1", "clienttrafficpolicies", "ClientTrafficPolicy"
)
BACKEND_TRAFFIC_POLICY = Kind(
    "gateway.envoyproxy.io", "v1alpha1", "backendtrafficpolicies", "BackendTrafficPolicy"
)
HTTP_ROUTE_FILTER = Kind("gateway.envoyproxy.io", "v1alpha1", "httproutefilters", "HTTPRouteFilter")

KINDS: tuple[Kind, ...] = (
    KURA_GATEWAY,
    KURA_INSTANCE,
    CONFIG_MAP,
    SERVICE,
    SECRET,
    EVENT,
    POD,
    DEPLOYMENT,
    STATEFUL_SET,
    INGRESS,
    INGRESS_CLASS,
    NETWORK_POLICY,
    POD_DISRUPTION_BUDGET,
    LEASE,
    CERTIFICATE,
    GATEWAY,
    LISTENER_SET,
    HTTP_ROUTE,
    GRPC_ROUTE,
    ENVOY_PROXY,
    CLIENT_TRAFFIC_POLICY,
    BACKEND_TRAFFIC_POLICY,
    HTTP_ROUTE_FILTER,
)
_BY_TYPE = {(k.api_version, k.kind): k for k in KINDS}


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """The :class:`Kind` of an object, from its apiVersion and kind; ``ValueError`` for one
    outside the table."""
    try:
        return _BY_TYPE[(str(obj["apiVersion"]), str(obj["kind"]))]
    except KeyError:
        raise ValueError(
            f"kura does not manage {obj.get('apiVersion')}/{obj.get('kind')} objects"
        ) from None


def object_key(kind: Kind, namespace: str | None, name: str) -> str:
    """``Kind ns/name`` (or ``Kind name`` when cluster-scoped), for logs and messages."""
    return f"{kind.kind} {namespace}/{name}" if kind.namespaced else f"{kind.kind} {name}"
