"""The fleet the dashboard shows: regions, their shared shards and their dedicated gateways.

Each gateway carries its capacity ceiling from kura_core's capacity model and the value of the
metric label its series carry (for ingress-nginx, the controller class), so one Prometheus answer
aggregated by that label maps onto every gateway at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from kura_core import (
    DEFAULT_COMPONENTS,
    Ceiling,
    Component,
    GatewayKind,
    Region,
    Scenario,
    Shard,
    Simulator,
    shard_ingress_class,
)
from kura_dashboard.data.readings import GatewayObject, InstanceObject


@dataclass(frozen=True)
class GatewayRef:
    name: str
    region: str
    kind: GatewayKind
    ingress_class: str
    label: str
    ceiling: Ceiling
    shard: int | None = None
    account: str | None = None

    @property
    def unknown(self) -> tuple[str, ...]:
        """The terms of its ceiling without a figure: then the ceiling is an upper bound."""
        return tuple(component.name for component in self.ceiling.unknown)


@dataclass(frozen=True)
class RegionRef:
    id: str
    display_name: str
    shard: Shard
    shards: int

    @property
    def shared_ceiling_bps(self) -> float:
        return self.shard.ceiling().capacity.bits_per_second * self.shards

    @property
    def unknown(self) -> tuple[str, ...]:
        """The terms of its shards' ceiling without a figure (an unmeasured data plane, such
        as Envoy's): the ceiling is then unknown, and ``shared_ceiling_bps`` an upper bound."""
        return tuple(component.name for component in self.shard.ceiling().unknown)


@dataclass(frozen=True)
class Topology:
    regions: tuple[RegionRef, ...]
    gateways: tuple[GatewayRef, ...]
    problems: tuple[str, ...] = field(default=())

    def region(self, region_id: str) -> RegionRef:
        return next(region for region in self.regions if region.id == region_id)

    def in_region(self, region_id: str) -> list[GatewayRef]:
        return self._by_region.get(region_id, [])

    @cached_property
    def _by_region(self) -> dict[str, list[GatewayRef]]:
        grouped: dict[str, list[GatewayRef]] = {}
        for gateway in self.gateways:
            grouped.setdefault(gateway.region, []).append(gateway)
        return grouped

    @cached_property
    def by_label(self) -> dict[str, GatewayRef]:
        return {gateway.label: gateway for gateway in self.gateways}

    @cached_property
    def by_name(self) -> dict[str, GatewayRef]:
        return {gateway.name: gateway for gateway in self.gateways}


def simulated_topology(simulator: Simulator, regions: Sequence[Region]) -> Topology:
    """The simulated fleet; its series are keyed by gateway name."""
    refs = []
    for region in regions:
        # Every region has a shard 1; its ceiling holds the region's components and replicas.
        first = next(g.ceiling for g in simulator.fleet if g.region == region.id and g.shard == 1)
        shards = sum(1 for g in simulator.fleet if g.region == region.id and g.shard is not None)
        shard = Shard(first.components, first.replicas)
        refs.append(RegionRef(region.id, region.display_name, shard, shards))
    gateways = tuple(
        GatewayRef(
            name=g.name,
            region=g.region,
            kind=g.kind,
            ingress_class=g.ingress_class,
            label=g.name,
            ceiling=g.ceiling,
            shard=g.shard,
            account=g.account,
        )
        for g in simulator.fleet
    )
    return Topology(tuple(refs), gateways)


ControllerClass = Callable[[Region, str], str]


def cluster_topology(
    regions: Sequence[Region],
    scenario: Scenario,
    controller_class: ControllerClass,
    gateways: Sequence[GatewayObject] = (),
    instances: Sequence[InstanceObject] = (),
    base_components: Mapping[str, Sequence[Component]] | None = None,
) -> Topology:
    """Shards from the scenario (shard n is ingress class ``<class>-<n>``), dedicated gateways
    from the cluster's KuraGateways; ceilings from the capacity model."""
    by_id = {region.id: region for region in regions}
    accounts = {i.gateway: i.account for i in instances if i.gateway}
    refs: list[RegionRef] = []
    found: list[GatewayRef] = []
    for region in regions:
        base = (*DEFAULT_COMPONENTS, *(base_components or {}).get(region.id, ()))
        settings = scenario.settings(region.id, base)
        refs.append(RegionRef(region.id, region.display_name, settings.shard, settings.shards))
        for index in range(1, settings.shards + 1):
            ingress_class = shard_ingress_class(region, index)
            found.append(
                GatewayRef(
                    name=ingress_class,
                    region=region.id,
                    kind=GatewayKind.SHARD,
                    ingress_class=ingress_class,
                    label=controller_class(region, ingress_class),
                    ceiling=settings.shard.ceiling(),
                    shard=index,
                )
            )
    problems: list[str] = []
    for obj in sorted(gateways, key=lambda g: (g.region, g.name)):
        home = by_id.get(obj.region)
        if home is None:
            problems.append(f"KuraGateway {obj.name}: region {obj.region!r} is not in the catalog")
            continue
        base = (*DEFAULT_COMPONENTS, *(base_components or {}).get(home.id, ()))
        shard = scenario.settings(home.id, base).shard
        found.append(
            GatewayRef(
                name=obj.name,
                region=obj.region,
                kind=GatewayKind.DEDICATED,
                ingress_class=obj.ingress_class,
                label=obj.controller_class or controller_class(home, obj.ingress_class),
                ceiling=Shard(shard.components, obj.replicas).ceiling(),
                account=accounts.get(obj.name),
            )
        )
    return Topology(tuple(refs), tuple(found), tuple(problems))
