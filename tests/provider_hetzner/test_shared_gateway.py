"""The shared regional gateways' chart values: upstream's shape, the dedicated gateway's keys."""

from __future__ import annotations

from typing import Any

import pytest

from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider, LoadBalancerProvider
from kura_core.regions import managed_catalogs
from kura_core.resources import parse_gateway
from kura_provider_hetzner.gateway_tuning import GatewayTuning
from kura_provider_hetzner.ingress_nginx import IngressNginxProvider

HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
PRODUCTION = managed_catalogs()["production"]


def ingress_nginx() -> IngressProvider:
    return HOST.ingress_provider("ingress-nginx")


def hetzner() -> LoadBalancerProvider:
    return HOST.load_balancer_provider("hetzner")


def values(region_id: str, provider: IngressProvider | None = None) -> dict[str, Any]:
    return (provider or ingress_nginx()).shared_gateway_values(
        PRODUCTION.get(region_id), load_balancer=hetzner()
    )


def test_us_east_block_is_shaped_like_upstreams() -> None:
    (key,) = values("us-east")
    assert key == "kura-us-east-ingress-nginx"
    block = values("us-east")[key]
    assert block["enabled"] is True
    controller = block["controller"]
    assert controller["replicaCount"] == 2
    assert controller["electionID"] == "kura-us-east-ingress-nginx-leader"
    assert controller["ingressClass"] == "kura-us-east"
    assert controller["ingressClassResource"] == {
        "name": "kura-us-east",
        "controllerValue": "k8s.io/kura-us-east-ingress-nginx",
    }
    assert controller["publishService"] == {"enabled": True}
    assert controller["service"] == {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Local",
        "annotations": {
            "load-balancer.hetzner.cloud/location": "ash",
            "load-balancer.hetzner.cloud/name": "tuist-kura-us-east-ingress",
            "load-balancer.hetzner.cloud/node-selector": "node.cluster.x-k8s.io/pool=kura-us-east",
            "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
        },
    }
    assert controller["nodeSelector"] == {"node.cluster.x-k8s.io/pool": "kura-us-east"}
    assert controller["metrics"] == {"enabled": True}
    assert controller["admissionWebhooks"] == {"enabled": False}
    assert controller["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_eu_central_keeps_the_original_pool() -> None:
    controller = values("eu-central")["kura-eu-central-ingress-nginx"]["controller"]
    assert controller["nodeSelector"] == {"node.cluster.x-k8s.io/pool": "kura"}
    assert controller["service"]["annotations"]["load-balancer.hetzner.cloud/location"] == "fsn1"


@pytest.mark.parametrize("tuning", [GatewayTuning(), GatewayTuning(expected_connections=8)])
def test_shared_config_is_the_dedicated_config_map_data(tuning: GatewayTuning) -> None:
    provider = IngressNginxProvider(tuning)
    gateway = parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": {"name": "kgw-abc123-us-east", "namespace": "kura"},
            "spec": {"region": "us-east", "ingressClassName": "kura-us-east-kgw-abc123"},
        }
    )
    (config_map,) = [
        obj
        for obj in provider.render_gateway(
            gateway, region=PRODUCTION.get("us-east"), load_balancer=hetzner()
        )
        if obj["kind"] == "ConfigMap"
    ]
    for region in PRODUCTION:
        shared = values(region.id, provider)[f"kura-{region.id}-ingress-nginx"]
        assert shared["controller"]["config"] == config_map["data"]


def test_upstreams_required_keys_are_there() -> None:
    config = values("us-west")["kura-us-west-ingress-nginx"]["controller"]["config"]
    # TestGatewayNginxConfigMatchesChart's required keys, the HTTP/2 window's three included; the
    # two forwarded-header keys are required but off here: behind the LB's PROXY protocol, every
    # X-Forwarded-* header comes from the client.
    required = {
        "use-forwarded-headers": "false",
        "use-proxy-protocol": "true",
        "compute-full-forwarded-for": "false",
        "upstream-keepalive-timeout": "10",
        "client-body-buffer-size": "4m",
        "http2-max-concurrent-streams": "32",
        "http-snippet": "http2_body_preread_size 4m;",
    }
    assert required.items() <= config.items()
    assert config["allow-snippet-annotations"] == "false"
    assert all(isinstance(value, str) for value in config.values())


def test_an_over_budget_tuning_cannot_reach_the_chart_either() -> None:
    with pytest.raises(InputError, match="memory limit"):
        values("us-east", IngressNginxProvider(GatewayTuning(expected_connections=500)))
