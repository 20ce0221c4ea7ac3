"""kura-dashboard: The kura on-call dashboard (Textual TUI)."""

from __future__ import annotations

from importlib.metadata import version

__version__ = version("kura-dashboard")
