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

DAY = 86_400.0


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


def test_a_regions_health_covers_every_gateway_and_its_speed_the_worst_shard() -> None:
    shards = [
        GatewayMetrics(requests=100.0, p50_latency=0.05, success_ratio=0.99, config_reloads=2.0,
                       config_reload_failed=0.0, cert_expiry=40 * DAY),
        GatewayMetrics(requests=300.0, p50_latency=0.08, success_ratio=0.95, config_reloads=1.0,
                       config_reload_failed=0.0, cert_expiry=50 * DAY),
    ]  # fmt: skip
    dedicated = GatewayMetrics(
        requests=5000.0, p50_latency=2.0, success_ratio=0.1, config_reloads=1.0,
        config_reload_failed=1.0, cert_expiry=3 * DAY,
    )  # fmt: skip
    combined = aggregate(shards, [*shards, dedicated])
    assert combined is not None
    # Latency and success are the shared shards' only; the dedicated gateway is not their load.
    assert combined.p50_latency == 0.08
    assert combined.success_ratio == pytest.approx((0.99 * 100 + 0.95 * 300) / 400)
    # Reloads and certificates are every gateway's: how many failed, the soonest expiry.
    assert (combined.config_reloads, combined.config_reload_failed) == (4.0, 1.0)
    assert combined.cert_expiry == 3 * DAY
    # Without requests, the worst success ratio.
    idle = [GatewayMetrics(success_ratio=0.9), GatewayMetrics(success_ratio=0.5)]
    assert aggregate(idle) == GatewayMetrics(success_ratio=0.5)


def test_reloads_are_events_when_their_count_rises_and_failures_are_crit(clock: Clock) -> None:
    name = labels()["kura-eu-central"]
    metrics = FakeMetrics({name: load(1, 1, config_reloads=0.0, config_reload_failed=0.0)})
    state, collector = make(clock, metrics)

    def refresh(reloads: float, failed: float, seconds: float = 5) -> None:
        metrics.gateways[name] = load(1, 1, config_reloads=reloads, config_reload_failed=failed)
        clock.advance(seconds)
        state.apply(collector.collect(force=True))

    state.apply(collector.collect())
    refresh(1, 0)  # a reload enters the window: logged
    refresh(1, 0)  # the same reload, still in the window: not again
    refresh(2, 0)  # another one, within the gap: counted on the first
    refresh(0, 0, seconds=300)  # both left the window
    refresh(0, 1)  # a reload failed: successes do not count it
    refresh(1, 0)  # the next one succeeded
    events = [
        (e.kind, e.level, e.message, e.count)
        for e in state.events.newest_first()
        if e.subject == "kura-eu-central"
    ]
    assert events == [
        (EventKind.RELOAD, Level.OK, "config reload succeeded again", 1),
        (EventKind.RELOAD, Level.OK, "config reloaded", 1),
        (EventKind.RELOAD, Level.CRIT, "config reload failed", 1),
        (EventKind.RELOAD, Level.OK, "config reloaded", 2),
    ]
    assert state.gateways["kura-eu-central"].metric_level("reload failed") is Level.OK


def test_a_region_row_shows_its_worst_gateways_health(clock: Clock) -> None:
    names = labels()
    metrics = FakeMetrics(
        {
            names["kura-eu-central"]: load(1, 1, config_reload_failed=1.0, cert_expiry=20 * DAY),
            names["kura-eu-central-2"]: load(1, 1, config_reload_failed=0.0, cert_expiry=5 * DAY),
            names["kura-us-east"]: load(1, 1, config_reload_failed=0.0, cert_expiry=60 * DAY),
        }
    )
    state, collector = make(clock, metrics)
    state.apply(collector.collect())
    rows = {row.id: row for row in overview_view(state, clock.now, width=200).rows}
    eu, us = rows["eu-central"], rows["us-east"]
    assert (eu.cells["reload"].text, eu.cells["cert"].text) == ("FAILED", "5d CRIT")
    assert (eu.level, eu.fields["level"]) == (Level.CRIT, "crit")
    # No reload count from the source: unknown, not zero.
    assert (us.cells["reload"].text, us.cells["cert"].text, us.level) == ("-", "60d", Level.OK)
    # A certificate sorts soonest first; FAILED before any count.
    view = overview_view(state, clock.now, width=200)
    assert view.column("cert").sorts_descending is False
    assert view.column("reload").sorts_descending is True


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
