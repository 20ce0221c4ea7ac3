"""The capacity model: every figure of docs/capacity.md, the ceiling, and bursts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kura_core.capacity import (
    DEFAULT_COMPONENTS,
    DEFAULT_GATEWAY_REPLICAS,
    Component,
    Shard,
    burst_demand,
    ceiling,
    merge_components,
    shard_ratio,
    shards_needed,
    unknown_data_plane,
    whole,
)
from kura_core.units import Bandwidth, DataSize, Duration

SEED_PEAK = "600MB/s"


def test_the_seed_peak_is_4800_mbps() -> None:
    peak = Bandwidth.parse(SEED_PEAK)
    assert peak.in_unit("Mbps") == 4800
    assert round(peak.gbps, 1) == 4.8


@pytest.mark.parametrize(
    ("shard", "seed_ratio"),
    [("1Gbps", 0.2), ("5Gbps", 1.0), ("10Gbps", 2.1), ("20Gbps", 4.2)],
)
def test_seed_shard_ratios(shard: str, seed_ratio: float) -> None:
    ratio = shard_ratio(Bandwidth.parse(shard), Bandwidth.parse(SEED_PEAK))
    # docs/capacity.md rounds ratios to one decimal ("2.1").
    assert round(ratio, 1) == seed_ratio


@pytest.mark.parametrize(
    ("jobs", "size", "window", "seed_gbps", "seed_rounding"),
    [
        (50, "500MB", "2m", 1.7, lambda gbps: round(gbps, 1)),
        (100, "1GB", "5m", 2.7, lambda gbps: round(gbps, 1)),
        # 500 x 2 GB / 2 min is 66.67 Gbps; a rough "~= 66" would cut the decimals off
        # (to the nearest it would be 67).
        (500, "2GB", "2m", 66, math.floor),
    ],
)
def test_seed_bursts(
    jobs: int, size: str, window: str, seed_gbps: float, seed_rounding: object
) -> None:
    demand = burst_demand(jobs, DataSize.parse(size), Duration.parse(window))
    assert callable(seed_rounding)
    assert seed_rounding(demand.gbps) == seed_gbps


def test_burst_demand_is_jobs_times_size_over_window() -> None:
    demand = burst_demand(50, DataSize.parse("500MB"), Duration.parse("2m"))
    assert demand.megabytes_per_second == pytest.approx(50 * 500 / 120)
    with pytest.raises(ValueError, match="at least one job"):
        burst_demand(0, DataSize.parse("1GB"), Duration.parse("1m"))
    with pytest.raises(ValueError, match="longer than zero"):
        burst_demand(1, DataSize.parse("1GB"), Duration(0.0))


def test_shard_ratio_needs_a_peak() -> None:
    with pytest.raises(ValueError, match="above zero"):
        shard_ratio(Bandwidth.parse("5Gbps"), Bandwidth(0.0))


def test_shards_needed() -> None:
    five = Bandwidth.parse("5Gbps")
    assert shards_needed(Bandwidth.parse("66.7Gbps"), five) == 14
    assert shards_needed(Bandwidth.parse("10Gbps"), five) == 2
    assert shards_needed(Bandwidth(0.0), five) == 1
    assert whole(6.000000000000001) == 6
    assert whole(6.01) == 7


def _component(name: str, capacity: str, *, per_replica: bool = False) -> Component:
    return Component(name=name, capacity=Bandwidth.parse(capacity), per_replica=per_replica)


def known(value: Bandwidth | None) -> Bandwidth:
    assert value is not None
    return value


def test_ceiling_names_the_binding_component() -> None:
    parts = [
        _component("regional-lb", "20Gbps"),
        _component("nginx-workers", "3Gbps", per_replica=True),
        _component("kura-node", "10Gbps"),
    ]
    one = ceiling(parts, replicas=1)
    assert (one.capacity, one.binding.name) == (Bandwidth.parse("3Gbps"), "nginx-workers")
    four = ceiling(parts, replicas=4)
    assert (four.capacity, four.binding.name) == (Bandwidth.parse("10Gbps"), "kura-node")
    assert four.effective(parts[1]) == Bandwidth.parse("12Gbps")


def test_ceiling_ties_go_to_a_per_shard_component_then_the_first() -> None:
    parts = [_component("a", "5Gbps"), _component("b", "5Gbps")]
    assert ceiling(parts).binding.name == "a"
    replicas = [_component("r", "5Gbps", per_replica=True), _component("lb", "5Gbps")]
    assert ceiling(replicas).binding.name == "lb"


def test_ceiling_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one component"):
        ceiling([])
    with pytest.raises(ValueError, match="at least one component with a figure"):
        ceiling([unknown_data_plane("x")])
    with pytest.raises(ValueError, match="at least one gateway replica"):
        ceiling([_component("a", "1Gbps")], replicas=0)
    with pytest.raises(ValueError, match="more than zero"):
        _component("a", "0Gbps")


def test_default_components_are_labelled_assumptions_with_sources() -> None:
    names = [component.name for component in DEFAULT_COMPONENTS]
    assert names == ["regional-lb", "gateway-node", "nginx-workers", "cni-forwarding", "kura-node"]
    assert all(component.assumption and component.source for component in DEFAULT_COMPONENTS)
    lb = DEFAULT_COMPONENTS[0]
    # docs/capacity.md: LBs on one host share a 2x10Gbit interface.
    assert lb.capacity == Bandwidth.parse("20Gbps")
    assert not lb.per_replica


def test_default_shard_is_the_seeds_single_digit_unit() -> None:
    shard = Shard(DEFAULT_COMPONENTS, DEFAULT_GATEWAY_REPLICAS)
    now = shard.ceiling()
    assert now.capacity == Bandwidth.parse("5Gbps")
    assert now.binding.name == "gateway-node"
    assert round(shard_ratio(now.capacity, Bandwidth.parse(SEED_PEAK)), 1) == 1.0


def test_replicas_for_and_best() -> None:
    shard = Shard(DEFAULT_COMPONENTS, 2)
    assert shard.replicas_for(Bandwidth.parse("7.5Gbps"), 12) == 3
    assert shard.replicas_for(Bandwidth.parse("1Gbps"), 12) == 1
    # kura-node (10 Gbps per shard) caps the shard however many replicas run.
    assert shard.replicas_for(Bandwidth.parse("11Gbps"), 12) is None
    # Too many replicas needed.
    assert shard.replicas_for(Bandwidth.parse("9Gbps"), 3) is None
    best = shard.best(12)
    assert (best.capacity, best.binding.name, best.replicas) == (
        Bandwidth.parse("10Gbps"),
        "kura-node",
        4,
    )
    assert shard.best(3).capacity == Bandwidth.parse("7.5Gbps")


def test_shard_without_per_replica_components_needs_one_replica() -> None:
    shard = Shard((_component("lb", "5Gbps"),), 1)
    assert shard.replicas_for(Bandwidth.parse("4Gbps"), 10) == 1
    assert shard.best(10).replicas == 1


_CAPACITIES = st.floats(min_value=1e3, max_value=1e13, allow_nan=False)


@given(
    st.lists(st.tuples(_CAPACITIES, st.booleans()), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=20),
)
def test_ceiling_is_at_most_every_component_and_names_one_at_that_value(
    figures: list[tuple[float, bool]], replicas: int
) -> None:
    parts = [
        Component(name=f"c{index}", capacity=Bandwidth(value), per_replica=per_replica)
        for index, (value, per_replica) in enumerate(figures)
    ]
    top = ceiling(parts, replicas)
    assert all(top.capacity <= known(part.effective(replicas)) for part in parts)
    assert top.binding in parts
    assert top.binding.effective(replicas) == top.capacity


@given(
    st.lists(st.tuples(_CAPACITIES, st.booleans()), min_size=1, max_size=6),
    st.floats(min_value=0, max_value=1e14, allow_nan=False),
    st.integers(min_value=1, max_value=16),
)
def test_replicas_for_reaches_what_it_promises(
    figures: list[tuple[float, bool]], needed: float, max_replicas: int
) -> None:
    shard = Shard(
        tuple(
            Component(name=f"c{index}", capacity=Bandwidth(value), per_replica=per_replica)
            for index, (value, per_replica) in enumerate(figures)
        ),
        1,
    )
    count = shard.replicas_for(Bandwidth(needed), max_replicas)
    if count is None:
        assert shard.ceiling(max_replicas).capacity.bits_per_second < needed * (1 + 1e-9)
    else:
        assert 1 <= count <= max_replicas
        assert shard.ceiling(count).capacity.bits_per_second >= needed * (1 - 1e-9)


# --- terms without a figure -------------------------------------------------------------------


def test_a_term_without_a_figure_cannot_bind_and_is_named() -> None:
    envoy = Component(name="envoy-proxy", capacity=None, per_replica=True, data_plane=True)
    parts = [
        _component("regional-lb", "5Gbps"),
        envoy,
        _component("gateway-node", "1Gbps", per_replica=True),
    ]
    top = ceiling(parts, replicas=2)
    # An upper bound: what the terms with a figure allow.
    assert (top.capacity, top.binding.name) == (Bandwidth.parse("2Gbps"), "gateway-node")
    assert top.unknown == (envoy,)
    assert top.effective(envoy) is None
    shard = Shard(tuple(parts), 2)
    assert shard.replicas_for(Bandwidth.parse("3Gbps"), 12) == 3
    assert shard.best(12).capacity == Bandwidth.parse("5Gbps")


def test_a_provided_data_plane_term_replaces_the_default_one_whatever_its_name() -> None:
    envoy = Component(name="envoy-proxy", capacity=None, per_replica=True, data_plane=True)
    merged = merge_components([*DEFAULT_COMPONENTS, envoy])
    assert [c.name for c in merged] == [
        "regional-lb",
        "gateway-node",
        "cni-forwarding",
        "kura-node",
        "envoy-proxy",
    ]
    # The same name replaces in place, as any term does.
    tuned = _component("nginx-workers", "1.5GB/s", per_replica=True).model_copy(
        update={"data_plane": True}
    )
    assert [c for c in merge_components([*DEFAULT_COMPONENTS, tuned]) if c.data_plane] == [tuned]
    # Without a provider's data-plane term, the default stays.
    assert merge_components(DEFAULT_COMPONENTS) == DEFAULT_COMPONENTS
