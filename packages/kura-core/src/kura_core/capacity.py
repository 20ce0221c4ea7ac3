"""The capacity model: what one regional gateway shard can carry, and what bursts demand of it.

A region's ceiling is roughly (docs/capacity.md)::

    min(Hetzner regional LB, NIC/CPU of the gateway nodes, the gateway's data plane
        (nginx workers, Envoy proxies), CNI forwarding, selected Kura pod/node)

Each term is a :class:`Component`. A component either scales with the gateway replicas of a shard
(each gateway replica runs on its own node, behind the same LB) or is fixed per shard. The shard
ceiling is the smallest effective component, and that one is the binding component. A term
nobody has a figure for (an unmeasured data plane) cannot bind: the ceiling is then only an upper
bound, and says which terms it lacks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kura_core.units import Bandwidth, DataSize, Duration


class Component(BaseModel):
    """One term of the ceiling: a named figure, where it comes from, and whether it is assumed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[^=\s]+$")
    capacity: Bandwidth | None = Field(
        description="Per gateway replica when per_replica, else per shard; None when no figure "
        "exists (the term is unknown, and the ceiling only an upper bound)"
    )
    per_replica: bool = False
    assumption: bool = Field(
        default=False, description="The figure is not measured or published: plan with care"
    )
    source: str = ""
    data_plane: bool = Field(
        default=False,
        description="A term of the gateway's data plane (nginx workers, Envoy proxies): the "
        "ingress provider's terms take the place of the default one, whatever their names",
    )

    @field_validator("capacity")
    @classmethod
    def _carries_something(cls, value: Bandwidth | None) -> Bandwidth | None:
        if value is not None and value.bits_per_second <= 0:
            raise ValueError("a component must carry more than zero")
        return value

    @property
    def known(self) -> bool:
        return self.capacity is not None

    def effective(self, replicas: int) -> Bandwidth | None:
        """What this component lets one shard carry with ``replicas`` gateway replicas; None
        when its figure is unknown."""
        if self.capacity is None:
            return None
        return self.capacity * replicas if self.per_replica else self.capacity


# The defaults. Every figure is an assumption: Hetzner publishes no per-LB bandwidth and nothing in
# the byte path has been benchmarked. A scenario replaces any of them by name once measured.
REGIONAL_LB = Component(
    name="regional-lb",
    capacity=Bandwidth.parse("20Gbps"),
    assumption=True,
    source=(
        "seed: Hetzner publishes no per-LB bandwidth; LBs on one host share a 2x10Gbit "
        "interface (20 Gbps theoretical); low tens of Gbps is an optimistic ceiling"
    ),
)
GATEWAY_NODE = Component(
    name="gateway-node",
    capacity=Bandwidth.parse("2.5Gbps"),
    per_replica=True,
    assumption=True,
    source=(
        "seed: plan a shard as a single-digit-Gbps unit until benchmarked; 2.5 Gbps of NIC/CPU "
        "per ingress-nginx node makes the default 2-replica shard the 5 Gbps planning unit"
    ),
)
NGINX_WORKERS = Component(
    name="nginx-workers",
    capacity=Bandwidth.parse("565MiB/s"),
    per_replica=True,
    assumption=True,
    data_plane=True,
    source=(
        "docs/capacity.md: slowest 1 GiB download through nginx with buffering "
        "off and ingress-nginx's default 4k proxy buffers, 2 vCPU, loopback"
    ),
)
CNI_FORWARDING = Component(
    name="cni-forwarding",
    capacity=Bandwidth.parse("10Gbps"),
    per_replica=True,
    assumption=True,
    source="not measured: one 10 Gbit link (a Hetzner LB host has 2x10Gbit) per gateway node",
)
KURA_NODE = Component(
    name="kura-node",
    capacity=Bandwidth.parse("10Gbps"),
    assumption=True,
    source=(
        "not measured: one 10 Gbit link for the selected Kura pods' node; upstream later caps "
        "a Kura pod's egress at 1500M (kubernetes.io/egress-bandwidth)"
    ),
)
DEFAULT_COMPONENTS: tuple[Component, ...] = (
    REGIONAL_LB,
    GATEWAY_NODE,
    NGINX_WORKERS,
    CNI_FORWARDING,
    KURA_NODE,
)
# The platform chart runs 2 regional gateway replicas (docs/upstream.md).
DEFAULT_GATEWAY_REPLICAS = 2


def unknown_data_plane(provider: str) -> Component:
    """The data-plane term of an ingress provider that gives no figure for its data plane."""
    return Component(
        name="data-plane",
        capacity=None,
        per_replica=True,
        assumption=True,
        data_plane=True,
        source=f"the ingress provider {provider} gives no figure for its data plane",
    )


