from __future__ import annotations

import pytest

from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs

US_EAST = managed_catalogs()["production"].get("us-east")


HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})


def test_dedicated_gateway_annotations_as_the_server_sends_them() -> None:
    provider = HOST.load_balancer_provider("hetzner")
    assert provider.service_annotations(
        US_EAST, load_balancer_name="tuist-kgw-abc123-us-east-ingress"
    ) == {
        "load-balancer.hetzner.cloud/location": "ash",
        "load-balancer.hetzner.cloud/name": "tuist-kgw-abc123-us-east-ingress",
        "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
    }


def test_node_selector_is_derived_in_sorted_key_order_and_overrides_win() -> None:
    provider = HOST.load_balancer_provider("hetzner")
    node_selector = {"z": "1", "node.cluster.x-k8s.io/pool": "kura-us-east"}
    annotations = provider.service_annotations(
        US_EAST, load_balancer_name="tuist-kgw-abc123-us-east-ingress", node_selector=node_selector
    )
    assert annotations["load-balancer.hetzner.cloud/node-selector"] == (
        "node.cluster.x-k8s.io/pool=kura-us-east,z=1"
    )
    overridden = provider.service_annotations(
        US_EAST,
        load_balancer_name="tuist-kgw-abc123-us-east-ingress",
        node_selector=node_selector,
        overrides={
            "load-balancer.hetzner.cloud/node-selector": "pool=other",
            "load-balancer.hetzner.cloud/health-check-interval": "5s",
        },
    )
    assert overridden["load-balancer.hetzner.cloud/node-selector"] == "pool=other"
    assert overridden["load-balancer.hetzner.cloud/health-check-interval"] == "5s"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # The regional LB's name: the gateway's Service would take it over.
        ("load-balancer.hetzner.cloud/name", "tuist-kura-us-east-ingress"),
        # nginx expects the PROXY header; without it every request would fail.
        ("load-balancer.hetzner.cloud/uses-proxyprotocol", "false"),
        # Away from the region's nodes.
        ("load-balancer.hetzner.cloud/location", "hil"),
    ],
)
def test_the_name_location_and_protocol_cannot_be_overridden(key: str, value: str) -> None:
    provider = HOST.load_balancer_provider("hetzner")
    derived = provider.service_annotations(
        US_EAST, load_balancer_name="tuist-kgw-abc123-us-east-ingress"
    )
    kept = provider.service_annotations(
        US_EAST, load_balancer_name="tuist-kgw-abc123-us-east-ingress", overrides={key: value}
    )
    assert kept == derived
    assert (
        kept[key]
        == {
            "load-balancer.hetzner.cloud/name": "tuist-kgw-abc123-us-east-ingress",
            "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
            "load-balancer.hetzner.cloud/location": "ash",
        }[key]
    )


def test_ingress_nginx_controller_class() -> None:
    provider = HOST.ingress_provider("ingress-nginx")
    assert provider.default_controller_class("kura-us-east-kgw-abc123") == (
        "k8s.io/kura-us-east-kgw-abc123-ingress-nginx"
    )
