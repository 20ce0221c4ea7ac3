"""Step 1: the platform a smoke account lands on is there and healthy.

Names default to the upstream ones (docs/upstream.md): the regional gateway
is the platform chart's ``platform-kura-<region>-ingress-nginx-controller`` Deployment and Service
in namespace ``platform``, its IngressClass is the region's class, the shared Secret is
``kura/kura-shared-secrets``. The operator defaults to this project's ``kura/kura-operator``
(upstream's controller was ``tuist-tuist-kura-controller``). Every name can be overridden.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kura_core import NAMESPACE, InputError, Region, regional_gateway_values_key
from kura_smoke.cluster_state import deployment_rollout, load_balancer_address
from kura_smoke.kube import DEPLOYMENT, INGRESS_CLASS, SECRET, SERVICE, KubeClient, KubeError
from kura_smoke.report import StepFailure

PLATFORM_RELEASE = "platform"
PLATFORM_NAMESPACE = "platform"
OPERATOR = "kura-operator"
SHARED_SECRET = "kura-shared-secrets"


class ObjectRef(BaseModel):
    """``namespace/name`` of a namespaced object."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str, *, option: str) -> ObjectRef:
        namespace, sep, name = text.partition("/")
        if not (sep and namespace and name) or "/" in name:
            raise InputError(f"{option} {text!r}: expected NAMESPACE/NAME")
        return cls(namespace=namespace, name=name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class PlatformNames(BaseModel):
    """What the platform check looks for."""

    model_config = ConfigDict(frozen=True)

    ingress_class: str
    regional_gateway: ObjectRef
    operator: ObjectRef
    shared_secret: ObjectRef

    @classmethod
    def defaults(cls, region: Region) -> PlatformNames:
        return cls(
            ingress_class=region.ingress_class_name,
            regional_gateway=ObjectRef(
                namespace=PLATFORM_NAMESPACE,
                name=f"{PLATFORM_RELEASE}-{regional_gateway_values_key(region.id)}-controller",
            ),
            operator=ObjectRef(namespace=NAMESPACE, name=OPERATOR),
            shared_secret=ObjectRef(namespace=NAMESPACE, name=SHARED_SECRET),
        )


class PlatformState(BaseModel):
    model_config = ConfigDict(frozen=True)

    kubernetes_version: str
    regional_address: str


def check_platform(kube: KubeClient, names: PlatformNames) -> PlatformState:
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
        return _check_objects(kube, names, str(version.get("gitVersion") or "unknown"))
    except KubeError as exc:
        raise StepFailure(
            "the Kubernetes API refused a read",
            expected="the smoke may read Deployments, Services, IngressClasses and Secrets",
            got=str(exc),
            cause="the smoke's credentials lack RBAC read access, or the API is unhealthy",
        ) from exc


def _check_objects(kube: KubeClient, names: PlatformNames, version: str) -> PlatformState:
    if kube.get(INGRESS_CLASS, None, names.ingress_class) is None:
        raise StepFailure(
            f"IngressClass {names.ingress_class} is missing",
            expected=f"IngressClass {names.ingress_class} exists",
            got="not found",
            cause="the region's shared gateway is not deployed (platform chart block disabled?)",
        )
    gateway = names.regional_gateway
    rollout = deployment_rollout(kube.get(DEPLOYMENT, gateway.namespace, gateway.name))
    if not rollout.ok:
        raise StepFailure(
            f"the regional gateway Deployment {gateway} is not ready",
            expected=f"Deployment {gateway} rolled out with every replica ready",
            got=rollout.state,
            cause="gateway pods are pending or crashing (node pool capacity, image pull, config)",
        )
    address = load_balancer_address(kube.get(SERVICE, gateway.namespace, gateway.name))
    if not address:
        raise StepFailure(
            f"the regional gateway Service {gateway} has no load-balancer address",
            expected=f"Service {gateway} has status.loadBalancer.ingress",
            got="no load-balancer ingress",
            cause="the cloud controller has not provisioned the load balancer (quota, annotations)",
        )
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
    return PlatformState(kubernetes_version=version, regional_address=address)
