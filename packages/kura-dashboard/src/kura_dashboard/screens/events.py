"""The event log: threshold crossings, phase changes and connection errors, newest first."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kura_dashboard.data.views import View, events_view
from kura_dashboard.screens.base import TableScreen
from kura_dashboard.widgets.fleet_table import FleetTable


class EventsScreen(TableScreen):
    table_id = "events"

    @property
    def view_name(self) -> str:
        return "events"

    @property
    def crumbs(self) -> list[str]:
        return ["Events"]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="events-title", classes="view-title")
        yield FleetTable(id=self.table_id)

    def build_view(self, now: float, width: int) -> View:
        return events_view(self.dashboard.state)

    def after_table(self, view: View) -> None:
        log = self.dashboard.state.events
        gap = f"repeats within {log.min_gap:g}s are counted, not listed"
        self.query_one("#events-title", Static).update(f"{view.title}; {gap}")
