"""The dashboard's behaviour, driven through Textual's Pilot (acceptance rows 1-17 and 19)."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import Label, Static

from kura_core.simulator import DEFAULT_SIMULATION, Controllers
from kura_dashboard.app import KuraDashboard
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.readings import Inventory, MetricsReadout, SourceError
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.topology import Topology
from kura_dashboard.screens.assignments import AssignmentsScreen
from kura_dashboard.screens.events import EventsScreen
from kura_dashboard.screens.help import HelpScreen, binding_table
from kura_dashboard.screens.overview import OverviewScreen
from kura_dashboard.screens.region import RegionScreen
from kura_dashboard.widgets.fleet_table import FleetTable
from kura_dashboard.widgets.header import PausedBanner
from kura_dashboard.widgets.panels import RegionDetail, SourcesPanel
from tests.dashboard.conftest import AppFactory, Clock, FakeMetrics, load, two_shard_topology

Script = Callable[[Pilot[None]], Awaitable[None]]


def drive(app: KuraDashboard, script: Script, size: tuple[int, int] = (120, 40)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await script(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    """Let running refreshes finish and their messages land."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Label).render())


def table(pilot: Pilot[None]) -> FleetTable:
    return pilot.app.screen.query_one(FleetTable)


def cells(pilot: Pilot[None], column: int) -> list[str]:
    grid = table(pilot)
    return [str(grid.get_cell_at(Coordinate(row, column))) for row in range(grid.row_count)]


def labels() -> dict[str, str]:
    return {ref.name: ref.label for ref in two_shard_topology().gateways}


# --- 1 refresh control ----------------------------------------------------------------------


def test_plus_and_minus_step_the_interval_shown_in_the_header(fake_app: AppFactory) -> None:
    app = fake_app(interval=5.0)

    async def script(pilot: Pilot[None]) -> None:
        assert text(pilot, "#interval") == "refresh 5s"
        assert app.timer_interval == 5.0
        await pilot.press("plus")
        assert text(pilot, "#interval") == "refresh 10s"
        assert app.timer_interval == 10.0
        await pilot.press("minus", "minus", "minus")
        # The floor: 2s, however often minus is pressed.
        assert text(pilot, "#interval") == "refresh 2s"
        assert app.timer_interval == 2.0
        assert app.state.interval == 2.0

    drive(app, script)


# --- 2 pause ------------------------------------------------------------------------------------


def test_pause_freezes_the_table_while_collection_continues(
    fake_app: AppFactory, fake_metrics: FakeMetrics
) -> None:
    app = fake_app()
    names = labels()

    async def script(pilot: Pilot[None]) -> None:
        before = cells(pilot, 2)
        await pilot.press("p")
        banner = pilot.app.screen.query_one(PausedBanner)
        assert banner.has_class("-paused")
        assert "PAUSED" in str(banner.render())
        fake_metrics.gateways[names["kura-eu-central"]] = load(4.0, 0.5)
        calls = fake_metrics.calls
        await pilot.press("space")
        await settle(pilot)
        assert fake_metrics.calls == calls + 1
        assert cells(pilot, 2) == before
        await pilot.press("p")
        assert not banner.has_class("-paused")
        assert cells(pilot, 2) != before
        assert app.timer_interval == 5.0

    drive(app, script)


# --- 3 manual refresh ---------------------------------------------------------------------------


class _Gate(FakeMetrics):
    """A fake source that blocks each fetch until the test opens the gate."""

    def __init__(self, base: FakeMetrics) -> None:
        super().__init__(base.gateways)
        self.gate = threading.Event()
        self.gate.set()

    def fetch(self, now: float) -> list[MetricsReadout]:
        assert self.gate.wait(10)
        return super().fetch(now)


def test_space_polls_now_with_a_spinner_until_done(
    tmp_path: Path, clock: Clock, fake_metrics: FakeMetrics
) -> None:
    source = _Gate(fake_metrics)
    app = KuraDashboard(
        Collector(source, None, clock),
        DashboardState(two_shard_topology()),
        env="production",
        simulated=False,
        metric_window="5m rate",
        clock=clock,
        interval=300.0,
        export_dir=tmp_path,
    )

    async def script(pilot: Pilot[None]) -> None:
        assert source.calls == 1
        assert text(pilot, "#spinner") == ""
        source.gate.clear()
        await pilot.press("space")
        await pilot.pause(0.4)
        assert app.refreshing
        assert text(pilot, "#spinner") in "-\\|/"
        assert text(pilot, "#spinner") != ""
        source.gate.set()
        await settle(pilot)
        assert source.calls == 2
        assert not app.refreshing
        assert text(pilot, "#spinner") == ""

    drive(app, script)


