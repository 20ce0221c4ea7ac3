"""Fixtures for the kura-dashboard tests: a fixed clock, a fake metric source, and apps on the
simulated fleet (fixed seed, fixed clock) or on the fake source."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kura_core.capacity import Component
from kura_core.cli.context import KuraContext
from kura_core.metric_queries import MetricQueries
from kura_core.plugins import PluginHost
from kura_core.recording_rules import rule_groups
from kura_core.regions import Region, managed_catalogs
from kura_core.scenario import RegionSpec, Scenario
from kura_core.simulator import DEFAULT_SIMULATION, SimulationScenario, Simulator
from kura_core.units import Duration
from kura_dashboard.app import KuraDashboard
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.readings import GatewayMetrics, MetricsReadout, SourceError
from kura_dashboard.data.sources.simulation import SimulatedInventory, SimulationSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.topology import Topology, cluster_topology, simulated_topology
from kura_testing.binaries import require_binary
from kura_testing.prometheus import PrometheusServer, api_data, backfill, prometheus_with_rules

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def production() -> list[Region]:
    return list(managed_catalogs()["production"])


def on_gateway_api(moved: str = "eu-central") -> list[Region]:
    """The production regions, ``moved`` on the Gateway API ingress provider (Envoy Gateway)."""
    return [
        region.model_copy(update={"ingress_provider": "gateway-api"})
        if region.id == moved
        else region
        for region in production()
    ]


def provided_components(regions: Sequence[Region]) -> dict[str, list[Component]]:
    """Each region's capacity terms from its providers, as the dashboard and ``kura plan`` take
    them: Envoy's data-plane term has no figure."""
    kura = KuraContext(PluginHost(environ={}))
    return {region.id: kura.capacity_components(region) for region in regions}


@dataclass
class FakeMetrics:
    """A metric source whose answers the test sets; it counts its calls."""

    gateways: dict[str, GatewayMetrics] = field(default_factory=dict)
    error: SourceError | None = None
    calls: int = 0
    name: str = "prometheus"
    target: str = "http://prometheus.test:9090"

    def fetch(self, now: float) -> list[MetricsReadout]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return [MetricsReadout(now, dict(self.gateways))]


def controller_class(region: Region, ingress_class: str) -> str:
    return f"k8s.io/{ingress_class}-ingress-nginx"


def two_shard_topology() -> Topology:
    """eu-central and us-east, two shards each, from the capacity model's defaults."""
    regions = [r for r in production() if r.id in ("eu-central", "us-east")]
    scenario = Scenario(regions={r.id: RegionSpec(shards=2) for r in regions})
    return cluster_topology(regions, scenario, controller_class)


def load(gbps_in: float, gbps_out: float, **extra: float) -> GatewayMetrics:
    """Metrics with throughput in Gbps, the rest as given."""
    return GatewayMetrics(bytes_in=gbps_in * 1e9 / 8, bytes_out=gbps_out * 1e9 / 8, **extra)


@pytest.fixture
def clock() -> Clock:
    return Clock()


AppFactory = Callable[..., KuraDashboard]


@pytest.fixture
def simulated_app(tmp_path: Path, clock: Clock) -> AppFactory:
    """The dashboard on the default simulated fleet (or ``scenario``): seed 7, ten minutes of
    history, fixed clock."""

    def build(
        interval: float = 60.0,
        seed: int | None = None,
        scenario: SimulationScenario = DEFAULT_SIMULATION,
        regions: Sequence[Region] | None = None,
    ) -> KuraDashboard:
        """``regions`` (default: production's, on the model's default terms) are simulated
        with their providers' capacity terms, as ``kura dashboard`` simulates them."""
        if seed is not None:
            scenario = scenario.model_copy(update={"seed": seed})
        if regions is None:
            regions, provided = production(), None
        else:
            provided = provided_components(regions)
        simulator = Simulator(scenario, regions, provided)
        source = SimulationSource(simulator, start=clock.now - 600)
        collector = Collector(source, SimulatedInventory(simulator, regions), clock)
        state = DashboardState(simulated_topology(simulator, regions), interval=interval)
        return KuraDashboard(
            collector,
            state,
            env="production",
            simulated=True,
            metric_window="one 5s tick",
            clock=clock,
            interval=interval,
            export_dir=tmp_path / "exports",
            preferences_path=tmp_path / "state" / "dashboard.json",
        )

    return build


@pytest.fixture
def fake_metrics() -> FakeMetrics:
    topology = two_shard_topology()
    return FakeMetrics(
        {
            ref.label: load(0.5 * (number + 1), 1.0, requests=100.0, error_ratio=0.001)
            for number, ref in enumerate(topology.gateways)
        }
    )


@pytest.fixture
def fake_app(tmp_path: Path, clock: Clock, fake_metrics: FakeMetrics) -> AppFactory:
    """The dashboard on :class:`FakeMetrics` over :func:`two_shard_topology`, not simulated."""

    def build(interval: float = 5.0) -> KuraDashboard:
        state = DashboardState(two_shard_topology(), interval=interval)
        return KuraDashboard(
            Collector(fake_metrics, None, clock),
            state,
            env="production",
            simulated=False,
            metric_window="5m rate",
            clock=clock,
            interval=interval,
            export_dir=tmp_path / "exports",
            preferences_path=tmp_path / "state" / "dashboard.json",
        )

    return build


@contextmanager
def recorded_prometheus(
    openmetrics: str, query_sets: Mapping[str, MetricQueries], workdir: Path, at: float
) -> Iterator[PrometheusServer]:
    """The real Prometheus over ``openmetrics``, with the recording rules of ``query_sets``
    loaded and what they recorded a minute each side of ``at``. The rules run every second, so
    Prometheus evaluates them within a second of starting."""
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    rules = workdir / "kura-rules.yml"
    rules.write_text(json.dumps(rule_groups(query_sets, Duration.parse("1s"))), encoding="utf-8")
    data = backfill(promtool, openmetrics, workdir)
    start, end = int(at) - 60, int(at) + 60
    with prometheus_with_rules(
        prometheus, promtool, data, workdir, rules, start=start, end=end
    ) as running:
        yield running


def last_evaluation(url: str, record: str, at: float) -> float:
    """When the rule recording ``record`` last ran, as of ``at``."""
    (result,) = api_data(url, "query", query=f"max(timestamp({record}))", time=repr(at))["result"]
    return float(result["value"][1])


def assert_same_metrics(got: GatewayMetrics, want: GatewayMetrics, gateway: str) -> None:
    """Every figure of ``got`` is ``want``'s, to floating-point noise; unknown where it is."""
    for figure in dataclasses.fields(want):
        value = getattr(want, figure.name)
        close = value if value is None else pytest.approx(value, rel=1e-9)
        assert getattr(got, figure.name) == close, (gateway, figure.name)
