"""The kura on-call dashboard (Textual): live per-region gateway load, shard saturation and
dedicated assignments.

The app is a thin view: refreshes run the data layer's :class:`Collector` in a thread worker and
come back as a :class:`Refreshed` message; the :class:`DashboardState` takes them (also while
paused: collection continues) and the active screen redraws from it. It is read-only: no binding
writes anything to the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from kura_dashboard.data.collector import Collector, RefreshSnapshot
from kura_dashboard.data.preferences import Preferences, load_preferences, save_preferences
from kura_dashboard.data.refresh import DEFAULT_INTERVAL, step_interval
from kura_dashboard.data.state import DashboardState
from kura_dashboard.screens.assignments import AssignmentsScreen
from kura_dashboard.screens.base import DashboardScreen
from kura_dashboard.screens.events import EventsScreen
from kura_dashboard.screens.help import HelpScreen
from kura_dashboard.screens.overview import OverviewScreen
from kura_dashboard.widgets.header import DashboardHeader, PausedBanner

SPIN_EVERY = 0.15


class Refreshed(Message):
    """A refresh finished. Never coalesced: every one carries samples the history needs."""

    def __init__(self, snapshot: RefreshSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class KuraDashboard(App[None]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "kura dashboard"
    # Every action is a key listed under ?; the palette's extra commands would only add noise.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Leave the dashboard", id="quit"),
        Binding("question_mark", "help", "Help", tooltip="Keys and glossary", id="help"),
        Binding("p", "pause", "Pause", tooltip="Freeze the screen; data is still collected",
                id="pause"),
        Binding("space", "refresh_now", "Refresh", tooltip="Poll every source now", id="refresh"),
        Binding("plus,equals_sign", "interval(1)", "Slower", key_display="+",
                tooltip="Longer refresh interval (next preset)", id="interval-up"),
        Binding("minus", "interval(-1)", "Faster", key_display="-",
                tooltip="Shorter refresh interval (floor 2s)", id="interval-down"),
        Binding("a", "assignments", "Assignments", tooltip="Which account sits where",
                id="assignments"),
        Binding("l", "events", "Events", tooltip="The event log", id="events"),
        Binding("ctrl+s", "save_screenshot", "Screenshot", tooltip="Save an SVG screenshot",
                id="screenshot"),
    ]  # fmt: skip

    def __init__(
        self,
        collector: Collector,
        state: DashboardState,
        *,
        env: str,
        simulated: bool,
        metric_window: str,
        clock: Callable[[], float] = time.time,
        interval: float = DEFAULT_INTERVAL,
        export_dir: Path = Path(),
        preferences_path: Path | None = None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.collector = collector
        self.state = state
        self.env = env
        self.simulated = simulated
        self.metric_window = metric_window
        self.clock = clock
        self.export_dir = export_dir
        self.preferences_path = preferences_path
        self.preferences: Preferences = load_preferences(preferences_path)
        self.notices = tuple(notices)
        self.paused = False
        """Rendering is frozen; refreshes still land in the state."""
        self.refreshing = False
        """A refresh is running in the worker thread."""
        self.interval = interval
        """Seconds between automatic refreshes."""
        state.interval = interval
        self._timer: Timer | None = None
        self._spinner: Timer | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=6)
        self.push_screen(OverviewScreen())
        self._start_timer()
        self.poll(force=True)

    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.interval, self.poll, name="refresh")

    @property
    def timer_interval(self) -> float | None:
        """The interval the running refresh timer was started with."""
        return None if self._timer is None else self._timer._interval

    # --- refreshing ------------------------------------------------------------------------

    def poll(self, force: bool = False) -> None:
        """Start a refresh unless one is running."""
        if self.refreshing:
            return
        self.refreshing = True
        self._spinner = self.set_interval(SPIN_EVERY, self._spin, name="spinner")
        self.run_worker(
            partial(self._collect, force),
            name="refresh",
            group="poll",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _collect(self, force: bool) -> None:
        # Worker thread: post_message is thread-safe; the state is only touched on the UI side.
        self.post_message(Refreshed(self.collector.collect(force=force)))

    def _spin(self) -> None:
        for header in self.screen.query(DashboardHeader):
            header.spin()

    def _done(self) -> None:
        self.refreshing = False
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def on_refreshed(self, message: Refreshed) -> None:
        self.state.apply(message.snapshot)
        self._done()
        self.render_screens()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "refresh" and event.state is WorkerState.ERROR:
            self._done()
            self.notify(f"refresh failed: {event.worker.error}", severity="error")

    def render_screens(self, *, even_paused: bool = False) -> None:
        """Redraw the active screen, unless paused (the header still shows PAUSED)."""
        screen = self.screen
        if isinstance(screen, DashboardScreen) and (even_paused or not self.paused):
            screen.refresh_view()

    # --- actions ---------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            # Pausing only raises the banner: the rows stay as they were.
            for banner in self.screen.query(PausedBanner):
                banner.show(True)
        else:
            # Resuming shows what was collected meanwhile.
            self.render_screens()

    def action_refresh_now(self) -> None:
        self.poll(force=True)
        self.render_screens()

    def action_interval(self, step: int) -> None:
        interval = step_interval(self.interval, step)
        if interval == self.interval:
            self.notify(f"refresh interval stays {interval:g}s (no preset beyond it)", timeout=2)
            return
        self.interval = interval
        self.state.interval = interval
        self._start_timer()
        self.render_screens(even_paused=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_assignments(self) -> None:
        if not isinstance(self.screen, AssignmentsScreen):
            self.push_screen(AssignmentsScreen())

    def action_events(self) -> None:
        if not isinstance(self.screen, EventsScreen):
            self.push_screen(EventsScreen())

    def action_save_screenshot(self) -> None:
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(path=str(self.export_dir))
        except OSError as exc:
            self.notify(f"screenshot failed: {exc}", severity="error")
            return
        self.notify(f"screenshot saved to {path}", timeout=4)

    def save_preferences(self) -> None:
        try:
            save_preferences(self.preferences_path, self.preferences)
        except OSError as exc:
            self.notify(f"could not remember the sort: {exc}", severity="warning")
