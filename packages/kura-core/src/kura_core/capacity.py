"""The capacity model: what one regional gateway shard can carry, and what bursts demand of it.

A region's ceiling is roughly (docs/capacity.md)::

    min(Hetzner regional LB, NIC/CPU of the gateway nodes, nginx worker capacity,
        CNI forwarding, selected Kura pod/node)

Each term is a :class:`Component`. A component either scales with the gateway replicas of a shard
(each ingress-nginx replica runs on its own node, behind the same LB) or is fixed per shard. The
shard ceiling is the smallest effective component, and that one is the binding component.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kura_core.units import Bandwidth, DataSize, Duration


class Component(BaseModel):
    """One term of the ceiling: a named figure, where it comes from, and whether it is assumed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[^=\s]+$")
    capacity: Bandwidth = Field(description="Per gateway replica when per_replica, else per shard")
    per_replica: bool = False
    assumption: bool = Field(
        default=False, description="The figure is not measured or published: plan with care"
    )
    source: str = ""

    @field_validator("capacity")
    @classmethod
    def _carries_something(cls, value: Bandwidth) -> Bandwidth:
        if value.bits_per_second <= 0:
            raise ValueError("a component must carry more than zero")
        return value

    def effective(self, replicas: int) -> Bandwidth:
        """What this component lets one shard carry with ``replicas`` gateway replicas."""
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


@dataclass(frozen=True)
class Ceiling:
    """The smallest effective component of a shard, and the component that sets it."""

    capacity: Bandwidth
    binding: Component
    replicas: int
    components: tuple[Component, ...]

    def effective(self, component: Component) -> Bandwidth:
        return component.effective(self.replicas)


def ceiling(components: Sequence[Component], replicas: int = 1) -> Ceiling:
    """The shard ceiling with ``replicas`` gateway replicas, and the component that binds.

    On a tie a per-shard component binds (more replicas cannot lift it), else the first listed.
    """
    if not components:
        raise ValueError("a ceiling needs at least one component")
    if replicas < 1:
        raise ValueError("a shard runs at least one gateway replica")
    binding = min(components, key=lambda c: (c.effective(replicas), c.per_replica))
    return Ceiling(binding.effective(replicas), binding, replicas, tuple(components))


def whole(count: float) -> int:
    """``ceil`` that ignores float noise: 6.000000000000001 shards is 6 shards."""
    return math.ceil(round(count, 9))


@dataclass(frozen=True)
class Shard:
    """One regional gateway shard: an LB and an ingress-nginx controller with its replicas."""

    components: tuple[Component, ...]
    replicas: int = DEFAULT_GATEWAY_REPLICAS

    def ceiling(self, replicas: int | None = None) -> Ceiling:
        return ceiling(self.components, self.replicas if replicas is None else replicas)

    def replicas_for(self, needed: Bandwidth, max_replicas: int) -> int | None:
        """The fewest replicas (at most ``max_replicas``) whose ceiling reaches ``needed``."""
        fixed = [c.capacity for c in self.components if not c.per_replica]
        if fixed and min(fixed) < needed:
            return None
        per_replica = [c.capacity for c in self.components if c.per_replica]
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
