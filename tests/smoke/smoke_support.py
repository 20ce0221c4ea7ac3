"""Helpers the smoke tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result

# Small and quick: the test bed answers at once, so only failures wait this long.
FAST = ["--interval", "0.05", "--ready-timeout", "0.5", "--wait-timeout", "2", "--timeout", "2"]


def events(result: Result) -> list[dict[str, Any]]:
    """The JSON lines of ``-o json``."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def step(found: list[dict[str, Any]], mode: str, name: str) -> dict[str, Any]:
    """The one event of ``name`` in ``mode``."""
    (event,) = [e for e in found if e.get("mode") == mode and e["event"] == name]
    return event


def statuses(found: list[dict[str, Any]], mode: str) -> dict[str, str]:
    return {e["event"]: e["status"] for e in found if e.get("mode") == mode}
