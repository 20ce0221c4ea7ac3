"""Step 1: the platform a smoke account lands on is there and healthy.

Names default to the upstream ones (docs/upstream.md): on ingress-nginx the regional gateway
is the platform chart's ``platform-kura-<region>-ingress-nginx-controller`` Deployment and Service
in namespace ``platform`` and its IngressClass is the region's class; on the Gateway API it is the
``Gateway`` named after the region's class in namespace ``platform`` (:mod:`kura_smoke.routing`
checks either). The shared Secret is ``kura/kura-shared-secrets``. The operator defaults to this
project's ``kura/kura-operator`` (upstream's controller was ``tuist-tuist-kura-controller``).
Every name can be overridden.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kura_core import DEPLOYMENT, NAMESPACE, SECRET, Region
from kura_kube import KubeError
from kura_kube.client import KubeClient
from kura_smoke.cluster_state import deployment_rollout
from kura_smoke.kube import ObjectRef
from kura_smoke.report import StepFailure
from kura_smoke.routing import Routing

OPERATOR = "kura-operator"
SHARED_SECRET = "kura-shared-secrets"


class PlatformNames(BaseModel):
    """What the platform check looks for."""

    model_config = ConfigDict(frozen=True)

    ingress_class: str
    regional_gateway: ObjectRef
    operator: ObjectRef
    shared_secret: ObjectRef

    @classmethod
    def defaults(cls, region: Region, routing: Routing) -> PlatformNames:
        return cls(
            ingress_class=region.ingress_class_name,
            regional_gateway=routing.default_regional_gateway(region),
            operator=ObjectRef(namespace=NAMESPACE, name=OPERATOR),
            shared_secret=ObjectRef(namespace=NAMESPACE, name=SHARED_SECRET),
        )


class PlatformState(BaseModel):
    model_config = ConfigDict(frozen=True)

    kubernetes_version: str
    regional_address: str
    regional_summary: str


def check_platform(kube: KubeClient, names: PlatformNames, routing: Routing) -> PlatformState:
    """Every platform precondition, first failure raised as :class:`StepFailure`."""
    try:
        version = kube.version()
    except KubeError as exc:
        raise StepFailure(
            "the Kubernetes API does not answer",
            expected="GET /version answers",
            got=str(exc),
            cause="a wrong kubeconfig or context, expired credentials, or no route to the API",
        ) from exc
    try:
        return _check_objects(kube, names, routing, str(version.get("gitVersion") or "unknown"))
    except KubeError as exc:
        raise StepFailure(
            "the Kubernetes API refused a read",
            expected=f"the smoke may read {routing.platform_reads}",
            got=str(exc),
            cause="the smoke's credentials lack RBAC read access, or the API is unhealthy",
        ) from exc


def _check_objects(
    kube: KubeClient, names: PlatformNames, routing: Routing, version: str
) -> PlatformState:
    regional = routing.check_regional_gateway(kube, names.ingress_class, names.regional_gateway)
    operator = deployment_rollout(
        kube.get(DEPLOYMENT, names.operator.namespace, names.operator.name)
    )
    if not operator.ok:
        raise StepFailure(
            f"the operator Deployment {names.operator} is not ready",
            expected=f"Deployment {names.operator} rolled out with every replica ready",
            got=operator.state,
            cause="the operator is not deployed, or crashing (see its logs)",
        )
    secret = names.shared_secret
    if kube.get(SECRET, secret.namespace, secret.name) is None:
        raise StepFailure(
            f"Secret {secret} is missing",
            expected=f"Secret {secret} exists",
            got="not found",
            cause="the external secret has not synced: Kura pods would have no control-plane "
            "client credentials and answer 503 to every token",
        )
    return PlatformState(
        kubernetes_version=version,
        regional_address=regional.address,
        regional_summary=regional.summary,
    )
