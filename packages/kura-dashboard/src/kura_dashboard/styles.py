"""How a view's cells look: level colours and stale dimming, as rich Text (TUI and frame alike)."""

from __future__ import annotations

from rich.text import Text

from kura_dashboard.data.state import Freshness
from kura_dashboard.data.thresholds import Level
from kura_dashboard.data.views import Column, Row

LEVEL_STYLES = {Level.OK: "", Level.WARN: "yellow", Level.CRIT: "bold red"}
FRESHNESS_STYLES = {Freshness.FRESH: "", Freshness.DIM: "dim", Freshness.STALE: "dim italic"}


def cell_text(row: Row, column: Column) -> Text:
    cell = row.cells[column.key]
    level = LEVEL_STYLES[cell.level] if cell.level is not None else ""
    style = " ".join(part for part in (level, FRESHNESS_STYLES[row.freshness]) if part)
    return Text(cell.text, style=style, justify="right" if column.numeric else "left")
