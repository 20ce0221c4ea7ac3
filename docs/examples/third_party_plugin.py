"""A third-party provider plugin: a load-balancer and an ingress provider, written against
kura-core's public API alone (docs/plugin-utilities.md), under names core has never heard of.

Published, it would be one entry point::

    [project.entry-points.kura]
    example = "third_party_plugin:ThirdPartyPlugin"

and a region would use it with ``load_balancer_provider: fake-lb`` and
``ingress_provider: fake-ingress`` in its catalog. kura's tests load this very file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kura_core import (
    Bandwidth,
    Component,
    GatewayQuery,
    IngressProvider,
    KuraGateway,
    KuraGatewayStatus,
    KuraInstance,
    LoadBalancerProvider,
    Metric,
    MetricQueries,
    Region,
    hookimpl,
)


class FakeLoadBalancers:
    name = "fake-lb"

    def service_annotations(
        self,
        region: Region | None,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        where = {"fake/where": region.location} if region else {}
        return {"fake/name": load_balancer_name, **where, **(overrides or {})}

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
        region: Region | None,
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
        children: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> KuraGatewayStatus:
        ready = "ConfigMap" in children
        return KuraGatewayStatus(phase="Ready" if ready else "Pending", last_reconciled_at=now)

    def render_instance_ingress(
        self, instance: KuraInstance, *, cluster_issuer: str | None = None
    ) -> list[dict[str, Any]]:
        return []

    def gateway_peers(
        self, instance: KuraInstance, *, region: Region | None
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
