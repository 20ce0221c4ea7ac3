"""A throwaway third-party provider pair, registered under names core has never heard of."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kura_core import IngressProvider, LoadBalancerProvider, hookimpl
from kura_core.capacity import Component
from kura_core.metric_queries import GatewayQuery, Metric, MetricQueries
from kura_core.regions import Region
from kura_core.resources import KuraGateway, KuraGatewayStatus, KuraInstance
from kura_core.units import Bandwidth


class FakeLoadBalancers:
    name = "fake-lb"

    def service_annotations(
        self,
        region: Region,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        return {"fake/name": load_balancer_name, "fake/where": region.location, **(overrides or {})}

    def capacity_components(self, region: Region) -> list[Component]:
        return [Component(name="regional-lb", capacity=Bandwidth.parse("3Gbps"), source="fake")]


class FakeIngress:
    name = "fake-ingress"

    def default_controller_class(self, ingress_class_name: str) -> str:
        return f"example.com/{ingress_class_name}"

    def render_gateway(
        self,
        gateway: KuraGateway,
        *,
        region: Region,
        load_balancer: LoadBalancerProvider,
        service_account_name: str = "fake",
    ) -> list[dict[str, Any]]:
        annotations = load_balancer.service_annotations(
            region, load_balancer_name=f"lb-{gateway.metadata.name}"
        )
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{gateway.metadata.name}-fake", "annotations": annotations},
                "data": {"class": gateway.spec.ingress_class_name},
            }
        ]

    def gateway_status(
        self,
        gateway: KuraGateway,
        *,
        deployment: Mapping[str, Any] | None,
        service: Mapping[str, Any] | None,
        now: datetime,
    ) -> KuraGatewayStatus:
        return KuraGatewayStatus(phase="Ready" if deployment else "Pending", last_reconciled_at=now)

    def render_instance_ingress(
        self, instance: KuraInstance, *, cluster_issuer: str | None = None
    ) -> list[dict[str, Any]]:
        return []

    def shared_gateway_values(
        self, region: Region, *, load_balancer: LoadBalancerProvider
    ) -> dict[str, Any]:
        return {f"fake-{region.id}": {"class": region.ingress_class_name}}

    def metric_queries(self) -> MetricQueries:
        return MetricQueries(
            gateway_label="gw",
            pod_label="pod",
            window="1m",
            by_gateway=tuple(
                GatewayQuery(promql=f"fake_{metric.value}", metric=metric) for metric in Metric
            ),
            by_pod={metric: f'fake_{metric.value}{{gw="{{gateway}}"}}' for metric in Metric},
        )

    def capacity_components(self, region: Region) -> list[Component]:
        return []


class ThirdPartyPlugin:
    """Registers both fakes, exactly as an installed third-party plugin would."""

    @hookimpl
    def kura_register_load_balancer_providers(
        self, register: Callable[[LoadBalancerProvider], None]
    ) -> None:
        register(FakeLoadBalancers())

    @hookimpl
    def kura_register_ingress_providers(self, register: Callable[[IngressProvider], None]) -> None:
        register(FakeIngress())