# --- 4 data age ---------------------------------------------------------------------------------


def test_old_data_is_dimmed_then_marked_stale(
    fake_app: AppFactory, fake_metrics: FakeMetrics, clock: Clock
) -> None:
    app = fake_app(interval=5.0)

    async def script(pilot: Pilot[None]) -> None:
        detail = pilot.app.screen.query_one(RegionDetail)
        assert not detail.has_class("-dim")
        fake_metrics.error = SourceError("cannot connect to Prometheus: connection refused")
        clock.advance(12)
        await pilot.press("space")
        await settle(pilot)
        assert detail.has_class("-dim")
        clock.advance(20)
        await pilot.press("space")
        await settle(pilot)
        assert detail.has_class("-stale")
        ages = cells(pilot, [c.key for c in pilot.app.screen.view.columns].index("age"))  # type: ignore[attr-defined]
        assert ages == ["STALE 32s", "STALE 32s"]

    drive(app, script)


# --- 5 connection status ------------------------------------------------------------------------


def test_an_unreachable_source_is_shown_with_its_error_in_words(
    fake_app: AppFactory, fake_metrics: FakeMetrics
) -> None:
    fake_metrics.error = SourceError(
        "cannot connect to Prometheus at http://prometheus.test:9090: connection refused"
    )
    app = fake_app()

    async def script(pilot: Pilot[None]) -> None:
        header = pilot.app.screen.query_one("#connections", Label)
        assert str(header.render()) == "prometheus unreachable"
        assert header.has_class("-unreachable")
        panel = str(pilot.app.screen.query_one(SourcesPanel).render())
        assert panel == (
            "prometheus unreachable: cannot connect to Prometheus at "
            "http://prometheus.test:9090: connection refused (retry in 2s)"
        )
        fake_metrics.error = None
        await pilot.press("space")
        await settle(pilot)
        assert str(header.render()) == "prometheus ok"

    drive(app, script)


# --- 6 sorting and row freeze -------------------------------------------------------------------


def test_rows_freeze_while_the_cursor_is_in_the_table(
    fake_app: AppFactory, fake_metrics: FakeMetrics
) -> None:
    app = fake_app()
    names = labels()

    async def script(pilot: Pilot[None]) -> None:
        assert cells(pilot, 0) == ["us-east", "eu-central"]
        await pilot.press("down")
        assert table(pilot).highlighted_id == "eu-central"
        fake_metrics.gateways[names["kura-eu-central"]] = load(4.0, 0.9)
        for _ in range(4):
            await pilot.press("space")
            await settle(pilot)
        assert cells(pilot, 0) == ["us-east", "eu-central"]
        assert table(pilot).highlighted_id == "eu-central"
        await pilot.press("up")
        await pilot.press("space")
        await settle(pilot)
        # Back on the first row: the order is live again.
        assert cells(pilot, 0) == ["eu-central", "us-east"]

    drive(app, script)


def test_sort_keys_cycle_reverse_and_persist_across_restarts(fake_app: AppFactory) -> None:
    async def first(pilot: Pilot[None]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, OverviewScreen)
        assert screen.sort.column == "sat"
        await pilot.press("s")
        assert screen.sort.column == "in"
        await pilot.press("S")
        assert not screen.sort.descending
        assert cells(pilot, 0) == ["eu-central", "us-east"]

    drive(fake_app(), first)

    async def second(pilot: Pilot[None]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, OverviewScreen)
        assert (screen.sort.column, screen.sort.descending) == ("in", False)

    drive(fake_app(), second)


# --- 7 filtering --------------------------------------------------------------------------------


