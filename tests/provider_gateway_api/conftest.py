"""Fixtures for the kura-provider-gateway-api tests: the provider, a Hetzner load balancer,
and a catalog whose eu-central region uses the Gateway API."""

from __future__ import annotations

from pathlib import Path

import pytest

from kura_core import IngressProvider, LoadBalancerProvider, PluginHost, Region, catalog_for

CATALOG = Path(__file__).parent / "data" / "catalog.yaml"


@pytest.fixture(scope="session")
def host() -> PluginHost:
    return PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner,gateway-api"})


@pytest.fixture(scope="session")
def provider(host: PluginHost) -> IngressProvider:
    return host.ingress_provider("gateway-api")


@pytest.fixture(scope="session")
def load_balancer(host: PluginHost) -> LoadBalancerProvider:
    return host.load_balancer_provider("hetzner")


@pytest.fixture(scope="session")
def region() -> Region:
    return Region(
        id="eu-central",
        display_name="EU Central",
        location="fsn1",
        node_pool="kura",
        ingress_provider="gateway-api",
    )


__all__ = ["CATALOG", "catalog_for"]
