"""KuraGateways and KuraInstances from the Kubernetes API, read-only, with the official client.

Two list calls per refresh, whatever the number of objects. Like the Prometheus source, it has a
short timeout and no client retries, so an unreachable API server shows as such at once; objects
that do not parse make the source degraded and are named, the rest still shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from kura_core import (
    DEFAULT_GATEWAY_REPLICAS,
    DEFAULT_INSTANCE_REPLICAS,
    GATEWAY_ANNOTATION,
    GROUP,
    VERSION,
    InputError,
    KuraGateway,
    KuraInstance,
    parse_gateway,
    parse_instance,
)
from kura_dashboard.data.readings import GatewayObject, InstanceObject, Inventory, SourceError
from kura_dashboard.data.sources.prometheus import connection_reason

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
        self._api: client.CustomObjectsApi | None = None

    def _connect(self) -> client.CustomObjectsApi:
        if self._api is None:
            configuration = client.Configuration()
            try:
                # The client's config loaders carry no annotations.
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(self.kubeconfig) if self.kubeconfig else None,
                    context=self.context,
                    client_configuration=configuration,
                )
            except (ConfigException, OSError) as exc:
                raise SourceError(f"cannot load the kubeconfig: {exc}") from None
            # No retries: an unreachable API server must show at once, not after urllib3's three.
            configuration.retries = False
            self.target = configuration.host
            self._api = client.CustomObjectsApi(client.ApiClient(configuration))
        return self._api

    def fetch(self, now: float) -> Inventory:
        api = self._connect()
        raw_gateways = self._list(api, "kuragateways")
        raw_instances = self._list(api, "kurainstances")
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

    def _list(self, api: client.CustomObjectsApi, plural: str) -> list[dict[str, Any]]:
        where = f"the Kubernetes API at {self.target}"
        try:
            answer = api.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, _request_timeout=self.timeout
            )
        except ApiException as exc:
            problem = self._api_problem(exc, plural)
            raise SourceError(problem, unreachable=exc.status >= 500) from None
        except urllib3.exceptions.ReadTimeoutError:
            raise SourceError(f"{where} did not answer within {self.timeout:g}s") from None
        except urllib3.exceptions.HTTPError as exc:
            raise SourceError(f"cannot connect to {where}: {connection_reason(exc)}") from None
        items: list[dict[str, Any]] = cast(dict[str, Any], answer).get("items", [])
        return items

    def _api_problem(self, exc: ApiException, plural: str) -> str:
        what = f"{plural}.{GROUP} in namespace {self.namespace}"
        if exc.status == 401:
            return "the API server refused the kubeconfig's credentials (401 Unauthorized)"
        if exc.status == 403:
            return f"not allowed to list {what} (403 Forbidden: check RBAC)"
        if exc.status == 404:
            return f"{what} not found (404): is the kura CRD installed?"
        return f"listing {what} failed: {exc.status} {exc.reason}"
