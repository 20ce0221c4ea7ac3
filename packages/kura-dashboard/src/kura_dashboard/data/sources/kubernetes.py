"""KuraGateways and KuraInstances from the Kubernetes API, read-only, through kura-kube.

Two list calls per refresh, whatever the number of objects. Like the Prometheus source, it has a
short timeout and no client retries, so an unreachable API server shows as such at once; objects
that do not parse make the source degraded and are named, the rest still shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kura_core import (
    DEFAULT_GATEWAY_REPLICAS,
    DEFAULT_INSTANCE_REPLICAS,
    GATEWAY_ANNOTATION,
    GROUP,
    KURA_GATEWAY,
    KURA_INSTANCE,
    InputError,
    Kind,
    KuraGateway,
    KuraInstance,
    parse_gateway,
    parse_instance,
)
from kura_dashboard.data.readings import GatewayObject, InstanceObject, Inventory, SourceError
from kura_kube import ConfigError, KubeError
from kura_kube.client import KubeClient

DEFAULT_TIMEOUT = 3.0


def gateway_object(gateway: KuraGateway) -> GatewayObject:
    status = gateway.status
    return GatewayObject(
        name=gateway.metadata.name,
        namespace=gateway.metadata.namespace or "",
        region=gateway.spec.region,
        ingress_class=gateway.spec.ingress_class_name,
        controller_class=gateway.spec.controller_class_name,
        replicas=gateway.spec.replicas or DEFAULT_GATEWAY_REPLICAS,
        phase=status.phase if status else None,
        message=status.message if status else None,
        load_balancer=(status.load_balancer or None) if status else None,
        ready_replicas=status.ready_replicas if status else None,
    )


def instance_object(instance: KuraInstance) -> InstanceObject:
    status = instance.status
    annotations = instance.metadata.annotations or {}
    return InstanceObject(
        name=instance.metadata.name,
        namespace=instance.metadata.namespace or "",
        account=instance.spec.account_handle,
        region=instance.spec.region,
        ingress_class=instance.spec.ingress_class_name,
        gateway=annotations.get(GATEWAY_ANNOTATION),
        replicas=instance.spec.replicas or DEFAULT_INSTANCE_REPLICAS,
        phase=status.phase if status else None,
        ready_replicas=status.ready_replicas if status else None,
    )


class KubernetesSource:
    """Lists the kura objects of one namespace."""

    name = "kubernetes"

    def __init__(
        self,
        *,
        kubeconfig: Path | None = None,
        context: str | None = None,
        namespace: str = "kura",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
        self.timeout = timeout
        self.target = f"kubeconfig {kubeconfig or '(default)'}"
        self._client: KubeClient | None = None

    def _connect(self) -> KubeClient:
        if self._client is None:
            try:
                self._client = KubeClient.from_kubeconfig(
                    self.kubeconfig, self.context, timeout=self.timeout
                )
            except ConfigError as exc:
                raise SourceError(str(exc)) from None
            self.target = self._client.host
        return self._client

    def fetch(self, now: float) -> Inventory:
        kube = self._connect()
        raw_gateways = self._list(kube, KURA_GATEWAY)
        raw_instances = self._list(kube, KURA_INSTANCE)
        problems: list[str] = []
        gateways = []
        for item in raw_gateways:
            try:
                gateways.append(gateway_object(parse_gateway(item)))
            except InputError as exc:
                problems.append(str(exc))
        instances = []
        for item in raw_instances:
            try:
                instances.append(instance_object(parse_instance(item)))
            except InputError as exc:
                problems.append(str(exc))
        return Inventory(now, tuple(gateways), tuple(instances), tuple(problems))

    def _list(self, kube: KubeClient, kind: Kind) -> list[dict[str, Any]]:
        where = f"the Kubernetes API at {self.target}"
        try:
            return kube.list(kind, self.namespace)
        except KubeError as exc:
            if exc.reason == "Timeout":
                raise SourceError(f"{where} did not answer within {self.timeout:g}s") from None
            if not exc.status:
                raise SourceError(f"cannot connect to {where}: {exc.message}") from None
            problem = self._api_problem(exc, kind.plural)
            raise SourceError(problem, unreachable=exc.status >= 500) from None

    def _api_problem(self, exc: KubeError, plural: str) -> str:
        what = f"{plural}.{GROUP} in namespace {self.namespace}"
        if exc.status == 401:
            return "the API server refused the kubeconfig's credentials (401 Unauthorized)"
        if exc.status == 403:
            return f"not allowed to list {what} (403 Forbidden: check RBAC)"
        if exc.status == 404:
            return f"{what} not found (404): is the kura CRD installed?"
        return f"listing {what} failed: {exc.status} {exc.reason}"
