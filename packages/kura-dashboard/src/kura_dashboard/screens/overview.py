"""The overview: one row per region, the highlighted region's detail, and the ladder's advice."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable

from kura_dashboard.data.views import View, ladder_lines, overview_view
from kura_dashboard.screens.base import SCROLLBAR, TableScreen
from kura_dashboard.widgets.fleet_table import FleetTable
from kura_dashboard.widgets.panels import LadderPanel, RegionDetail


class OverviewScreen(TableScreen):
    table_id = "regions"

    @property
    def view_name(self) -> str:
        return "overview"

    @property
    def crumbs(self) -> list[str]:
        return ["Overview"]

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield FleetTable(id=self.table_id)
                yield RegionDetail()
            with VerticalScroll(id="ladder"):
                yield LadderPanel("")

    @property
    def table_width(self) -> int:
        width = self.app.size.width
        # Beside the ladder panel (a third, at least 40 cells) when the screen is wide.
        return width - max(40, width // 3) - SCROLLBAR if self.wide else width - SCROLLBAR

    def build_view(self, now: float, width: int) -> View:
        return overview_view(self.dashboard.state, now, width=width)

    def after_table(self, view: View) -> None:
        app = self.dashboard
        self.query_one("#body").set_class(not self.wide, "-narrow")
        region = self.table.highlighted_id or (view.rows[0].id if view.rows else None)
        detail = self.query_one(RegionDetail)
        detail.display = region is not None
        if region is not None:
            width = self.query_one("#main").size.width or self.app.size.width
            detail.show(app.state, region, app.clock(), width)
        self.query_one(LadderPanel).show(ladder_lines(app.state))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.view is not None:
            self.after_table(self.view)

    def drill(self, row_id: str) -> None:
        from kura_dashboard.screens.region import RegionScreen

        self.app.push_screen(RegionScreen(row_id))
