"""The scaling ladder: given demand and a shard's capacity, which rung to climb next, and why.

The scaling ladder of docs/capacity.md, from least to most specific:

1. more regional ingress-nginx replicas, or larger gateway nodes (``replicas``);
2. another regional gateway shard: ingress class, controller and LB (``shards``);
3. a dedicated gateway for one account that regularly takes a meaningful fraction of a shard or
   needs isolation (``dedicated``).

``hold`` means the shared shards have headroom. :func:`recommend` is pure: the same inputs give the
same recommendation, and more demand never gives a lower rung.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kura_core.capacity import Ceiling, Shard, shards_needed
from kura_core.units import Bandwidth


class Rung(StrEnum):
    HOLD = "hold"
    REPLICAS = "replicas"
    SHARDS = "shards"
    DEDICATED = "dedicated"

    @property
    def level(self) -> int:
        """Place on the ladder: hold 0, replicas 1, shards 2, dedicated 3."""
        return list(Rung).index(self)


class Thresholds(BaseModel):
    """When to climb. Every default says where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale_up_utilization: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description=(
            "Scale when shared demand passes this fraction of the shared ceiling. 0.8 because "
            "saturation degrades p95/p99 for every tenant of a full shard."
        ),
    )
    dedicated_fraction: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description=(
            "An account whose regular peak reaches this fraction of one shard gets a dedicated "
            "gateway: a 'meaningful fraction of a shard' (docs/capacity.md), taken as a quarter."
        ),
    )
    max_replicas: int = Field(
        default=12,
        ge=1,
        description=(
            "Most gateway replicas one shard may run. 12: Kura node pools autoscale to at most 12 "
            "nodes (docs/capacity.md), and a replica adds NIC only on its own node."
        ),
    )


