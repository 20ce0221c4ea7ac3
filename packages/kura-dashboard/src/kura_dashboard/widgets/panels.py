"""Text panels: the selected region's detail, the ladder's advice, and each source's state."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kura_dashboard.data.connection import ConnectionState, SourceStatus
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.views import LadderLine, region_sparks, region_summary
from kura_dashboard.widgets.saturation import SaturationBar
from kura_dashboard.widgets.sparklines import SparkPanel


class RegionDetail(Vertical):
    """The highlighted region: ceiling, binding component, saturation and its history."""

    def compose(self) -> ComposeResult:
        yield Static("", id="region-summary")
        yield SaturationBar("", id="region-saturation")
        yield SparkPanel("", id="region-sparks")

    def show(self, state: DashboardState, region_id: str, now: float, width: int) -> None:
        subject = state.regions[region_id]
        freshness = state.freshness(subject, now).value
        self.set_class(freshness == "dim", "-dim")
        self.set_class(freshness == "stale", "-stale")
        self.query_one("#region-summary", Static).update(region_summary(state, region_id, now))
        # label (11) + space + sparkline + space + latest value (up to 5) + scrollbar room.
        spark_width = max(10, width - 20)
        self.query_one(SaturationBar).show(
            f"{'now':<11}",
            subject.saturation,
            subject.metric_level("saturation"),
            max(4, spark_width - 10),
            at_least=bool(state.topology.region(region_id).unknown),
        )
        self.query_one(SparkPanel).show(region_sparks(state, region_id, spark_width))


class LadderPanel(Static):
    """Each region's next rung on the scaling ladder (kura_core.ladder), with its reasons."""

    def show(self, lines: Sequence[LadderLine]) -> None:
        text = Text("Scaling ladder\n", style="bold")
        for line in lines:
            text.append(f"{line.region}: ", style="bold")
            text.append(f"{line.rung.upper()}\n", style="bold" if line.rung != "hold" else "")
            for reason in line.reasons:
                text.append(f"  {reason}\n")
        self.update(text)


class SourcesPanel(Static):
    """Sources that are not ok, with their last error in full words; else what is read."""

    def show(self, statuses: Sequence[SourceStatus], now: float, unmapped: int = 0) -> None:
        troubled = [s for s in statuses if s.state is not ConnectionState.OK]
        if troubled:
            parts = [status.describe(now) for status in troubled]
        else:
            parts = ["reading " + " · ".join(status.target for status in statuses)]
        if unmapped:
            parts.append(f"{unmapped} series match no known gateway")
        self.update(" · ".join(parts))
