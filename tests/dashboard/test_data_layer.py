"""The data layer's small parts: rings, the event log, filters, sorting, formatting, refresh
intervals, backoff, freshness, export, preferences, and the views' column fitting."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kura_core.regions import managed_catalogs
from kura_core.simulator import (
    DEFAULT_SIMULATION,
    Certificate,
    ConfigReload,
    Controllers,
    Simulator,
)
from kura_core.units import Duration
from kura_dashboard.data import format as fmt
from kura_dashboard.data.connection import ConnectionState, SourceHealth
from kura_dashboard.data.events import EventKind, EventLog
from kura_dashboard.data.export import export_stem, rows_csv, rows_json
from kura_dashboard.data.filters import FilterError, parse_filter
from kura_dashboard.data.preferences import Preferences, load_preferences, save_preferences
from kura_dashboard.data.readings import MetricsReadout
from kura_dashboard.data.refresh import MIN_INTERVAL, clamp_interval, step_interval
from kura_dashboard.data.ring import Ring
from kura_dashboard.data.sorting import LazyOrder, SortSpec, sort_rows
from kura_dashboard.data.sources.simulation import SimulationSource
from kura_dashboard.data.state import Freshness, freshness
from kura_dashboard.data.thresholds import Level
from kura_dashboard.data.views import Cell, Column, Row, View, fit

DATA = Path(__file__).resolve().parents[2] / "packages/kura-dashboard/src/kura_dashboard/data"


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.py")), ids=lambda p: p.name)
def test_the_data_layer_imports_no_textual(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in modules if m.split(".")[0] == "textual"}


# --- rings ------------------------------------------------------------------------------------


def test_a_ring_keeps_the_newest_samples_oldest_first() -> None:
    ring = Ring(3)
    for value in (1.0, 2.0, None, 4.0):
        ring.append(value)
    assert ring.values() == [2.0, None, 4.0]
    assert len(ring) == 3
    assert ring.last() == 4.0
    assert ring.peak() == 4.0
    assert ring.nbytes == 24


def test_an_empty_ring_knows_nothing() -> None:
    ring = Ring(4)
    assert (ring.values(), ring.last(), ring.peak()) == ([], None, None)
    with pytest.raises(ValueError, match="at least one sample"):
        Ring(0)


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=50), st.integers(1, 10))
def test_a_ring_is_the_tail_of_what_was_appended(values: list[float | None], size: int) -> None:
    ring = Ring(size)
    for value in values:
        ring.append(value)
    assert ring.values() == values[-size:] if values else ring.values() == []


# --- events -----------------------------------------------------------------------------------


def test_repeats_within_the_gap_are_counted_not_listed() -> None:
    log = EventLog(capacity=10, min_gap=60)
    first = log.add(0, EventKind.CONNECTION, "prometheus", "unreachable: refused", Level.CRIT)
    assert log.add(30, EventKind.CONNECTION, "prometheus", "unreachable: refused") is None
    assert log.add(80, EventKind.CONNECTION, "prometheus", "unreachable: refused") is None
    assert first is not None
    assert (len(log), first.count, first.last_at) == (1, 3, 80)
    # The gap counts from the last occurrence: 200 - 80 > 60, so this one is listed.
    assert log.add(200, EventKind.CONNECTION, "prometheus", "unreachable: refused") is not None
    assert len(log) == 2


def test_the_log_is_capped_oldest_first() -> None:
    log = EventLog(capacity=3, min_gap=60)
    for number in range(5):
        log.add(number, EventKind.THRESHOLD, f"gw-{number}", "saturation OK → WARN (71%)")
    assert [e.subject for e in log.newest_first()] == ["gw-4", "gw-3", "gw-2"]
    assert log.dropped == 2
    # A dropped event's key no longer de-duplicates.
    assert log.add(10, EventKind.THRESHOLD, "gw-0", "saturation OK → WARN (71%)") is not None


# --- filters ----------------------------------------------------------------------------------

FIELDS = {"region": "eu-central", "kind": "dedicated", "account": "acme", "level": "warn"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("eu", True),
        ("EU-CENTRAL", True),
        ("region:eu", True),
        ("region:us", False),
        ("!region:us", True),
        ("kind:dedicated account:acme", True),
        ("kind:dedicated account:globex", False),
        ("level:warn|crit", True),
        ("!acme", False),
        ("shard:1", False),
    ],
)
def test_filter_terms(text: str, matches: bool) -> None:
    assert parse_filter(text).matches(FIELDS) is matches


@pytest.mark.parametrize(
    ("text", "message"),
    [("region:", "'region:': nothing to match"), ("(", "'(' is not a valid regular expression")],
)
def test_a_bad_filter_says_why(text: str, message: str) -> None:
    with pytest.raises(FilterError, match="^" + message.replace("(", r"\(")):
        parse_filter(text)


# --- sorting ----------------------------------------------------------------------------------


def test_sorting_is_stable_and_puts_unknowns_last_both_ways() -> None:
    values: dict[str, float | str | None] = {"c": 0.5, "a": 0.5, "b": None, "d": 0.9}
    assert sort_rows(values, SortSpec("sat")) == ["a", "c", "d", "b"]
    assert sort_rows(values, SortSpec("sat", descending=True)) == ["d", "a", "c", "b"]


def test_lazy_order_moves_rows_at_most_once_per_n_refreshes() -> None:
    order = LazyOrder(every=3)
    spec = SortSpec("sat", descending=True)
    assert order.order({"a": 0.9, "b": 0.1}, spec) == ["a", "b"]
    # b overtakes a, but the order holds until the third refresh since the last sort.
    assert order.order({"a": 0.1, "b": 0.9}, spec) == ["a", "b"]
    assert order.order({"a": 0.1, "b": 0.9}, spec) == ["a", "b"]
    assert order.order({"a": 0.1, "b": 0.9}, spec) == ["b", "a"]


def test_lazy_order_resorts_at_once_when_the_sort_or_the_rows_change() -> None:
    order = LazyOrder(every=3)
    order.order({"a": 0.9, "b": 0.1}, SortSpec("sat", descending=True))
    assert order.order({"a": 0.9, "b": 0.1}, SortSpec("sat")) == ["b", "a"]
    assert order.order({"a": 0.9, "b": 0.1, "c": 0.5}, SortSpec("sat")) == ["b", "c", "a"]


def test_frozen_rows_never_move_new_ones_join_at_the_end() -> None:
    order = LazyOrder(every=1)
    spec = SortSpec("sat", descending=True)
    order.order({"a": 0.9, "b": 0.5, "c": 0.1}, spec)
    frozen = order.order({"a": 0.1, "b": 0.5, "c": 0.9, "d": 1.0}, spec, frozen=True)
    assert frozen == ["a", "b", "c", "d"]
    assert order.order({"a": 0.1, "c": 0.9}, spec, frozen=True) == ["a", "c"]
    assert order.order({"a": 0.1, "c": 0.9}, spec) == ["c", "a"]


# --- formatting, intervals, backoff, freshness ---------------------------------------------------


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: fmt.gbps(4.8e9), "4.80"),
        (lambda: fmt.gbps(66.7e9), "66.7"),
        (lambda: fmt.gbps(None), "-"),
        (lambda: fmt.percent(0.931), "93%"),
        (lambda: fmt.percent(0.0123, 1), "1.2%"),
        (lambda: fmt.seconds(0.256), "256ms"),
        (lambda: fmt.seconds(2.5), "2.5s"),
        (lambda: fmt.seconds(38.2), "38s"),
        (lambda: fmt.seconds(600), "10m"),
        (lambda: fmt.remaining(59.9 * 86_400), "59d"),
        (lambda: fmt.remaining(7.99 * 86_400), "7d"),
        (lambda: fmt.remaining(36.5 * 3600), "36h"),
        (lambda: fmt.remaining(45.5 * 60), "45m"),
        (lambda: fmt.remaining(-5.0), "expired"),
        (lambda: fmt.remaining(None), "-"),
        (lambda: fmt.whole(4.0), "4"),
        (lambda: fmt.whole(1234), "1.2k"),
        (lambda: fmt.count(950), "950"),
        (lambda: fmt.count(1234), "1.2k"),
        (lambda: fmt.count(3.6), "3.6"),
        (lambda: fmt.age(42), "42s"),
        (lambda: fmt.age(400), "7m"),
        (lambda: fmt.bar(0.64, Level.OK, 10), "██████▍░░░  64% OK"),
        (lambda: fmt.bar(1.3, Level.CRIT, 4), "████ 130% CRIT"),
        (lambda: fmt.bar(None, Level.OK, 4), "░░░░    -"),
        # Over a ceiling that is only an upper bound, a saturation is a lower bound.
        (lambda: fmt.bar(0.64, Level.OK, 10, at_least=True), "██████▍░░░ ≥64% OK"),
        (lambda: fmt.ceiling(5e9), "5.00"),
        (lambda: fmt.ceiling(10e9, bound=True), "unknown (≤ 10.0)"),
        (lambda: fmt.sparkline([0.0, 0.5, 1.0, None], 6, top=1.0), "  ▁▅█ "),
    ],
)
def test_formats(call: object, text: str) -> None:
    assert callable(call)
    assert call() == text


def test_no_braille_anywhere_in_bars_and_sparklines() -> None:
    drawn = fmt.SPARK + fmt.FULL + fmt.PARTIAL + fmt.EMPTY
    assert not [c for c in drawn if 0x2800 <= ord(c) <= 0x28FF]


def test_the_refresh_interval_has_a_floor_and_presets() -> None:
    assert clamp_interval(0.5) == (
        MIN_INTERVAL,
        "refresh interval 0.5s is below the 2s floor; using 2s",
    )
    assert clamp_interval(7) == (7, None)
    assert step_interval(5, 1) == 10
    assert step_interval(5, -1) == 2
    assert step_interval(2, -1) == 2
    assert step_interval(7, 1) == 10
    assert step_interval(300, 1) == 300


def test_an_unreachable_source_backs_off_exponentially() -> None:
    health = SourceHealth("prometheus", "http://x", base_backoff=2, max_backoff=10)
    retries = []
    for now in (0.0, 2.0, 6.0, 14.0, 24.0):
        assert health.due(now)
        retries.append(health.record_failure(now, "refused", unreachable=True).retry_at)
    assert retries == [2.0, 6.0, 14.0, 24.0, 34.0]
    assert not health.due(33.0)
    status = health.record_ok(40.0, ("p95 query failed",))
    assert (status.state, status.error, status.failures) == (
        ConnectionState.DEGRADED,
        "p95 query failed",
        0,
    )
    assert status.describe(40.0) == "prometheus degraded: p95 query failed"
    down = health.record_failure(50.0, "connection refused", unreachable=True)
    assert down.describe(51.0) == (
        "prometheus unreachable: connection refused (last answer 11s ago; retry in 1s)"
    )


def test_a_source_says_how_it_read_its_last_answer_while_it_answers() -> None:
    health = SourceHealth("prometheus", "http://x")
    assert health.record_ok(0.0, note="recording rules").describe(0.0) == (
        "prometheus ok (recording rules)"
    )
    degraded = health.record_ok(5.0, ("p95 query failed",), note="raw queries")
    assert degraded.describe(5.0) == "prometheus degraded (raw queries): p95 query failed"
    # A failed refresh read nothing, whether Prometheus answered or not: the note of an
    # earlier answer would mislead.
    failed = health.record_failure(8.0, "every query failed", unreachable=False)
    assert failed.describe(8.0) == "prometheus degraded: every query failed"
    health.record_ok(9.0, note="recording rules")
    down = health.record_failure(10.0, "connection refused", unreachable=True)
    assert down.describe(10.0).startswith("prometheus unreachable: connection refused (")


@pytest.mark.parametrize(
    ("age", "state"),
    [
        (None, Freshness.STALE),
        (0.0, Freshness.FRESH),
        (9.9, Freshness.FRESH),
        (10.0, Freshness.DIM),
        (24.9, Freshness.DIM),
        (25.0, Freshness.STALE),
    ],
)
def test_data_dims_after_two_intervals_and_is_stale_after_five(
    age: float | None, state: Freshness
) -> None:
    assert freshness(age, interval=5.0) is state


# --- the simulation source -----------------------------------------------------------------------


def _simulated_readouts(seed: int) -> list[MetricsReadout]:
    regions = list(managed_catalogs()["production"])
    scenario = DEFAULT_SIMULATION.model_copy(
        update={
            "seed": seed,
            "controllers": Controllers(
                reloads=[ConfigReload(region="us-east", account="initech", at=Duration(12.0))],
                certificates=[Certificate(region="eu-central", shard=2, days=3)],
            ),
        }
    )
    source = SimulationSource(Simulator(scenario, regions), start=1_800_000_000.0)
    return source.fetch(1_800_000_000.0 + 60)


def test_the_simulation_source_is_deterministic_and_carries_every_metric() -> None:
    readouts = _simulated_readouts(seed=7)
    assert readouts == _simulated_readouts(seed=7)
    assert readouts != _simulated_readouts(seed=8)
    assert len(readouts) == 12
    for readout in readouts:
        for metrics in readout.gateways.values():
            shown = [metrics.p50_latency, metrics.p90_latency, metrics.p95_latency,
                     metrics.p99_latency]  # fmt: skip
            percentiles = [value for value in shown if value is not None]
            assert len(percentiles) == 4
            assert percentiles == sorted(percentiles)
            assert metrics.error_ratio is not None
            assert metrics.success_ratio == pytest.approx((1 - metrics.error_ratio) * 0.98)
    # The reload at 12s falls in the third 5s tick, and only there.
    initech = [r.gateways["kgw-30a76e4bd7e6-us-east"].config_reloads for r in readouts]
    assert initech == [0.0, 0.0, 1.0] + [0.0] * 9
    shard = readouts[0].gateways["kura-eu-central-2"]
    assert (shard.cert_expiry, shard.config_reload_failed) == (3 * 86_400 - 5.0, 0.0)
    assert readouts[0].gateways["kura-eu-central"].cert_expiry == 60 * 86_400 - 5.0


# --- views, export, preferences ------------------------------------------------------------------


def _view() -> View:
    columns = (
        Column("name", "NAME"),
        Column("sat", "SATURATION", descending=True),
        Column("hist", "HISTORY", optional=2),
        Column("binds", "BINDS", optional=1),
    )
    rows = tuple(
        Row(
            id=name,
            cells={
                "name": Cell(name, name),
                "sat": Cell(f"{sat:.0%}", sat),
                "hist": Cell("▁" * 20),
                "binds": Cell("regional-lb"),
            },
            fields={"name": name},
        )
        for name, sat in (("eu-central", 0.5), ("us-east", 0.9))
    )
    return View("overview", "Regions", columns, rows, SortSpec("sat", descending=True))


def test_optional_columns_go_when_the_table_is_narrow() -> None:
    view = _view()
    assert [c.key for c in fit(view.columns, view.rows, 200)] == ["name", "sat", "hist", "binds"]
    assert [c.key for c in fit(view.columns, view.rows, 40)] == ["name", "sat", "binds"]
    assert [c.key for c in fit(view.columns, view.rows, 20)] == ["name", "sat"]


def test_an_optional_column_showing_a_level_stays_and_others_go_instead() -> None:
    view = _view()
    alarmed = tuple(
        Row(row.id, {**row.cells, "binds": Cell("FAILED", "FAILED", Level.CRIT)}, row.fields)
        for row in view.rows
    )
    # At 20 cells both optional columns go when all is well; showing a CRIT, BINDS stays.
    assert [c.key for c in fit(view.columns, alarmed, 20)] == ["name", "sat", "binds"]
    ok = tuple(
        Row(row.id, {**row.cells, "binds": Cell("0", 0.0, Level.OK)}, row.fields)
        for row in view.rows
    )
    assert [c.key for c in fit(view.columns, ok, 20)] == ["name", "sat"]


def test_export_writes_the_rows_as_shown(tmp_path: Path) -> None:
    view = _view()
    rows = view.filtered(parse_filter("us"))
    assert export_stem(view, 1_800_000_000) == "kura-overview-20270115T080000Z"
    assert rows_csv(view, rows).splitlines() == [
        "NAME,SATURATION,HISTORY,BINDS",
        f"us-east,90%,{'▁' * 20},regional-lb",
    ]
    data = json.loads(rows_json(view, rows, 1.0, "us"))
    assert data["filter"] == "us"
    assert data["rows"] == [
        {
            "name": {"text": "us-east", "value": "us-east"},
            "sat": {"text": "90%", "value": 0.9},
            "hist": {"text": "▁" * 20, "value": None},
            "binds": {"text": "regional-lb", "value": None},
        }
    ]


def test_preferences_round_trip_and_survive_garbage(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dashboard.json"
    assert load_preferences(path) == Preferences()
    prefs = Preferences().with_sort("overview", SortSpec("rps", descending=True))
    save_preferences(path, prefs)
    assert load_preferences(path).sort_for("overview") == SortSpec("rps", descending=True)
    assert load_preferences(path).sort_for("events") is None
    path.write_text("{not json")
    assert load_preferences(path) == Preferences()
