"""The platform chart values of a region's shared gateway (docs/upstream.md).

Each region's shared gateway is an alias of the ingress-nginx chart,
``kura-<region>-ingress-nginx``. Its ``controller.config`` is the same key set dedicated gateways
get, from the same definition.
"""

from __future__ import annotations

from typing import Any

from kura_core import (
    LoadBalancerProvider,
    Region,
    regional_gateway_values_key,
    regional_load_balancer_name,
)
from kura_provider_hetzner.gateway_config import gateway_nginx_config
from kura_provider_hetzner.gateway_objects import CPU_REQUEST
from kura_provider_hetzner.gateway_tuning import GatewayTuning, kubernetes_quantity

# Every namespace carries its own name in this label (set by the API server).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
SHARED_GATEWAY_REPLICAS = 2
# The platform chart's Helm release and namespace (upstream's): the shared gateways run there.
PLATFORM_NAMESPACE = "platform"


def shared_gateway_peer(region_id: str) -> dict[str, Any]:
    """A NetworkPolicy peer selecting the controller pods of the region's shared gateway.

    The ingress-nginx chart labels its pods ``app.kubernetes.io/name`` with the chart's name,
    which for an aliased dependency is the alias, ``kura-<region>-ingress-nginx``.
    """
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: PLATFORM_NAMESPACE}},
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": regional_gateway_values_key(region_id),
                "app.kubernetes.io/component": "controller",
            }
        },
    }


def shared_gateway_block(
    region: Region,
    *,
    load_balancer: LoadBalancerProvider,
    controller_class: str,
    tuning: GatewayTuning,
) -> dict[str, Any]:
    """The values block of ``region``'s shared gateway, enabled."""
    tuning.check_memory_budget()
    ingress_class = region.ingress_class_name
    annotations = load_balancer.service_annotations(
        region,
        load_balancer_name=regional_load_balancer_name(region.id),
        node_selector=region.node_selector,
    )
    return {
        "enabled": True,
        "controller": {
            "replicaCount": SHARED_GATEWAY_REPLICAS,
            "electionID": f"{regional_gateway_values_key(region.id)}-leader",
            "ingressClass": ingress_class,
            "ingressClassResource": {"name": ingress_class, "controllerValue": controller_class},
            "publishService": {"enabled": True},
            "service": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "annotations": annotations,
            },
            "nodeSelector": dict(sorted(region.node_selector.items())),
            "config": gateway_nginx_config(tuning),
            # The memory budget of the tuning holds for shared replicas too.
            "resources": {
                "requests": {
                    "cpu": CPU_REQUEST,
                    "memory": kubernetes_quantity(tuning.memory_request),
                },
                "limits": {"memory": kubernetes_quantity(tuning.memory_limit)},
            },
            "metrics": {"enabled": True},
            "admissionWebhooks": {"enabled": False},
        },
    }


def shared_gateway_values(
    region: Region,
    *,
    load_balancer: LoadBalancerProvider,
    controller_class: str,
    tuning: GatewayTuning,
) -> dict[str, Any]:
    """``{"kura-<region>-ingress-nginx": block}``: merge it into the platform chart values."""
    return {
        regional_gateway_values_key(region.id): shared_gateway_block(
            region,
            load_balancer=load_balancer,
            controller_class=controller_class,
            tuning=tuning,
        )
    }
