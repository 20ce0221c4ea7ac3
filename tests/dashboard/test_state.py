"""The dashboard state: saturation from the capacity model, aggregation, events, data age, and
the ladder's advice, fed by a fake source through the real collector."""

from __future__ import annotations

import pytest

from kura_core.ladder import Rung
from kura_core.scenario import DEFAULT_SCENARIO
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.connection import ConnectionState
from kura_dashboard.data.events import EventKind
from kura_dashboard.data.readings import (
    GatewayMetrics,
    GatewayObject,
    Inventory,
    MetricsReadout,
    SourceError,
)
from kura_dashboard.data.state import DashboardState, Freshness, aggregate
from kura_dashboard.data.thresholds import Level
from kura_dashboard.data.topology import Topology, cluster_topology
from kura_dashboard.data.views import overview_view, region_view
from tests.dashboard.conftest import (
    Clock,
    FakeMetrics,
    controller_class,
    load,
    production,
    two_shard_topology,
)


def make(clock: Clock, metrics: FakeMetrics) -> tuple[DashboardState, Collector]:
    return DashboardState(two_shard_topology(), interval=5.0), Collector(metrics, None, clock)


def labels() -> dict[str, str]:
    return {ref.name: ref.label for ref in two_shard_topology().gateways}


def test_saturation_is_load_over_the_capacity_models_ceiling(clock: Clock) -> None:
    names = labels()
    metrics = FakeMetrics(
        {
            names["kura-eu-central"]: load(1.0, 2.5),  # 3.5 of 5 Gbps
            names["kura-eu-central-2"]: load(0.5, 1.0),  # 1.5 of 5 Gbps
            # A known offered demand wins over the throughput it caps.
            names["kura-us-east"]: load(2.0, 3.0, offered_bps=6e9),
        }
    )
    state, collector = make(clock, metrics)
    state.apply(collector.collect())
    assert state.gateways["kura-eu-central"].saturation == pytest.approx(0.7)
    assert state.gateways["kura-eu-central-2"].saturation == pytest.approx(0.3)
    # The region: both shards' load over both ceilings.
    assert state.regions["eu-central"].saturation == pytest.approx(5.0 / 10.0)
    assert state.gateways["kura-us-east"].saturation == pytest.approx(1.2)
    # A shard with no series this refresh is unknown, not idle; its region counts what it has.
    assert state.gateways["kura-us-east-2"].saturation is None
    assert state.regions["us-east"].saturation == pytest.approx(6.0 / 10.0)


def test_the_overview_sorts_by_saturation_descending_by_default(
    clock: Clock, fake_metrics: FakeMetrics
) -> None:
    state, collector = make(clock, fake_metrics)
    state.apply(collector.collect())
    view = overview_view(state, clock.now, width=200)
    assert view.default_sort.column == "sat"
    assert view.default_sort.descending
    rows = {row.id: row.cells for row in view.rows}
    # us-east: (2.5 + 3.0) of 2 x 5 Gbps; eu-central: (1.5 + 2.0) of 2 x 5 Gbps.
    assert rows["us-east"]["sat"].text == "█████▌░░░░  55% OK"
    assert rows["eu-central"]["sat"].sort == pytest.approx(0.35)
    assert rows["eu-central"]["ceiling"].text == "10.0"
    assert rows["eu-central"]["binds"].text == "gateway-node"


def test_regions_aggregate_sums_the_worst_p95_and_weighted_errors() -> None:
    combined = aggregate(
        [
            GatewayMetrics(1.0, 2.0, 100.0, 0.2, 0.01, 10.0),
            GatewayMetrics(3.0, 4.0, 300.0, 0.9, 0.05, 30.0),
        ]
    )
    assert combined is not None
    assert (combined.bytes_in, combined.bytes_out, combined.requests) == (4.0, 6.0, 400.0)
    assert combined.p95_latency == 0.9
    assert combined.error_ratio == pytest.approx((0.01 * 100 + 0.05 * 300) / 400)
    assert combined.active_connections == 40.0
    assert aggregate([]) is None


def test_threshold_crossings_are_events_in_words(clock: Clock) -> None:
    name = labels()["kura-eu-central"]
    metrics = FakeMetrics({name: load(2.0, 2.75)})  # 95% of 5 Gbps
    state, collector = make(clock, metrics)
    for _ in range(3):
        state.apply(collector.collect())
        clock.advance(5)
    subject = state.gateways["kura-eu-central"]
    assert subject.metric_level("saturation") is Level.CRIT
    (event,) = [e for e in state.events.newest_first() if e.subject == "kura-eu-central"]
    assert (event.kind, event.level, event.message) == (
        EventKind.THRESHOLD,
        Level.CRIT,
        "saturation OK → CRIT (95%)",
    )


def test_connection_changes_are_events_and_repeats_are_counted(clock: Clock) -> None:
    metrics = FakeMetrics()
    state, collector = make(clock, metrics)
    state.apply(collector.collect())
    assert state.status("prometheus").state is ConnectionState.OK  # type: ignore[union-attr]
    metrics.error = SourceError("cannot connect to Prometheus at http://x: connection refused")
    for _ in range(3):
        clock.advance(5)
        state.apply(collector.collect(force=True))
    metrics.error = None
    clock.advance(5)
    state.apply(collector.collect(force=True))
    events = [(e.level, e.message, e.count) for e in state.events.newest_first()]
    assert events == [
        (Level.OK, "ok", 1),
        (
            Level.CRIT,
            "unreachable: cannot connect to Prometheus at http://x: connection refused",
            1,
        ),
    ]


