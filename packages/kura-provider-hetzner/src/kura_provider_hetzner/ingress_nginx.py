"""The ``ingress-nginx`` ingress provider: gateways run the community ingress-nginx controller.

The provider is a thin facade over one module per concept: the nginx keys
(:mod:`~kura_provider_hetzner.gateway_config`) and their sizing
(:mod:`~kura_provider_hetzner.gateway_tuning`), a dedicated gateway's objects
(:mod:`~kura_provider_hetzner.gateway_objects`) and status
(:mod:`~kura_provider_hetzner.gateway_status`), the shared gateways' chart values
(:mod:`~kura_provider_hetzner.shared_gateway`), instance ingress
(:mod:`~kura_provider_hetzner.instance_ingress`) and PromQL (:mod:`~kura_provider_hetzner.metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kura_core import (
    DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    Component,
    KuraGateway,
    KuraGatewayStatus,
    KuraInstance,
    LoadBalancerProvider,
    MetricQueries,
    Region,
)
from kura_provider_hetzner.gateway_objects import render_gateway_objects
from kura_provider_hetzner.gateway_status import compute_gateway_status
from kura_provider_hetzner.gateway_tuning import GatewayTuning
from kura_provider_hetzner.instance_ingress import gateway_peers, render_instance_objects
from kura_provider_hetzner.metrics import ingress_nginx_queries
from kura_provider_hetzner.shared_gateway import shared_gateway_values


class IngressNginxProvider:
    """Dedicated and shared gateways as ingress-nginx controllers, sized by ``tuning``."""

    name = "ingress-nginx"

    def __init__(self, tuning: GatewayTuning | None = None) -> None:
        self.tuning = tuning if tuning is not None else GatewayTuning()

    def default_controller_class(self, ingress_class_name: str) -> str:
        # One controller class per IngressClass, so each controller only serves its own class.
        return f"k8s.io/{ingress_class_name}-ingress-nginx"

    def render_gateway(
        self,
        gateway: KuraGateway,
        *,
        region: Region | None,
        load_balancer: LoadBalancerProvider,
        service_account_name: str = DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    ) -> list[dict[str, Any]]:
        return render_gateway_objects(
            gateway,
            region=region,
            load_balancer=load_balancer,
            controller_class=gateway.spec.controller_class_name
            or self.default_controller_class(gateway.spec.ingress_class_name),
            service_account_name=service_account_name,
            tuning=self.tuning,
        )

    def gateway_status(
        self,
        gateway: KuraGateway,
        *,
        children: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> KuraGatewayStatus:
        return compute_gateway_status(
            gateway,
            deployment=children.get("Deployment"),
            service=children.get("Service"),
            now=now,
        )

    def render_instance_ingress(
        self, instance: KuraInstance, *, cluster_issuer: str | None = None
    ) -> list[dict[str, Any]]:
        return render_instance_objects(instance, cluster_issuer=cluster_issuer)

    def gateway_peers(
        self, instance: KuraInstance, *, region: Region | None
    ) -> list[dict[str, Any]]:
        return gateway_peers(instance, region=region)

    def shared_gateway_values(
        self, region: Region, *, load_balancer: LoadBalancerProvider
    ) -> dict[str, Any]:
        return shared_gateway_values(
            region,
            load_balancer=load_balancer,
            controller_class=self.default_controller_class(region.ingress_class_name),
            tuning=self.tuning,
        )

    def metric_queries(self) -> MetricQueries:
        return ingress_nginx_queries()

    def capacity_components(self, region: Region) -> list[Component]:
        # The nginx-worker term only; the node, CNI and LB terms belong to others.
        return [self.tuning.nginx_workers()]