def test_slash_filters_the_rows_and_escape_clears(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        assert sorted(cells(pilot, 0)) == ["eu-central", "us-east", "us-west"]
        await pilot.press("slash", "u", "s")
        assert sorted(cells(pilot, 0)) == ["us-east", "us-west"]
        await pilot.press("minus", "w")
        assert cells(pilot, 0) == ["us-west"]
        await pilot.press("enter")
        assert text(pilot, "#filter-text") == "filter: us-w"
        await pilot.press("escape")
        assert sorted(cells(pilot, 0)) == ["eu-central", "us-east", "us-west"]
        assert text(pilot, "#filter-text") == ""
        await pilot.press("slash", *"!region:eu", "enter")
        assert sorted(cells(pilot, 0)) == ["us-east", "us-west"]

    drive(app, script)


# --- 8 drill-down and 17 region switching --------------------------------------------------------


def test_enter_drills_down_and_escape_goes_back(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        # Saturation sorts first: eu-central, at 79%, is the top row.
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, RegionScreen)
        assert screen.region_id == "eu-central"
        assert text(pilot, "#crumbs") == "Overview > eu-central"
        gateways = sorted(cells(pilot, 0))
        assert gateways == ["kgw-6ff168b59ed8-eu-central", "kura-eu-central", "kura-eu-central-2"]
        await pilot.press("slash", *"kgw", "enter", "enter")
        assert isinstance(pilot.app.screen, AssignmentsScreen)
        assert text(pilot, "#crumbs") == "Overview > eu-central > kgw-6ff168b59ed8-eu-central"
        assert cells(pilot, 0) == ["hooli"]
        await pilot.press("escape")  # clears the drill-down's filter first
        assert len(cells(pilot, 0)) == 7
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, RegionScreen)
        await pilot.press("escape", "escape")
        assert isinstance(pilot.app.screen, OverviewScreen)

    drive(app, script)


