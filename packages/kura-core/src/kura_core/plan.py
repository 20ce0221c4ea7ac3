"""``kura plan`` as a pure function: a scenario and a region catalog in, a :class:`Plan` out.

For each region of the catalog the plan holds the observed peak, the shard ceiling and its binding
component (assumptions flagged, terms without a figure named: the ceiling is then an upper bound),
the shard ratio, what each CI burst demands and would need, and the scaling ladder's
recommendation. Bursts are compared with raw shard capacity (docs/capacity.md); the
ladder keeps the scale-up threshold's headroom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from kura_core.capacity import (
    DEFAULT_COMPONENTS,
    Ceiling,
    Component,
    Shard,
    shard_ratio,
    shards_needed,
)
from kura_core.errors import InputError
from kura_core.ladder import Recommendation, Thresholds, recommend
from kura_core.regions import Region, RegionCatalog
from kura_core.scenario import Burst, Scenario

_FROZEN = ConfigDict(frozen=True)


class ComponentView(BaseModel):
    model_config = _FROZEN

    name: str
    figure: str = Field(
        description="As configured: per replica when per_replica, else per shard; unknown when "
        "no figure exists"
    )
    per_replica: bool
    effective_gbps: float | None = Field(
        description="What the component lets one shard carry; null when unknown"
    )
    binding: bool
    assumption: bool
    source: str


class BurstPlan(BaseModel):
    model_config = _FROZEN

    label: str
    jobs: int
    size: str
    window: str
    demand_gbps: float
    demand_mb_per_s: float
    share_of_shard: float = Field(description="Demand / today's shard ceiling")
    replicas_needed: int | None = Field(
        description="Gateway replicas that carry it in one shard; null when one shard cannot"
    )
    shards_needed: int = Field(description="Shards that carry it, at replicas_per_shard each")
    replicas_per_shard: int
    dedicated_if_regular: bool = Field(
        description="It takes at least thresholds.dedicated_fraction of a shard"
    )
    needs: str


class RegionPlan(BaseModel):
    model_config = _FROZEN

    region: str
    display_name: str
    observed_peak_gbps: float
    observed_peak_mb_per_s: float
    shards: int
    replicas: int
    shard_ceiling_gbps: float = Field(
        description="The shard ceiling; with unknown_components, only an upper bound"
    )
    unknown_components: list[str] = Field(
        description="Terms of the ceiling without a figure (a data plane nobody has measured): "
        "the ceiling is unknown, and shard_ceiling_gbps is what the other terms allow"
    )
    binding: str
    binding_assumption: bool
    shard_ratio: float | None = Field(description="Shard ceiling / observed peak; null at no peak")
    components: list[ComponentView]
    bursts: list[BurstPlan]
    recommendation: Recommendation


class Plan(BaseModel):
    model_config = _FROZEN

    env: str
    scenario: str
    description: str
    thresholds: Thresholds
    regions: list[RegionPlan]


def _view(now: Ceiling, component: Component) -> ComponentView:
    effective = now.effective(component)
    return ComponentView(
        name=component.name,
        figure="unknown" if component.capacity is None else str(component.capacity),
        per_replica=component.per_replica,
        effective_gbps=None if effective is None else effective.gbps,
        binding=component is now.binding,
        assumption=component.assumption,
        source=component.source,
    )


def _components(now: Ceiling) -> list[ComponentView]:
    return [_view(now, component) for component in now.components]


def _burst(burst: Burst, shard: Shard, thresholds: Thresholds) -> BurstPlan:
    demand = burst.demand
    now = shard.ceiling()
    replicas = shard.replicas_for(demand, thresholds.max_replicas)
    best = shard.best(thresholds.max_replicas)
    if replicas is not None:
        count, per_shard = 1, max(replicas, shard.replicas)
        needs = (
            "fits one shard" if per_shard == shard.replicas else f"1 shard x {per_shard} replicas"
        )
    else:
        count, per_shard = shards_needed(demand, best.capacity), best.replicas
        needs = f"{count} shards x {per_shard} replicas"
    share = demand / now.capacity
    dedicated = share >= thresholds.dedicated_fraction
    return BurstPlan(
        label=burst.label,
        jobs=burst.jobs,
        size=str(burst.size),
        window=str(burst.window),
        demand_gbps=demand.gbps,
        demand_mb_per_s=demand.megabytes_per_second,
        share_of_shard=share,
        replicas_needed=replicas,
        shards_needed=count,
        replicas_per_shard=per_shard,
        dedicated_if_regular=dedicated,
        needs=f"{needs}; dedicated if regular" if dedicated else needs,
    )


def _region(region: Region, scenario: Scenario, base: Sequence[Component]) -> RegionPlan:
    settings = scenario.settings(region.id, base)
    now = settings.shard.ceiling()
    peak = settings.observed_peak
    return RegionPlan(
        region=region.id,
        display_name=region.display_name,
        observed_peak_gbps=peak.gbps,
        observed_peak_mb_per_s=peak.megabytes_per_second,
        shards=settings.shards,
        replicas=settings.shard.replicas,
        shard_ceiling_gbps=now.capacity.gbps,
        unknown_components=[component.name for component in now.unknown],
        binding=now.binding.name,
        binding_assumption=now.binding.assumption,
        shard_ratio=shard_ratio(now.capacity, peak) if peak.bits_per_second > 0 else None,
        components=_components(now),
        bursts=[_burst(burst, settings.shard, scenario.thresholds) for burst in settings.bursts],
        recommendation=recommend(
            peak, settings.accounts, settings.shard, settings.shards, scenario.thresholds
        ),
    )


def build_plan(
    scenario: Scenario,
    catalog: RegionCatalog,
    env: str,
    provider_components: Mapping[str, Sequence[Component]] | None = None,
) -> Plan:
    """Plan every region ``catalog`` offers; scenario regions it does not offer are an error.

    ``provider_components`` maps a region id to what its providers say about their part of the
    ceiling; a scenario's figures still win over them.
    """
    unknown = [region_id for region_id in scenario.regions if region_id not in catalog]
    if unknown:
        raise InputError(
            f"scenario {scenario.name!r} names region(s) {', '.join(unknown)} that env {env!r} "
            f"does not offer (offered: {', '.join(catalog.ids) or 'none'})"
        )
    return Plan(
        env=env,
        scenario=scenario.name,
        description=scenario.description,
        thresholds=scenario.thresholds,
        regions=[
            _region(
                region,
                scenario,
                # Later components replace earlier ones of the same name.
                (*DEFAULT_COMPONENTS, *(provider_components or {}).get(region.id, ())),
            )
            for region in catalog
        ],
    )
