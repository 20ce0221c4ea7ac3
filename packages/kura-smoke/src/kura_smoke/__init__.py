"""kura-smoke: Smoke checks and gateway benchmarks for Kura cache gateways."""

from __future__ import annotations

from importlib.metadata import version

__version__ = version("kura-smoke")
