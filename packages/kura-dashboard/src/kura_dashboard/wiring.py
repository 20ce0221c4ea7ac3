"""From the command's options to sources, a collector and a state: simulated or live.

* Simulated (no ``--prometheus``): kura_core's simulator on the env's regions, with the providers'
  capacity components as ``kura plan`` uses them; its simulated time starts ``WARMUP`` seconds in
  the past, so the first screen already has history.
* Live: Prometheus with the PromQL of each region's ingress provider (reached only through the
  plugin host), plus the Kubernetes API for KuraGateways and KuraInstances; shards come from the
  scenario (default: the built-in one), dedicated gateways from the cluster. Each region's
  load-balancer provider reads its regional load balancer's traffic when it can and the
  environment holds its credentials (``HCLOUD_TOKEN`` for ``hetzner``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kura_core import (
    DEFAULT_SCENARIO,
    DEFAULT_SIMULATION,
    Component,
    KuraContext,
    LoadBalancerTrafficSupport,
    Region,
    Scenario,
    Simulator,
    load_simulation,
    regional_load_balancer_name,
)
from kura_dashboard.data.collector import Collector, TrafficSource
from kura_dashboard.data.readings import Inventory
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.thresholds import DEFAULT_THRESHOLDS, Threshold
from kura_dashboard.data.topology import Topology, cluster_topology, simulated_topology

WARMUP = 600.0
Components = Mapping[str, Sequence[Component]]


@dataclass(frozen=True)
class DashboardOptions:
    env: str
    prometheus_url: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "kura"
    interval: float = 5.0
    scenario_file: Path | None = None
    seed: int | None = None
    timeout: float = 2.0
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS
    environ: Mapping[str, str] = field(default_factory=dict)
    """Where load-balancer providers find their credentials."""


@dataclass
class Wiring:
    collector: Collector
    state: DashboardState
    simulated: bool
    metric_window: str
    label: str


def wire(kura: KuraContext, options: DashboardOptions, clock: Callable[[], float]) -> Wiring:
    catalog = kura.catalog(options.env)
    regions = list(catalog)
    provided = {region.id: kura.capacity_components(region) for region in regions}
    if options.prometheus_url is None:
        return _simulated(regions, provided, options, clock)
    return _live(kura, options.prometheus_url, regions, provided, options, clock)


def _state(topology: Topology, scenario: Scenario, options: DashboardOptions) -> DashboardState:
    return DashboardState(
        topology,
        ladder=scenario.thresholds,
        thresholds=options.thresholds,
        interval=options.interval,
    )


def _simulated(
    regions: Sequence[Region],
    provided: Components,
    options: DashboardOptions,
    clock: Callable[[], float],
) -> Wiring:
    from kura_dashboard.data.sources.simulation import (
        SimulatedInventory,
        SimulatedLoadBalancers,
        SimulationSource,
    )

    if options.scenario_file is not None:
        scenario = load_simulation(options.scenario_file)
    else:
        scenario = DEFAULT_SIMULATION.restricted_to([region.id for region in regions])
    if options.seed is not None:
        scenario = scenario.model_copy(update={"seed": options.seed})
    simulator = Simulator(scenario, regions, provided)
    source = SimulationSource(simulator, start=clock() - WARMUP)
    collector = Collector(
        source,
        SimulatedInventory(simulator, regions),
        clock,
        traffic=SimulatedLoadBalancers(source, regions),
    )
    state = _state(simulated_topology(simulator, regions), scenario, options)
    return Wiring(collector, state, True, f"one {scenario.tick.seconds:g}s tick", source.target)


def _live(
    kura: KuraContext,
    url: str,
    regions: Sequence[Region],
    provided: Components,
    options: DashboardOptions,
    clock: Callable[[], float],
) -> Wiring:
    from kura_dashboard.data.sources.kubernetes import KubernetesSource
    from kura_dashboard.data.sources.prometheus import PrometheusSource

    scenario: Scenario = (
        load_simulation(options.scenario_file)
        if options.scenario_file is not None
        else DEFAULT_SCENARIO
    )
    providers = {
        region.id: kura.host.ingress_provider(region.ingress_provider) for region in regions
    }
    query_sets = [provider.metric_queries() for provider in providers.values()]

    def controller_class(region: Region, ingress_class: str) -> str:
        return providers[region.id].default_controller_class(ingress_class)

    def topology_for(inventory: Inventory | None) -> Topology:
        return cluster_topology(
            regions,
            scenario,
            controller_class,
            inventory.gateways if inventory else (),
            inventory.instances if inventory else (),
            provided,
        )

    metrics = PrometheusSource(url, query_sets, timeout=options.timeout)
    inventory = KubernetesSource(
        kubeconfig=options.kubeconfig,
        context=options.context,
        namespace=options.namespace,
        timeout=options.timeout,
    )
    collector = Collector(
        metrics, inventory, clock, topology_for, _load_balancers(kura, regions, options)
    )
    state = _state(topology_for(None), scenario, options)
    windows = sorted({queries.window for queries in query_sets})
    return Wiring(collector, state, False, f"{', '.join(windows)} rate", metrics.target)


def _load_balancers(
    kura: KuraContext, regions: Sequence[Region], options: DashboardOptions
) -> TrafficSource | None:
    """A source for the regional load balancers whose providers can read their traffic."""
    from kura_dashboard.data.sources.load_balancers import LoadBalancerSource, ReaderRegions

    by_provider: dict[str, list[Region]] = {}
    for region in regions:
        by_provider.setdefault(region.load_balancer_provider, []).append(region)
    readers = []
    for name, served in sorted(by_provider.items()):
        provider = kura.host.load_balancer_provider(name)
        if not isinstance(provider, LoadBalancerTrafficSupport):
            continue
        reader = provider.traffic_reader(options.environ, timeout=options.timeout)
        if reader is not None:
            names = {region.id: regional_load_balancer_name(region.id) for region in served}
            readers.append(ReaderRegions(name, reader, names))
    return LoadBalancerSource(readers) if readers else None
