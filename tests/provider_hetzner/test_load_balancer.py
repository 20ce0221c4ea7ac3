from __future__ import annotations

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
    annotations = provider.service_annotations(
        US_EAST,
        load_balancer_name="tuist-kura-us-east-ingress",
        node_selector={"z": "1", "node.cluster.x-k8s.io/pool": "kura-us-east"},
        overrides={"load-balancer.hetzner.cloud/location": "hil"},
    )
    assert annotations["load-balancer.hetzner.cloud/node-selector"] == (
        "node.cluster.x-k8s.io/pool=kura-us-east,z=1"
    )
    assert annotations["load-balancer.hetzner.cloud/location"] == "hil"


def test_ingress_nginx_controller_class() -> None:
    provider = HOST.ingress_provider("ingress-nginx")
    assert provider.default_controller_class("kura-us-east-kgw-abc123") == (
        "k8s.io/kura-us-east-kgw-abc123-ingress-nginx"
    )