def merge_components(components: Iterable[Component]) -> tuple[Component, ...]:
    """Terms in order, a later one replacing an earlier one of the same name.

    A data-plane term other than a default one (an ingress provider's) also takes the place of
    the default data-plane terms (nginx workers): a region whose gateways are not nginx must not
    be planned with nginx's figure.
    """
    listed = list(components)
    provided = any(c.data_plane and c not in DEFAULT_COMPONENTS for c in listed)
    merged: dict[str, Component] = {}
    for component in listed:
        if provided and component.data_plane and component in DEFAULT_COMPONENTS:
            continue
        merged[component.name] = component
    return tuple(merged.values())


@dataclass(frozen=True)
class Ceiling:
    """The smallest effective component of a shard, and the component that sets it.

    When some components have no figure (:attr:`unknown`), ``capacity`` is the smallest of the
    others: an upper bound, not the ceiling.
    """

    capacity: Bandwidth
    binding: Component
    replicas: int
    components: tuple[Component, ...]

    def effective(self, component: Component) -> Bandwidth | None:
        return component.effective(self.replicas)

    @property
    def unknown(self) -> tuple[Component, ...]:
        """The components without a figure."""
        return tuple(c for c in self.components if not c.known)


def _effective(component: Component, replicas: int) -> Bandwidth:
    value = component.effective(replicas)
    if value is None:
        raise ValueError(f"component {component.name} has no figure")
    return value


def ceiling(components: Sequence[Component], replicas: int = 1) -> Ceiling:
    """The shard ceiling with ``replicas`` gateway replicas, and the component that binds.

    On a tie a per-shard component binds (more replicas cannot lift it), else the first listed.
    Components without a figure cannot bind; at least one must have one.
    """
    known = [c for c in components if c.known]
    if not known:
        raise ValueError("a ceiling needs at least one component with a figure")
    if replicas < 1:
        raise ValueError("a shard runs at least one gateway replica")
    binding = min(known, key=lambda c: (_effective(c, replicas), c.per_replica))
    return Ceiling(_effective(binding, replicas), binding, replicas, tuple(components))


def whole(count: float) -> int:
    """``ceil`` that ignores float noise: 6.000000000000001 shards is 6 shards."""
    return math.ceil(round(count, 9))


@dataclass(frozen=True)
class Shard:
    """One regional gateway shard: an LB and a gateway (ingress-nginx, Envoy) with its replicas.

    Components without a figure are left out of every bound it computes."""

    components: tuple[Component, ...]
    replicas: int = DEFAULT_GATEWAY_REPLICAS

    def ceiling(self, replicas: int | None = None) -> Ceiling:
        return ceiling(self.components, self.replicas if replicas is None else replicas)

    def replicas_for(self, needed: Bandwidth, max_replicas: int) -> int | None:
        """The fewest replicas (at most ``max_replicas``) whose ceiling reaches ``needed``."""
        known = [(c.capacity, c.per_replica) for c in self.components if c.capacity is not None]
        fixed = [capacity for capacity, scales in known if not scales]
        if fixed and min(fixed) < needed:
            return None
        per_replica = [capacity for capacity, scales in known if scales]
        if not per_replica:
            return 1
        count = max(1, whole(needed / min(per_replica)))
        return count if count <= max_replicas else None

    def best(self, max_replicas: int) -> Ceiling:
        """The highest ceiling within ``max_replicas``, at the fewest replicas that reach it."""
        top = ceiling(self.components, max_replicas).capacity
        count = self.replicas_for(top, max_replicas)
        return self.ceiling(max_replicas if count is None else count)


def burst_demand(jobs: int, size: DataSize, window: Duration) -> Bandwidth:
    """Bandwidth that ``jobs`` CI jobs need to move ``size`` each within ``window``."""
    if jobs < 1:
        raise ValueError("a burst has at least one job")
    if window.seconds <= 0:
        raise ValueError("a burst window must be longer than zero")
    return size * jobs / window


def shard_ratio(shard: Bandwidth, observed_peak: Bandwidth) -> float:
    """How many observed peaks one shard carries: 5 Gbps against 4.8 Gbps is 1.04."""
    if observed_peak.bits_per_second <= 0:
        raise ValueError("the observed peak must be above zero to compare a shard with it")
    return shard / observed_peak


def shards_needed(demand: Bandwidth, per_shard: Bandwidth) -> int:
    """How many shards of ``per_shard`` carry ``demand`` (at least one)."""
    if per_shard.bits_per_second <= 0:
        raise ValueError("a shard must carry more than zero")
    return max(1, whole(demand / per_shard))
