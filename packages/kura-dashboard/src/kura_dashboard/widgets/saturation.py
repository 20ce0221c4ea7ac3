"""A saturation bar with its percentage and level in words: ``██████░░░░  64% OK``."""

from __future__ import annotations

from textual.widgets import Static

from kura_dashboard.data import format as fmt
from kura_dashboard.data.thresholds import Level


class SaturationBar(Static):
    def show(
        self,
        label: str,
        ratio: float | None,
        level: Level,
        width: int = 20,
        *,
        at_least: bool = False,
    ) -> None:
        """``at_least``: the ratio is a lower bound (the ceiling is unknown, see fmt.bar)."""
        self.update(f"{label} {fmt.bar(ratio, level, width, at_least=at_least)}")
        self.set_class(level is Level.WARN, "-warn")
        self.set_class(level is Level.CRIT, "-crit")
