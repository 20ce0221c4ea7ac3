"""One frame of the overview as rich renderables: ``kura dashboard`` without a terminal.

CI, pipes and the README's quick-start check have no TTY; they get the same overview the TUI
shows (from the same views), printed once. Levels are words as well as colours, so the frame
reads the same with ``NO_COLOR`` or in a log file.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kura_dashboard.data.connection import ConnectionState
from kura_dashboard.data.state import DashboardState, Freshness
from kura_dashboard.data.views import clock_text, ladder_lines, overview_view
from kura_dashboard.styles import cell_text


def render_frame(
    state: DashboardState, now: float, *, env: str, simulated: bool, label: str, width: int
) -> RenderableType:
    header = Text(f"kura dashboard · env {env} · {clock_text(now)} UTC · ", style="bold")
    if simulated:
        header.append("SIMULATED", style="bold black on yellow")
        header.append(f" ({label})")
    else:
        header.append(label)
    view = overview_view(state, now, width=width)
    # No rules: a column then takes its text plus one space each side, the padding the view's
    # column fitting counts (as in the TUI's table), so a fitted view does not wrap.
    table = Table(title=view.title, title_justify="left", header_style="bold", box=None)
    for column in view.columns:
        table.add_column(column.header, justify="right" if column.numeric else "left")
    for row in view.rows:
        table.add_row(*(cell_text(row, column) for column in view.columns))
    table.caption = "\n".join(view.notes)
    table.caption_justify = "left"
    ladder = Text("Scaling ladder\n", style="bold")
    for line in ladder_lines(state):
        ladder.append(f"{line.region}: {line.rung.upper()}\n", style="bold")
        for reason in line.reasons:
            ladder.append(f"  {reason}\n")
    sources = Text(
        " · ".join(status.describe(now) for status in state.statuses.values()), style="dim"
    )
    return Group(header, table, ladder, sources)


def frame_problems(state: DashboardState, now: float) -> list[str]:
    """Why a frame cannot be trusted: unreachable sources and regions with stale data."""
    problems = [
        status.describe(now)
        for status in state.statuses.values()
        if status.state is ConnectionState.UNREACHABLE
    ]
    stale = [
        region.id
        for region in state.topology.regions
        if state.freshness(state.regions[region.id], now) is Freshness.STALE
    ]
    if stale:
        problems.append(f"stale data for {', '.join(stale)}")
    return problems
