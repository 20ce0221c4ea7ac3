"""Each region's load balancer bandwidth: the source, its pace, the state and the views.

The readers here are fakes with fixed series (the contract a load-balancer provider fulfils);
the Hetzner reader itself is tested against the API double in test_load_balancer_wiring.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from kura_core.errors import KuraError
from kura_core.names import regional_load_balancer_name
from kura_core.providers import LoadBalancerTraffic
from kura_core.simulator import DEFAULT_SIMULATION, GatewayKind, Simulator
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.connection import ConnectionState
from kura_dashboard.data.readings import SourceError
from kura_dashboard.data.sources.load_balancers import LoadBalancerSource, ReaderRegions
from kura_dashboard.data.sources.simulation import SimulatedLoadBalancers, SimulationSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.views import overview_view, region_summary
from tests.dashboard.conftest import Clock, FakeMetrics, production, two_shard_topology

EU = regional_load_balancer_name("eu-central")
US = regional_load_balancer_name("us-east")
GBPS = 1e9 / 8  # bytes per second in one Gbps


@dataclass
class FakeReader:
    """A reader with fixed series that counts its calls; ``error`` makes it fail."""

    series: dict[str, LoadBalancerTraffic]
    error: KuraError | None = None
    calls: list[tuple[str, ...]] = field(default_factory=list)
    target: str = "https://api.cloud.test/v1"
    resolution: float = 60.0

    def traffic(self, names: Sequence[str], *, now: float) -> dict[str, LoadBalancerTraffic]:
        self.calls.append(tuple(names))
        if self.error is not None:
            raise self.error
        return {name: self.series[name] for name in names if name in self.series}

    def close(self) -> None:
        """Nothing to release."""


def traffic(
    name: str, at: float, gbps_in: float, gbps_out: float, connections: float | None = None
) -> LoadBalancerTraffic:
    return LoadBalancerTraffic(name, at, gbps_in * GBPS, gbps_out * GBPS, connections)


def both_regions(reader: FakeReader) -> LoadBalancerSource:
    return LoadBalancerSource([ReaderRegions("fake", reader, {"eu-central": EU, "us-east": US})])


def test_each_region_gets_its_load_balancers_figures(clock: Clock) -> None:
    reader = FakeReader({EU: traffic(EU, clock.now - 30, 1.5, 4.0), US: traffic(US, 1, 0, 0)})
    readout = both_regions(reader).fetch(clock.now)
    assert reader.calls == [(EU, US)]
    assert readout.regions["eu-central"].bytes_in == pytest.approx(1.5 * GBPS)
    assert readout.regions["eu-central"].bytes_out == pytest.approx(4.0 * GBPS)
    assert readout.problems == ()


def test_a_load_balancer_the_cloud_does_not_know_is_a_problem_not_a_zero(clock: Clock) -> None:
    readout = both_regions(FakeReader({EU: traffic(EU, clock.now, 1, 1)})).fetch(clock.now)
    assert set(readout.regions) == {"eu-central"}
    assert readout.problems == (f"no load balancer named {US} (region us-east)",)


def test_one_failing_provider_degrades_all_failing_is_unreachable(clock: Clock) -> None:
    broken = FakeReader({}, error=KuraError("the API at x rejected the token (401 unauthorized)"))
    working = FakeReader({US: traffic(US, clock.now, 1, 2)})
    source = LoadBalancerSource(
        [
            ReaderRegions("a", broken, {"eu-central": EU}),
            ReaderRegions("b", working, {"us-east": US}),
        ]
    )
    readout = source.fetch(clock.now)
    assert set(readout.regions) == {"us-east"}
    assert readout.problems == ("a: the API at x rejected the token (401 unauthorized)",)
    with pytest.raises(SourceError, match=r"^a: the API at x rejected the token"):
        LoadBalancerSource([ReaderRegions("a", broken, {"eu-central": EU})]).fetch(clock.now)


def test_the_source_reads_no_faster_than_its_slowest_reader() -> None:
    slow = FakeReader({}, resolution=300.0)
    source = LoadBalancerSource(
        [ReaderRegions("a", FakeReader({}), {"eu-central": EU}), ReaderRegions("b", slow, {})]
    )
    assert source.interval == 300.0
    with pytest.raises(ValueError, match="at least one reader"):
        LoadBalancerSource([])


def test_the_collector_asks_at_most_once_per_interval_even_when_forced(clock: Clock) -> None:
    reader = FakeReader({EU: traffic(EU, clock.now, 1, 1), US: traffic(US, clock.now, 1, 1)})
    collector = Collector(FakeMetrics(), None, clock, traffic=both_regions(reader))
    assert collector.collect().traffic is not None
    clock.advance(5)
    assert collector.collect(force=True).traffic is None
    clock.advance(55)
    assert collector.collect().traffic is not None
    assert len(reader.calls) == 2


def test_a_failing_read_is_unreachable_in_words_and_backs_off(clock: Clock) -> None:
    reader = FakeReader({}, error=KuraError("cannot connect to the API: connection refused"))
    collector = Collector(FakeMetrics(), None, clock, traffic=both_regions(reader))
    snapshot = collector.collect()
    status = next(s for s in snapshot.statuses if s.source == "load balancers")
    assert status.state is ConnectionState.UNREACHABLE
    assert status.error == "fake: cannot connect to the API: connection refused"
    clock.advance(60)
    collector.collect()
    clock.advance(60)
    collector.collect()
    # Every interval it tries again, and the backoff (2 s, 4 s, ...) never shortens the interval.
    assert len(reader.calls) == 3


def test_the_overview_and_the_region_panel_show_the_figures_and_their_age(clock: Clock) -> None:
    state = DashboardState(two_shard_topology(), interval=5.0)
    reader = FakeReader({EU: traffic(EU, clock.now - 40, 1.25, 3.5, 1_250)})
    collector = Collector(FakeMetrics(), None, clock, traffic=both_regions(reader))
    state.apply(collector.collect())
    rows = {row.id: row for row in overview_view(state, clock.now, width=240).rows}
    assert (rows["eu-central"].cells["lb_in"].text, rows["eu-central"].cells["lb_out"].text) == (
        "s1 1.25",
        "s1 3.50",
    )
    assert rows["eu-central"].cells["lb_out"].sort == pytest.approx(3.5 * GBPS)
    # No figure is "-", never 0.
    assert rows["us-east"].cells["lb_in"].text == "-"
    summary = region_summary(state, "eu-central", clock.now)
    assert f"LB {EU} (shard 1) in 1.25 / out 3.50 Gbps, 1.2k open, sampled 40s ago" in summary
    assert "LB traffic not read" in region_summary(state, "us-east", clock.now)


def test_a_failed_read_keeps_the_last_figures_which_age(clock: Clock) -> None:
    state = DashboardState(two_shard_topology(), interval=5.0)
    reader = FakeReader({EU: traffic(EU, clock.now, 1, 2)})
    collector = Collector(FakeMetrics(), None, clock, traffic=both_regions(reader))
    state.apply(collector.collect())
    reader.error = KuraError("the API at x failed (HTTP 503 service unavailable)")
    clock.advance(300)
    state.apply(collector.collect())
    # No connection figure from the cloud is "-", not 0.
    assert "- open, sampled 5m ago" in region_summary(state, "eu-central", clock.now)
    status = state.status("load balancers")
    assert status is not None
    assert status.state is ConnectionState.UNREACHABLE


def test_the_simulated_load_balancer_carries_its_shared_gateways_bytes(clock: Clock) -> None:
    regions = production()
    simulator = Simulator(DEFAULT_SIMULATION, regions)
    source = SimulationSource(simulator, start=clock.now - 120)
    balancers = SimulatedLoadBalancers(source, regions)
    assert balancers.fetch(clock.now).regions == {}
    readouts = source.fetch(clock.now)
    latest = readouts[-1]
    readout = balancers.fetch(clock.now)
    assert set(readout.regions) == {region.id for region in regions}
    for region in regions:
        first = next(
            g.name
            for g in simulator.fleet
            if g.region == region.id and g.kind is GatewayKind.SHARD and g.shard == 1
        )
        lb = readout.regions[region.id]
        assert lb.name == regional_load_balancer_name(region.id)
        assert lb.at == latest.at
        assert lb.bytes_in == latest.gateways[first].bytes_in
        assert lb.bytes_out == latest.gateways[first].bytes_out
        assert lb.open_connections == latest.gateways[first].active_connections
    assert balancers.interval == DEFAULT_SIMULATION.tick.seconds
