"""The ``gateway-api`` ingress provider: a thin facade over one module per concept.

Gateways (:mod:`~kura_provider_gateway_api.gateways`), instance routes
(:mod:`~kura_provider_gateway_api.routes`), status (:mod:`~kura_provider_gateway_api.status`),
PromQL (:mod:`~kura_provider_gateway_api.metrics`); what is Envoy Gateway's own is in
:mod:`~kura_provider_gateway_api.envoy_gateway`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kura_core import (
    DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    GATEWAY_ANNOTATION,
    Component,
    InputError,
    KuraGateway,
    KuraGatewayStatus,
    KuraInstance,
    LoadBalancerProvider,
    MetricQueries,
    Region,
    is_label_value,
)
from kura_provider_gateway_api import envoy_gateway
from kura_provider_gateway_api.gateways import (
    PLATFORM_NAMESPACE,
    gateway_peer,
    render_dedicated_gateway,
    shared_gateway_values,
)
from kura_provider_gateway_api.metrics import envoy_queries
from kura_provider_gateway_api.routes import assigned_gateway, render_instance_routes
from kura_provider_gateway_api.status import compute_gateway_status


class GatewayApiProvider:
    """Gateways as Gateway API objects, served by Envoy Gateway."""

    name = "gateway-api"

    def default_controller_class(self, ingress_class_name: str) -> str:
        # The gateway's name in metrics and in the dashboard: its Gateway is named after the class.
        return ingress_class_name

    def render_gateway(
        self,
        gateway: KuraGateway,
        *,
        region: Region | None,
        load_balancer: LoadBalancerProvider,
        service_account_name: str = DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    ) -> list[dict[str, Any]]:
        # No ServiceAccount: the proxies run with none of ours and no API token (envoy_gateway).
        return render_dedicated_gateway(gateway, region=region, load_balancer=load_balancer)

    def gateway_status(
        self,
        gateway: KuraGateway,
        *,
        children: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> KuraGatewayStatus:
        """From the observed ``Gateway`` alone: Envoy Gateway makes and names the Deployment
        and Service itself, and reports them through the Gateway's conditions and addresses."""
        return compute_gateway_status(gateway, gateway_object=children.get("Gateway"), now=now)

    def render_instance_ingress(
        self, instance: KuraInstance, *, cluster_issuer: str | None = None
    ) -> list[dict[str, Any]]:
        return render_instance_routes(instance, cluster_issuer=cluster_issuer)

    def gateway_peers(
        self, instance: KuraInstance, *, region: Region | None
    ) -> list[dict[str, Any]]:
        parent = assigned_gateway(instance)
        if not is_label_value(parent.name):
            raise InputError(
                f"KuraInstance {instance.metadata.name}: ingress class {parent.name!r} is not a "
                "gateway name"
            )
        dedicated = (instance.metadata.annotations or {}).get(GATEWAY_ANNOTATION)
        if dedicated:
            return [gateway_peer(parent.name, namespace=None)]
        return [gateway_peer(parent.name, namespace=PLATFORM_NAMESPACE)]

    def shared_gateway_values(
        self, region: Region, *, load_balancer: LoadBalancerProvider
    ) -> dict[str, Any]:
        return shared_gateway_values(region, load_balancer=load_balancer)

    def metric_queries(self) -> MetricQueries:
        return envoy_queries()

    def capacity_components(self, region: Region) -> list[Component]:
        return [envoy_gateway.envoy_proxy_term()]
