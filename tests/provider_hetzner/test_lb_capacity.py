"""The hetzner provider's planning figure and LB type limits."""

from __future__ import annotations

import pytest

from kura_core.capacity import DEFAULT_COMPONENTS, REGIONAL_LB, ceiling
from kura_core.errors import InputError, ProviderNotFoundError
from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs
from kura_core.units import Bandwidth
from kura_provider_hetzner.lb_types import LOAD_BALANCER_TYPES, limits
from kura_provider_hetzner.load_balancer import HetznerLoadBalancerProvider

US_EAST = managed_catalogs()["production"].get("us-east")
ENV = "KURA_HETZNER_LB_PLANNING_BANDWIDTH"


def test_the_regional_lb_component_is_a_5gbps_assumption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    provider = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"}).load_balancer_provider(
        "hetzner"
    )
    (component,) = provider.capacity_components(US_EAST)
    assert component.name == REGIONAL_LB.name
    assert component.capacity == Bandwidth.parse("5Gbps")
    assert component.assumption is True
    assert component.per_replica is False
    assert "Hetzner publishes no per-LB bandwidth" in component.source
    assert "share a 2x10Gbit interface" in component.source
    assert "single-digit-Gbps" in component.source
    assert "lb11: 20,000 connections, 5 services, 25 targets, 10 certificates" in component.source


def test_it_replaces_cores_default_and_binds_a_two_replica_shard() -> None:
    (component,) = HetznerLoadBalancerProvider().capacity_components(US_EAST)
    components = [component if c.name == component.name else c for c in DEFAULT_COMPONENTS]
    shard = ceiling(components, replicas=4)
    # Core's default assumes the whole 20 Gbps host interface; the provider plans with 5.
    assert ceiling(DEFAULT_COMPONENTS, replicas=4).capacity > shard.capacity
    assert shard.binding.name == "regional-lb"
    assert shard.capacity == Bandwidth.parse("5Gbps")


def test_the_planning_figure_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "1.2GB/s")
    provider = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"}).load_balancer_provider(
        "hetzner"
    )
    (component,) = provider.capacity_components(US_EAST)
    assert component.capacity == Bandwidth.parse("9.6Gbps")
    assert f"set by the operator ({ENV})" in component.source
    assert component.assumption is True


@pytest.mark.parametrize("value", ["fast", "0Gbps", "10 parsecs"])
def test_a_bad_planning_figure_is_reported_and_the_provider_skipped(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV, value)
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
    with pytest.raises(ProviderNotFoundError):
        host.load_balancer_provider("hetzner")
    (problem,) = [problem for problem in host.problems if f"{ENV}: " in problem]
    assert "kura_register_load_balancer_providers failed" in problem


def test_a_zero_planning_figure_is_refused() -> None:
    with pytest.raises(InputError, match="more than zero"):
        HetznerLoadBalancerProvider(planning_bandwidth=Bandwidth.parse("0Gbps"))


def test_the_source_names_the_configured_types_limits() -> None:
    (component,) = HetznerLoadBalancerProvider("lb31").capacity_components(US_EAST)
    assert "lb31: 80,000 connections, 30 services, 150 targets, 50 certificates" in component.source
    assert "(partly unverified)" in component.source


def test_type_limits() -> None:
    assert list(LOAD_BALANCER_TYPES) == ["lb11", "lb21", "lb31"]
    assert limits("lb21").max_targets == 75
    assert limits("lb11").verified
    assert not limits("lb31").verified
    for smaller, larger in [("lb11", "lb21"), ("lb21", "lb31")]:
        a, b = limits(smaller), limits(larger)
        assert a.max_connections < b.max_connections
        assert a.max_targets < b.max_targets


def test_an_unknown_type_is_an_input_error() -> None:
    with pytest.raises(
        InputError, match=r"unknown Hetzner load-balancer type 'lb99' \(known: lb11"
    ):
        limits("lb99")
    with pytest.raises(InputError, match="'LB11'"):
        HetznerLoadBalancerProvider("LB11")


def test_a_type_annotation_is_validated() -> None:
    provider = HetznerLoadBalancerProvider()
    overrides = {"load-balancer.hetzner.cloud/type": "lb21"}
    annotations = provider.service_annotations(
        US_EAST, load_balancer_name="tuist-kura-us-east-ingress", overrides=overrides
    )
    assert annotations["load-balancer.hetzner.cloud/type"] == "lb21"
    with pytest.raises(InputError, match="'lb12'"):
        provider.service_annotations(
            US_EAST,
            load_balancer_name="tuist-kura-us-east-ingress",
            overrides={"load-balancer.hetzner.cloud/type": "lb12"},
        )
    typed = HetznerLoadBalancerProvider("lb31").service_annotations(
        US_EAST, load_balancer_name="tuist-kura-us-east-ingress"
    )
    assert typed["load-balancer.hetzner.cloud/type"] == "lb31"