def test_brackets_switch_regions_in_the_drill_down(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        assert text(pilot, "#crumbs") == "Overview > eu-central"
        await pilot.press("right_square_bracket")
        assert text(pilot, "#crumbs") == "Overview > us-east"
        assert sorted(cells(pilot, 0)) == ["kgw-30a76e4bd7e6-us-east", "kura-us-east"]
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert text(pilot, "#crumbs") == "Overview > us-west"

    drive(app, script)


# --- 10 thresholds without colour ---------------------------------------------------------------


def test_levels_read_as_words_with_no_color(
    simulated_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        assert app.no_color
        bars = dict(zip(cells(pilot, 0), cells(pilot, 1), strict=True))
        assert bars["eu-central"].endswith("74% WARN")
        assert bars["us-west"].endswith("24% OK")
        await pilot.press("enter")
        worst = dict(zip(cells(pilot, 0), cells(pilot, 1), strict=True))
        assert worst["kura-eu-central-2"].endswith("101% CRIT")

    drive(app, script)


# --- 13 help, 14 event log ----------------------------------------------------------------------


def test_every_binding_has_an_id_and_a_description() -> None:
    found = binding_table()
    assert found
    for scope, binding in found:
        assert binding.id, f"{scope} {binding.key}"
        assert binding.description or binding.tooltip, f"{scope} {binding.key}"
    ids = [binding.id for _, binding in found]
    assert len(ids) == len(set(ids))


def test_question_mark_lists_every_binding_and_the_glossary(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = pilot.app.screen.query_one("#help-content", Static).content
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(shown)
        rendered = console.export_text()
        for _, binding in binding_table():
            assert str(binding.id) in rendered
        for term in ("SATURATION", "P50 / P90 / P95 / P99", "SUCCESS", "RELOADS", "CERT", "AGE",
                     "LADDER", "one 5s tick", "WARN below 14d, CRIT below 8d"):  # fmt: skip
            assert term in rendered
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, OverviewScreen)

    drive(app, script)


def test_l_shows_the_event_log_newest_first(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("l")
        assert isinstance(pilot.app.screen, EventsScreen)
        times = cells(pilot, 0)
        assert len(times) == len(app.state.events)
        assert times == sorted(times, reverse=True)
        await pilot.press("slash", *"level:crit", "enter")
        assert set(cells(pilot, 1)) == {"CRIT"}

    drive(app, script)


# --- 11 gateway metrics, 14 config reloads --------------------------------------------------------

# On top of the built-in fleet: eu-central's second shard reloads twice, initech's dedicated
# gateway's reload fails, and stark's certificate has six days left.
TROUBLE = DEFAULT_SIMULATION.model_copy(
    update={
        "controllers": Controllers.model_validate(
            {
                "reloads": [
                    {"region": "eu-central", "shard": 2, "at": "2m"},
                    {"region": "eu-central", "shard": 2, "at": "3m"},
                    {"region": "us-east", "account": "initech", "at": "5m", "failed": True},
                ],
                "certificates": [{"region": "us-west", "account": "stark", "days": 6}],
            }
        )
    }
)


def headers(pilot: Pilot[None]) -> list[str]:
    return [str(column.label) for column in table(pilot).columns.values()]


def column(pilot: Pilot[None], header: str) -> dict[str, str]:
    """The cells of one column by the first column's text."""
    return dict(zip(cells(pilot, 0), cells(pilot, headers(pilot).index(header)), strict=True))


def test_a_wide_drill_down_shows_every_gateway_metric(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        assert headers(pilot)[:16] == [
            "GATEWAY", "SATURATION", "IN", "OUT", "REQ/S", "P50", "P90", "P95", "P99",
            "SUCCESS", "5XX", "CONN", "RELOADS", "CERT", "AGE", "ACCOUNT",
        ]  # fmt: skip
        shard = dict(zip(headers(pilot), _row(pilot, "kura-eu-central"), strict=True))
        # The simulated queueing model: p50 < p90 < p95 < p99; 2% 4xx and 0.1% 5xx; healthy
        # controllers with certificates 60 days out at the start, ten minutes ago.
        latencies = [shard[h] for h in ("P50", "P90", "P95", "P99")]
        assert latencies == ["53ms", "177ms", "230ms", "353ms"]
        assert (shard["SUCCESS"], shard["5XX"]) == ("97.9%", "0.1%")
        assert (shard["RELOADS"], shard["CERT"]) == ("0", "59d")
        assert table(pilot).virtual_size.width <= table(pilot).size.width

    drive(app, script, size=(160, 48))


def _row(pilot: Pilot[None], row_id: str) -> list[str]:
    grid = table(pilot)
    index = grid.row_ids.index(row_id)
    return [str(grid.get_cell_at(Coordinate(index, col))) for col in range(len(grid.columns))]


def test_at_80_by_24_failed_reloads_and_expiring_certificates_push_other_columns_out(
    simulated_app: AppFactory,
) -> None:
    app = simulated_app(scenario=TROUBLE)

    async def script(pilot: Pilot[None]) -> None:
        assert headers(pilot) == ["REGION", "SATURATION", "REQ/S", "P95", "5XX", "CONN",
                                  "RELOADS", "CERT", "AGE"]  # fmt: skip
        assert column(pilot, "RELOADS") == {"eu-central": "0", "us-east": "FAILED",
                                            "us-west": "0"}  # fmt: skip
        assert column(pilot, "CERT") == {"eu-central": "59d", "us-east": "59d",
                                         "us-west": "5d CRIT"}  # fmt: skip
        grid = table(pilot)
        assert grid.virtual_size.width <= grid.size.width
        # The region's row is CRIT for its gateway's reload: a level filter finds it (and
        # eu-central, CRIT for its overloaded shard's p95).
        await pilot.press("slash", *"level:crit", "enter")
        assert sorted(cells(pilot, 0)) == ["eu-central", "us-east", "us-west"]
        await pilot.press("escape", "down", "enter")
        # The drill-down and the detail line name the gateway in trouble.
        screen = pilot.app.screen
        assert isinstance(screen, RegionScreen)
        assert screen.region_id == "us-east"
        assert column(pilot, "RELOADS")["kgw-30a76e4bd7e6-us-east"] == "FAILED"
        title = str(screen.query_one("#region-title", Static).render())
        assert "reloads 0, last FAILED on kgw-30a76e4bd7e6-us-east" in title

    drive(app, script, size=(80, 24))


def test_the_event_log_records_reloads_and_failures(simulated_app: AppFactory) -> None:
    app = simulated_app(scenario=TROUBLE)

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("l", "slash", *"kind:reload", "enter")
        rows = list(zip(cells(pilot, 0), cells(pilot, 1), cells(pilot, 3), cells(pilot, 4),
                        strict=True))  # fmt: skip
        # The simulation started ten minutes before 08:00; its ticks end 5s after they start.
        assert rows == [
            ("07:55:05", "CRIT", "kgw-30a76e4bd7e6-us-east", "config reload failed"),
            ("07:53:05", "OK", "kura-eu-central-2", "config reloaded"),
            ("07:52:05", "OK", "kura-eu-central-2", "config reloaded"),
        ]
        await pilot.press("escape", "slash", *"cert", "enter")
        assert cells(pilot, 4) == ["cert expiry OK → CRIT (5d)"]

    drive(app, script)


# --- 15 read-only -------------------------------------------------------------------------------

READ_ONLY_ACTIONS = {
    "quit", "help", "pause", "refresh_now", "interval", "assignments", "events",
    "save_screenshot", "filter", "back", "drill", "sort_next", "sort_reverse", "export",
    "region", "dismiss",
}  # fmt: skip


def test_no_binding_does_anything_but_read() -> None:
    actions = {binding.action.split("(")[0] for _, binding in binding_table()}
    assert actions <= READ_ONLY_ACTIONS


# --- 16 export and screenshot -------------------------------------------------------------------


def test_e_exports_the_filtered_rows_and_ctrl_s_saves_an_svg(
    simulated_app: AppFactory, tmp_path: Path
) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("slash", *"region:us", "enter", "e")
        await pilot.press("ctrl+s")
        await pilot.pause()

    drive(app, script)
    exports = tmp_path / "exports"
    (table_csv,) = exports.glob("kura-overview-*.csv")
    with table_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["REGION"] for row in rows) == ["us-east", "us-west"]
    assert len(list(exports.glob("kura-overview-*.json"))) == 1
    (svg,) = exports.glob("*.svg")
    assert "SIMULATED" in svg.read_text(encoding="utf-8")


# --- 19 80x24 -----------------------------------------------------------------------------------


def test_the_overview_fits_80_by_24_with_age_and_saturation(simulated_app: AppFactory) -> None:
    app = simulated_app()

    async def script(pilot: Pilot[None]) -> None:
        grid = table(pilot)
        headers = [str(column.label) for column in grid.columns.values()]
        # eu-central's p95 says CRIT in words, which leaves no room for the dedicated count.
        assert headers == ["REGION", "SATURATION", "IN", "OUT", "REQ/S", "P95", "5XX", "CONN",
                           "AGE"]  # fmt: skip
        assert grid.virtual_size.width <= grid.size.width

    drive(app, script, size=(80, 24))


def test_a_whole_session_against_a_cluster_never_writes(
    tmp_path: Path, clock: Clock, fake_metrics: FakeMetrics
) -> None:
    from kura_core.scenario import DEFAULT_SCENARIO
    from kura_dashboard.data.sources.kubernetes import KubernetesSource
    from kura_dashboard.data.topology import cluster_topology
    from kura_testing.kube_double import KubeDouble
    from tests.dashboard.conftest import controller_class, production

    with KubeDouble.in_thread() as kube:
        config = kube.write_kubeconfig(tmp_path / "kubeconfig")
        regions = production()

        def topology_for(inventory: Inventory | None) -> Topology:
            gateways = inventory.gateways if inventory else ()
            return cluster_topology(regions, DEFAULT_SCENARIO, controller_class, gateways)

        app = KuraDashboard(
            Collector(fake_metrics, KubernetesSource(kubeconfig=config), clock, topology_for),
            DashboardState(topology_for(None)),
            env="production",
            simulated=False,
            metric_window="5m rate",
            clock=clock,
            export_dir=tmp_path / "exports",
        )

        async def script(pilot: Pilot[None]) -> None:
            for _, binding in binding_table():
                if binding.action in ("quit", "dismiss"):
                    continue
                for key in binding.key.split(","):
                    await pilot.press(key)
                    await settle(pilot)
                    if isinstance(pilot.app.screen, HelpScreen):
                        await pilot.press("escape")

        drive(app, script)
        assert kube.requests
        assert kube.writes() == []
        assert {r.verb for r in kube.requests} == {"list"}
