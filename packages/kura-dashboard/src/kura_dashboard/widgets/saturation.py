"""A saturation bar with its percentage and level in words: ``██████░░░░  64% OK``."""

from __future__ import annotations

from textual.widgets import Static

from kura_dashboard.data import format as fmt
from kura_dashboard.data.thresholds import Level


class SaturationBar(Static):
    def show(self, label: str, ratio: float | None, level: Level, width: int = 20) -> None:
        self.update(f"{label} {fmt.bar(ratio, level, width)}")
        self.set_class(level is Level.WARN, "-warn")
        self.set_class(level is Level.CRIT, "-crit")
