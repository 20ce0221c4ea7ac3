"""Every screen at 80x24 and 160x48, and the PAUSED banner, as SVG snapshots.

Deterministic: the simulated fleet with a fixed seed, ten minutes of history and a fixed clock;
the overview and a region's screen again with eu-central on the Gateway API provider, whose
ceiling is unknown (Envoy has no capacity figure).
After a deliberate change, review the report and update with ``--snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.dashboard.conftest import AppFactory, on_gateway_api

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
SCREENS = {
    "overview": (),
    "region": ("enter",),
    "assignments": ("a",),
    "events": ("l",),
    "help": ("question_mark",),
}


async def settle(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("keys", SCREENS.values(), ids=SCREENS.keys())
def test_screen(
    snap_compare: Any, simulated_app: AppFactory, keys: tuple[str, ...], size: tuple[int, int]
) -> None:
    assert snap_compare(simulated_app(), press=keys, terminal_size=size, run_before=settle)


def test_paused_banner(snap_compare: Any, simulated_app: AppFactory) -> None:
    assert snap_compare(simulated_app(), press=("p",), terminal_size=(80, 24), run_before=settle)


@pytest.mark.parametrize("keys", [(), ("enter",)], ids=["overview", "region"])
def test_a_region_on_the_gateway_api(
    snap_compare: Any, simulated_app: AppFactory, keys: tuple[str, ...]
) -> None:
    app = simulated_app(regions=on_gateway_api())
    assert snap_compare(app, press=keys, terminal_size=(160, 48), run_before=settle)
