"""A region's drill-down: its shared shards and dedicated gateways, with the same metrics."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kura_dashboard.data.views import View, region_summary, region_view
from kura_dashboard.screens.base import TableScreen
from kura_dashboard.widgets.fleet_table import FleetTable


class RegionScreen(TableScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "region(-1)", "Prev region", id="region-prev",
                tooltip="Show the previous region"),
        Binding("right_square_bracket", "region(1)", "Next region", id="region-next",
                tooltip="Show the next region"),
    ]  # fmt: skip
    table_id = "gateways"

    def __init__(self, region_id: str, initial_filter: str = "") -> None:
        super().__init__(initial_filter)
        self.region_id = region_id

    @property
    def view_name(self) -> str:
        return "region"

    @property
    def crumbs(self) -> list[str]:
        return ["Overview", self.region_id]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="region-title", classes="view-title")
        yield FleetTable(id=self.table_id)

    def build_view(self, now: float, width: int) -> View:
        return region_view(self.dashboard.state, self.region_id, now, width=width)

    def after_table(self, view: View) -> None:
        app = self.dashboard
        summary = region_summary(app.state, self.region_id, app.clock())
        self.query_one("#region-title", Static).update(f"{view.title}\n{summary}")

    def action_region(self, step: int) -> None:
        regions = [region.id for region in self.dashboard.state.topology.regions]
        index = regions.index(self.region_id) if self.region_id in regions else 0
        self.region_id = regions[(index + step) % len(regions)]
        self.order = type(self.order)(self.order.every)
        self.table.move_cursor(row=0)
        self.refresh_view()

    def drill(self, row_id: str) -> None:
        from kura_dashboard.screens.assignments import AssignmentsScreen

        self.app.push_screen(
            AssignmentsScreen(
                f"gateway:^{re.escape(row_id)}$", crumbs=["Overview", self.region_id, row_id]
            )
        )