def test_data_age_dims_then_marks_stale(clock: Clock, fake_metrics: FakeMetrics) -> None:
    state, collector = make(clock, fake_metrics)
    state.apply(collector.collect())
    fake_metrics.error = SourceError("timed out")
    region = state.regions["eu-central"]
    for seconds, shown, freshness in ((4, "4s", Freshness.FRESH), (10, "10s", Freshness.DIM),
                                      (25, "STALE 25s", Freshness.STALE)):  # fmt: skip
        row = {r.id: r for r in overview_view(state, clock.now + seconds, width=200).rows}
        assert row["eu-central"].cells["age"].text == shown
        assert state.freshness(region, clock.now + seconds) is freshness
    # The numbers stay, but the row says how old they are.
    assert row["eu-central"].cells["in"].text == "1.50"


def test_unknown_series_are_counted(clock: Clock) -> None:
    metrics = FakeMetrics({"k8s.io/someone-elses-ingress-nginx": load(1, 1)})
    state, collector = make(clock, metrics)
    state.apply(collector.collect())
    assert state.unmapped == {"k8s.io/someone-elses-ingress-nginx"}


def test_the_ladder_advice_follows_the_peak_shared_load(clock: Clock) -> None:
    names = labels()
    metrics = FakeMetrics(
        {names["kura-eu-central"]: load(1, 1), names["kura-eu-central-2"]: load(1, 1)}
    )
    state, collector = make(clock, metrics)
    state.apply(collector.collect())
    assert state.recommendations["eu-central"].rung.value == "hold"
    metrics.gateways = {
        names["kura-eu-central"]: load(2, 2.5),
        names["kura-eu-central-2"]: load(2, 2.5),
    }
    clock.advance(5)
    state.apply(collector.collect())
    advice = state.recommendations["eu-central"]
    assert advice.rung is Rung.REPLICAS
    assert advice.shared_demand_gbps == pytest.approx(9.0)
    # The peak is held: a quiet refresh does not drop the advice.
    metrics.gateways = {names["kura-eu-central"]: load(0.1, 0.1)}
    clock.advance(5)
    state.apply(collector.collect())
    assert state.recommendations["eu-central"].rung is Rung.REPLICAS


def test_account_demand_feeds_dedicated_advice_for_shared_accounts_only(clock: Clock) -> None:
    state = DashboardState(two_shard_topology())
    readout = MetricsReadout(
        clock.now,
        {},
        account_demand={("eu-central", "acme"): 2e9, ("eu-central", "small"): 1e8},
    )
    collector = Collector(_Fixed([readout]), None, clock)
    state.apply(collector.collect())
    reasons = [a.account for a in state.recommendations["eu-central"].actions]
    assert reasons == ["acme"]


class _Fixed:
    name = "fixed"
    target = "fixed"

    def __init__(self, readouts: list[MetricsReadout]) -> None:
        self.readouts = readouts

    def fetch(self, now: float) -> list[MetricsReadout]:
        return self.readouts


def test_the_region_view_lists_shards_and_dedicated_gateways(
    clock: Clock, fake_metrics: FakeMetrics
) -> None:
    state, collector = make(clock, fake_metrics)
    state.apply(collector.collect())
    view = region_view(state, "eu-central", clock.now, width=200)
    assert [row.id for row in view.rows] == ["kura-eu-central", "kura-eu-central-2"]
    assert [row.cells["kind"].text for row in view.rows] == ["shard 1", "shard 2"]
    assert [c.key for c in view.columns][:2] == ["gateway", "sat"]
    assert view.title == "EU Central (eu-central): 2 shard(s) x 2 replicas, 0 dedicated"


class _Cluster:
    name = "kubernetes"
    target = "double"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def fetch(self, now: float) -> Inventory:
        return self.inventory


def test_a_gateway_outside_the_catalog_is_an_event(clock: Clock) -> None:
    stray = GatewayObject(
        name="kgw-000000000000-mars", namespace="kura", region="mars",
        ingress_class="kura-mars-kgw-000000000000-mars", controller_class=None, replicas=2,
    )  # fmt: skip
    regions = [r for r in production() if r.id == "eu-central"]

    def topology_for(inventory: Inventory | None) -> Topology:
        gateways = inventory.gateways if inventory else ()
        return cluster_topology(regions, DEFAULT_SCENARIO, controller_class, gateways)

    state = DashboardState(topology_for(None))
    inventory = Inventory(clock.now, gateways=(stray,))
    collector = Collector(FakeMetrics(), _Cluster(inventory), clock, topology_for)
    state.apply(collector.collect())
    (event,) = state.events.newest_first()
    assert (event.kind, event.level, event.message) == (
        EventKind.TOPOLOGY,
        Level.WARN,
        "KuraGateway kgw-000000000000-mars: region 'mars' is not in the catalog",
    )
    assert [g.name for g in state.topology.gateways] == ["kura-eu-central"]
