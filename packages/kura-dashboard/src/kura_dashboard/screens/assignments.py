"""Assignments: which account sits on which gateway and class, with phase, address, readiness."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.widgets import Static

from kura_dashboard.data.views import View, assignments_view
from kura_dashboard.screens.base import TableScreen
from kura_dashboard.widgets.fleet_table import FleetTable


class AssignmentsScreen(TableScreen):
    table_id = "assignments"

    def __init__(self, initial_filter: str = "", crumbs: Sequence[str] = ("Assignments",)) -> None:
        super().__init__(initial_filter)
        self._crumbs = list(crumbs)

    @property
    def view_name(self) -> str:
        return "assignments"

    @property
    def crumbs(self) -> list[str]:
        return self._crumbs

    def compose_body(self) -> ComposeResult:
        yield Static("", id="assignments-title", classes="view-title")
        yield FleetTable(id=self.table_id)

    def build_view(self, now: float, width: int) -> View:
        return assignments_view(self.dashboard.state)

    def after_table(self, view: View) -> None:
        inventory = self.dashboard.state.inventory
        note = "" if inventory is not None else " (no cluster data yet)"
        self.query_one("#assignments-title", Static).update(f"{view.title}{note}")