class AccountDemand(BaseModel):
    """One account's regular peak in a region, and whether its contract needs isolation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handle: str = Field(min_length=1)
    peak: Bandwidth = Bandwidth(0.0)
    isolation: bool = False


class Action(BaseModel):
    """One step of a recommendation, with the numbers after it is taken."""

    model_config = ConfigDict(frozen=True)

    rung: Rung
    reason: str
    account: str | None = Field(default=None, description="The account a dedicated gateway is for")
    replicas: int | None = Field(default=None, description="Gateway replicas per shard after it")
    shards: int | None = Field(default=None, description="Shared shards after it")
    ceiling_gbps: float | None = Field(default=None, description="Shared capacity after it")
    utilization: float | None = Field(default=None, description="Shared demand / that capacity")


class Recommendation(BaseModel):
    """The next rung for one region, most specific action first, with the figures behind it."""

    model_config = ConfigDict(frozen=True)

    rung: Rung
    actions: list[Action]
    shared_demand_gbps: float
    remaining_demand_gbps: float = Field(description="Shared demand once dedicated accounts leave")
    shards: int
    replicas: int
    shard_ceiling_gbps: float
    binding: str
    binding_per_replica: bool
    binding_assumption: bool
    utilization: float = Field(description="Shared demand / (shards x shard ceiling), now")


def _gbps(value: Bandwidth) -> str:
    return value.human("Gbps")


def _binding(ceiling: Ceiling) -> str:
    flag = ", an assumption" if ceiling.binding.assumption else ""
    scope = "per replica" if ceiling.binding.per_replica else "per shard"
    return f"{ceiling.binding.name} binds, {scope}{flag}"


def _dedicated(
    accounts: Sequence[AccountDemand], shard: Bandwidth, thresholds: Thresholds
) -> list[tuple[AccountDemand, Action]]:
    found = []
    for account in accounts:
        reasons = []
        fraction = account.peak / shard
        if fraction >= thresholds.dedicated_fraction:
            reasons.append(
                f"its regular peak {_gbps(account.peak)} is {fraction:.0%} of a "
                f"{_gbps(shard)} shard (threshold {thresholds.dedicated_fraction:.0%})"
            )
        if account.isolation:
            reasons.append("it needs isolation")
        if reasons:
            reason = f"give {account.handle} a dedicated gateway: {' and '.join(reasons)}"
            found.append(
                (account, Action(rung=Rung.DEDICATED, reason=reason, account=account.handle))
            )
    return found


def _shared_action(
    demand: Bandwidth, moved: bool, shard: Shard, shards: int, thresholds: Thresholds
) -> Action | None:
    now = shard.ceiling()
    capacity = now.capacity * shards
    utilization = demand / capacity
    threshold = thresholds.scale_up_utilization
    if utilization <= threshold:
        return None
    which = "shared demand left after the dedicated moves" if moved else "shared demand"
    situation = (
        f"{which} {_gbps(demand)} is {utilization:.0%} of {shards} x {_gbps(now.capacity)} "
        f"({_binding(now)}), above the {threshold:.0%} scale-up threshold"
    )
    needed = demand / threshold
    replicas = shard.replicas_for(needed / shards, thresholds.max_replicas)
    if replicas is not None:
        # At least one more: float noise at the threshold must not read as "fits already".
        replicas = max(replicas, shard.replicas + 1)
    if replicas is not None and replicas <= thresholds.max_replicas:
        after = shard.ceiling(replicas)
        return Action(
            rung=Rung.REPLICAS,
            reason=(
                f"{situation}: run {replicas} gateway replicas per shard (now {shard.replicas}) "
                f"or larger gateway nodes; the shard ceiling becomes {_gbps(after.capacity)}, "
                f"{demand / (after.capacity * shards):.0%} used"
            ),
            replicas=replicas,
            shards=shards,
            ceiling_gbps=(after.capacity * shards).gbps,
            utilization=demand / (after.capacity * shards),
        )
    best = shard.best(thresholds.max_replicas)
    if not now.binding.per_replica:
        why = f"{now.binding.name} is per shard, so more replicas do not help"
    elif best.binding.per_replica:
        why = f"even {best.replicas} replicas (the configured max) give {_gbps(best.capacity)}"
    else:
        why = (
            f"replicas stop helping at {best.replicas}, where {best.binding.name} binds at "
            f"{_gbps(best.capacity)}"
        )
    count = max(shards + 1, shards_needed(needed, best.capacity))
    total = best.capacity * count
    return Action(
        rung=Rung.SHARDS,
        reason=(
            f"{situation}; {why}: run {count} shards (now {shards}) with {best.replicas} "
            f"replicas each, {count} x {_gbps(best.capacity)} = {_gbps(total)}, "
            f"{demand / total:.0%} used"
        ),
        replicas=best.replicas,
        shards=count,
        ceiling_gbps=total.gbps,
        utilization=demand / total,
    )


def recommend(
    demand: Bandwidth,
    accounts: Sequence[AccountDemand],
    shard: Shard,
    shards: int,
    thresholds: Thresholds,
) -> Recommendation:
    """The next rung for a region whose shared shards see ``demand`` at peak.

    Accounts that take at least ``dedicated_fraction`` of a shard, or need isolation, get a
    dedicated gateway first; what they leave behind decides between replicas and shards.
    """
    if shards < 1:
        raise ValueError("a region has at least one shared shard")
    now = shard.ceiling()
    dedicated = _dedicated(accounts, now.capacity, thresholds)
    moved = Bandwidth(sum(account.peak.bits_per_second for account, _ in dedicated))
    remaining = demand - moved
    actions = [action for _, action in dedicated]
    shared = _shared_action(remaining, bool(dedicated), shard, shards, thresholds)
    if shared is not None:
        actions.append(shared)
    utilization = demand / (now.capacity * shards)
    if not actions:
        actions.append(
            Action(
                rung=Rung.HOLD,
                reason=(
                    f"shared demand {_gbps(demand)} is {utilization:.0%} of {shards} x "
                    f"{_gbps(now.capacity)} ({_binding(now)}), within the "
                    f"{thresholds.scale_up_utilization:.0%} scale-up threshold"
                ),
                replicas=shard.replicas,
                shards=shards,
                ceiling_gbps=(now.capacity * shards).gbps,
                utilization=utilization,
            )
        )
    return Recommendation(
        rung=max((action.rung for action in actions), key=lambda rung: rung.level),
        actions=actions,
        shared_demand_gbps=demand.gbps,
        remaining_demand_gbps=remaining.gbps,
        shards=shards,
        replicas=shard.replicas,
        shard_ceiling_gbps=now.capacity.gbps,
        binding=now.binding.name,
        binding_per_replica=now.binding.per_replica,
        binding_assumption=now.binding.assumption,
        utilization=utilization,
    )
