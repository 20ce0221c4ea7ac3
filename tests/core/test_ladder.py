"""The scaling ladder: hold, replicas, shards, dedicated, with reasons and numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kura_core.capacity import DEFAULT_COMPONENTS, Component, Shard
from kura_core.ladder import AccountDemand, Recommendation, Rung, Thresholds, recommend
from kura_core.units import Bandwidth


def _bw(text: str) -> Bandwidth:
    return Bandwidth.parse(text)


def _plan(
    demand: str,
    *,
    accounts: tuple[AccountDemand, ...] = (),
    shard: Shard | None = None,
    shards: int = 1,
    thresholds: Thresholds | None = None,
) -> Recommendation:
    return recommend(
        _bw(demand),
        accounts,
        shard or Shard(DEFAULT_COMPONENTS, 2),
        shards,
        thresholds or Thresholds(),
    )


def test_rungs_are_ordered() -> None:
    assert [rung.level for rung in Rung] == [0, 1, 2, 3]
    assert [rung.value for rung in Rung] == ["hold", "replicas", "shards", "dedicated"]


def test_hold_when_there_is_headroom() -> None:
    plan = _plan("300MB/s")
    assert plan.rung is Rung.HOLD
    [action] = plan.actions
    assert action.utilization == pytest.approx(0.48)
    assert "48% of 1 x 5 Gbps" in action.reason
    assert "within the 80% scale-up threshold" in action.reason


def test_seed_peak_on_the_default_shard_asks_for_replicas() -> None:
    plan = _plan("600MB/s")
    assert plan.rung is Rung.REPLICAS
    assert plan.utilization == pytest.approx(0.96)
    assert (plan.binding, plan.binding_per_replica, plan.binding_assumption) == (
        "gateway-node",
        True,
        True,
    )
    [action] = plan.actions
    # 4.8 Gbps / 0.8 = 6 Gbps; at 2.5 Gbps per replica that is 3 replicas, a 7.5 Gbps shard.
    assert (action.replicas, action.shards) == (3, 1)
    assert action.ceiling_gbps == pytest.approx(7.5)
    assert action.utilization == pytest.approx(0.64)
    assert "run 3 gateway replicas per shard (now 2)" in action.reason
    assert "an assumption" in action.reason


def test_a_per_shard_binding_component_asks_for_shards() -> None:
    shard = Shard((Component(name="regional-lb", capacity=_bw("4Gbps")),), 2)
    plan = _plan("600MB/s", shard=shard)
    assert plan.rung is Rung.SHARDS
    [action] = plan.actions
    # 4.8 Gbps / 0.8 = 6 Gbps over 4 Gbps shards: 2 shards.
    assert action.shards == 2
    assert "regional-lb is per shard, so more replicas do not help" in action.reason
    assert action.ceiling_gbps == pytest.approx(8)


def test_replicas_at_the_configured_max_ask_for_shards() -> None:
    plan = _plan("600MB/s", thresholds=Thresholds(max_replicas=2))
    assert plan.rung is Rung.SHARDS
    [action] = plan.actions
    assert (action.shards, action.replicas) == (2, 2)
    assert "even 2 replicas (the configured max) give 5 Gbps" in action.reason


def test_when_replicas_stop_helping_the_shards_run_only_the_useful_replicas() -> None:
    # Needs 40 Gbps / 0.8 = 50 Gbps; kura-node caps a shard at 10 Gbps from 4 replicas on.
    plan = _plan("40Gbps")
    [action] = plan.actions
    assert action.rung is Rung.SHARDS
    assert (action.shards, action.replicas) == (5, 4)
    assert "replicas stop helping at 4, where kura-node binds at 10 Gbps" in action.reason


def test_shards_count_includes_the_existing_ones() -> None:
    shard = Shard((Component(name="regional-lb", capacity=_bw("5Gbps")),), 1)
    plan = _plan("9Gbps", shard=shard, shards=2)
    assert plan.utilization == pytest.approx(0.9)
    [action] = plan.actions
    assert action.shards == 3
    assert "run 3 shards (now 2)" in action.reason


def test_dedicated_for_a_heavy_account_comes_first_and_leaves_its_demand_behind() -> None:
    heavy = AccountDemand(handle="acme", peak=_bw("1.5Gbps"))
    light = AccountDemand(handle="tiny", peak=_bw("1Gbps"))
    plan = _plan("600MB/s", accounts=(heavy, light))
    assert plan.rung is Rung.DEDICATED
    assert [action.rung for action in plan.actions] == [Rung.DEDICATED]
    [action] = plan.actions
    assert action.account == "acme"
    assert "its regular peak 1.5 Gbps is 30% of a 5 Gbps shard (threshold 25%)" in action.reason
    # 4.8 - 1.5 = 3.3 Gbps is 66% of the shard: no shared action is needed after the move.
    assert plan.remaining_demand_gbps == pytest.approx(3.3)


def test_dedicated_and_a_shared_rung_are_both_reported() -> None:
    isolated = AccountDemand(handle="bank", isolation=True)
    plan = _plan("600MB/s", accounts=(isolated,))
    assert plan.rung is Rung.DEDICATED
    assert [(a.rung, a.account) for a in plan.actions] == [
        (Rung.DEDICATED, "bank"),
        (Rung.REPLICAS, None),
    ]
    assert "give bank a dedicated gateway: it needs isolation" in plan.actions[0].reason


def test_an_account_below_the_fraction_stays_shared() -> None:
    below = AccountDemand(handle="acme", peak=_bw("1.2Gbps"))
    plan = _plan("300MB/s", accounts=(below,))
    assert plan.rung is Rung.HOLD


def test_thresholds_are_documented_and_validated() -> None:
    defaults = Thresholds()
    assert (defaults.scale_up_utilization, defaults.dedicated_fraction, defaults.max_replicas) == (
        0.8,
        0.25,
        12,
    )
    assert all(field.description for field in Thresholds.model_fields.values())
    with pytest.raises(ValidationError):
        Thresholds(scale_up_utilization=0)
    with pytest.raises(ValidationError):
        Thresholds(dedicated_fraction=1.5)
    with pytest.raises(ValidationError):
        Thresholds(max_replicas=0)


def test_recommend_needs_a_shard() -> None:
    with pytest.raises(ValueError, match="at least one shared shard"):
        _plan("1Gbps", shards=0)


_RATES = st.floats(min_value=0, max_value=2e11, allow_nan=False)


@st.composite
def _shards(draw: st.DrawFn) -> Shard:
    figures = draw(
        st.lists(
            st.tuples(st.floats(min_value=1e8, max_value=5e10), st.booleans()),
            min_size=1,
            max_size=5,
        )
    )
    components = tuple(
        Component(name=f"c{index}", capacity=Bandwidth(value), per_replica=per_replica)
        for index, (value, per_replica) in enumerate(figures)
    )
    return Shard(components, draw(st.integers(min_value=1, max_value=4)))


@settings(deadline=None)
@given(
    shard=_shards(),
    shards=st.integers(min_value=1, max_value=4),
    demand=_RATES,
    extra=_RATES,
    peaks=st.lists(st.tuples(_RATES, st.booleans()), max_size=4),
    growth=st.floats(min_value=1, max_value=10),
    scale_up=st.floats(min_value=0.1, max_value=1),
    fraction=st.floats(min_value=0.05, max_value=1),
)
def test_more_demand_never_gives_a_lower_rung(
    shard: Shard,
    shards: int,
    demand: float,
    extra: float,
    peaks: list[tuple[float, bool]],
    growth: float,
    scale_up: float,
    fraction: float,
) -> None:
    thresholds = Thresholds(
        scale_up_utilization=scale_up, dedicated_fraction=fraction, max_replicas=8
    )

    def accounts(factor: float) -> tuple[AccountDemand, ...]:
        return tuple(
            AccountDemand(handle=f"a{index}", peak=Bandwidth(peak * factor), isolation=isolated)
            for index, (peak, isolated) in enumerate(peaks)
        )

    low = recommend(Bandwidth(demand), accounts(1), shard, shards, thresholds)
    high = recommend(Bandwidth(demand + extra), accounts(growth), shard, shards, thresholds)
    assert high.rung.level >= low.rung.level
    assert low.actions[0].rung is low.rung
