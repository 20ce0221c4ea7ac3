"""The embedded simulated fleet: kura_core's capacity simulator, played against the clock.

Simulated time starts at ``start`` (epoch seconds): each fetch steps the simulator through every
tick that has ended by ``now``, so history is complete whatever the refresh interval, and a start
in the past gives the dashboard history to show at once. The same scenario, seed, start and clock
give the same screens, which is what the snapshot tests rely on.

A region's load balancer fronts its shared gateway (shard 1, the region's ingress class), so in
the simulation it carries that gateway's bytes in and out and its client connections.
"""

from __future__ import annotations

from collections.abc import Sequence

from kura_core import (
    DEFAULT_INSTANCE_REPLICAS,
    NAMESPACE,
    GatewayKind,
    LoadBalancerTraffic,
    Region,
    Simulator,
    Tick,
    instance_name,
    regional_load_balancer_name,
)
from kura_dashboard.data.readings import (
    GatewayMetrics,
    GatewayObject,
    InstanceObject,
    Inventory,
    MetricsReadout,
    TrafficReadout,
)


def readout(tick: Tick, start: float) -> MetricsReadout:
    """One simulator tick as a source readout, keyed by gateway name."""
    return MetricsReadout(
        at=start + tick.at,
        gateways={
            s.gateway: GatewayMetrics(
                bytes_in=s.bytes_in,
                bytes_out=s.bytes_out,
                requests=s.requests,
                p95_latency=s.p95_latency,
                error_ratio=s.error_ratio,
                active_connections=float(s.active_connections),
                p99_latency=s.p99_latency,
                # A draining backlog keeps the gateway at its ceiling: that is its load.
                offered_bps=s.load_bps,
                p50_latency=s.p50_latency,
                p90_latency=s.p90_latency,
                success_ratio=s.success_ratio,
                config_reloads=float(s.config_reloads),
                config_reload_failed=float(s.config_reload_failed),
                cert_expiry=s.cert_expiry,
            )
            for s in tick.gateways
        },
        account_demand={(a.region, a.handle): a.demand_bps for a in tick.accounts},
    )


class SimulationSource:
    """Gateway metrics from the simulator."""

    name = "simulation"

    def __init__(self, simulator: Simulator, *, start: float) -> None:
        self.simulator = simulator
        self.start = start
        scenario = simulator.scenario
        self.target = f"scenario {scenario.name}, seed {scenario.seed}"
        self._ticks = 0
        self.latest: Tick | None = None

    def fetch(self, now: float) -> list[MetricsReadout]:
        """Every tick that ended since the last fetch (none when the clock has not moved)."""
        step = self.simulator.scenario.tick.seconds
        readouts = []
        while self.start + (self._ticks + 1) * step <= now:
            self.latest = self.simulator.step()
            readouts.append(readout(self.latest, self.start))
            self._ticks += 1
        return readouts


class SimulatedLoadBalancers:
    """The regional load balancers' traffic at the simulation's latest tick."""

    name = "simulated load balancers"

    def __init__(self, source: SimulationSource, regions: Sequence[Region]) -> None:
        self.source = source
        self.target = f"{len(regions)} simulated load balancers"
        self.interval = source.simulator.scenario.tick.seconds
        shared = {
            (g.region, g.shard): g.name
            for g in source.simulator.fleet
            if g.kind is GatewayKind.SHARD
        }
        self._fronted = {region.id: shared[(region.id, 1)] for region in regions}

    def fetch(self, now: float) -> TrafficReadout:
        tick = self.source.latest
        if tick is None:
            return TrafficReadout(now, {})
        samples = {s.gateway: s for s in tick.gateways}
        at = self.source.start + tick.at
        return TrafficReadout(
            now,
            {
                region: LoadBalancerTraffic(
                    name=regional_load_balancer_name(region),
                    at=at,
                    bytes_in=samples[gateway].bytes_in,
                    bytes_out=samples[gateway].bytes_out,
                    open_connections=samples[gateway].active_connections,
                )
                for region, gateway in self._fronted.items()
            },
        )


class SimulatedInventory:
    """The simulated fleet's KuraGateways and KuraInstances: every one Ready."""

    name = "simulated cluster"

    def __init__(self, simulator: Simulator, regions: Sequence[Region]) -> None:
        self.target = f"{len(simulator.fleet)} simulated gateways"
        clusters = {region.id: region.cluster_id for region in regions}
        dedicated = [g for g in simulator.fleet if g.kind is GatewayKind.DEDICATED]
        # Load-balancer addresses from TEST-NET-3 (RFC 5737): plainly not real ones.
        self._gateways = tuple(
            GatewayObject(
                name=g.name,
                namespace=NAMESPACE,
                region=g.region,
                ingress_class=g.ingress_class,
                controller_class=None,
                replicas=g.ceiling.replicas,
                phase="Ready",
                load_balancer=f"203.0.113.{index % 254 + 1}",
                ready_replicas=g.ceiling.replicas,
            )
            for index, g in enumerate(dedicated)
        )
        by_account = {(g.region, g.account): g for g in dedicated}
        shards = {
            (g.region, g.shard): g.ingress_class
            for g in simulator.fleet
            if g.kind is GatewayKind.SHARD
        }
        instances = []
        for account in simulator.scenario.accounts:
            gateway = by_account.get((account.region, account.handle))
            ingress_class = (
                gateway.ingress_class
                if gateway is not None
                else shards[(account.region, simulator.shard_of(account))]
            )
            instances.append(
                InstanceObject(
                    name=instance_name(account.handle, clusters[account.region]),
                    namespace=NAMESPACE,
                    account=account.handle,
                    region=account.region,
                    ingress_class=ingress_class,
                    gateway=gateway.name if gateway is not None else None,
                    replicas=DEFAULT_INSTANCE_REPLICAS,
                    phase="Ready",
                    ready_replicas=DEFAULT_INSTANCE_REPLICAS,
                )
            )
        self._instances = tuple(instances)

    def fetch(self, now: float) -> Inventory:
        return Inventory(now, self._gateways, self._instances)
