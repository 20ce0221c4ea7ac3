"""The header: refresh interval and spinner, SIMULATED and connection state, breadcrumbs, filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static

from kura_dashboard.data.connection import ConnectionState, SourceStatus
from kura_dashboard.data.views import clock_text

# ASCII frames: the header must render on terminals without braille or box fonts.
SPINNER = "-\\|/"


@dataclass(frozen=True)
class HeaderInfo:
    env: str
    simulated: bool
    interval: float
    refreshing: bool
    now: float
    crumbs: Sequence[str]
    filter_text: str
    statuses: Sequence[SourceStatus]


def interval_text(interval: float) -> str:
    return f"refresh {interval:g}s" if interval < 60 else f"refresh {interval / 60:g}m"


class DashboardHeader(Widget):
    """Two rows: what is shown and how fresh, then where you are and what filters it."""

    def __init__(self) -> None:
        super().__init__()
        self._frame = 0

    def compose(self) -> ComposeResult:
        with Horizontal(classes="header-row"):
            yield Label("kura", id="title")
            yield Label("SIMULATED", id="simulated")
            yield Label("", id="env")
            yield Label("", id="interval")
            yield Label("", id="spinner")
            yield Label("", id="clock")
        with Horizontal(classes="header-row"):
            yield Label("", id="crumbs")
            yield Label("", id="filter-text")
            yield Label("", id="connections")

    def show(self, info: HeaderInfo) -> None:
        self.query_one("#simulated", Label).display = info.simulated
        self.query_one("#env", Label).update(info.env)
        self.query_one("#interval", Label).update(interval_text(info.interval))
        self.query_one("#spinner", Label).update(SPINNER[self._frame] if info.refreshing else "")
        self.query_one("#clock", Label).update(f"{clock_text(info.now)} UTC")
        connections = self.query_one("#connections", Label)
        connections.update(" · ".join(f"{s.source} {s.state.value}" for s in info.statuses))
        states = {s.state for s in info.statuses}
        connections.set_class(ConnectionState.UNREACHABLE in states, "-unreachable")
        connections.set_class(
            ConnectionState.DEGRADED in states and ConnectionState.UNREACHABLE not in states,
            "-degraded",
        )
        self.query_one("#crumbs", Label).update(" > ".join(info.crumbs))
        shown = f"filter: {info.filter_text}" if info.filter_text else ""
        self.query_one("#filter-text", Label).update(shown)

    def spin(self) -> None:
        """Advance the spinner one frame (while a refresh runs)."""
        self._frame = (self._frame + 1) % len(SPINNER)
        self.query_one("#spinner", Label).update(SPINNER[self._frame])


class PausedBanner(Static):
    """A full-width banner while rendering is paused: hard to miss (htop #1871)."""

    def __init__(self) -> None:
        super().__init__("PAUSED: the screen is frozen, data is still collected. p resumes.")

    def show(self, paused: bool) -> None:
        self.set_class(paused, "-paused")
