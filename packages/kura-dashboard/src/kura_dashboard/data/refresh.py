"""The refresh interval: presets that ``+``/``-`` step through, and a floor.

k9s PR #3517: a float refresh rate with a 2 s floor, because faster polling "could overwhelm the
Kubernetes API server"; a lower value is raised to the floor with one warning.
"""

from __future__ import annotations

MIN_INTERVAL = 2.0
DEFAULT_INTERVAL = 5.0
PRESETS: tuple[float, ...] = (2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)


def clamp_interval(seconds: float) -> tuple[float, str | None]:
    """The interval to use, and a warning when ``seconds`` was below the floor."""
    if seconds < MIN_INTERVAL:
        return MIN_INTERVAL, (
            f"refresh interval {seconds:g}s is below the {MIN_INTERVAL:g}s floor; "
            f"using {MIN_INTERVAL:g}s"
        )
    return seconds, None


def step_interval(current: float, step: int) -> float:
    """The next preset above (``step`` > 0) or below (``step`` < 0) ``current``, if any."""
    if step > 0:
        return next((preset for preset in PRESETS if preset > current), current)
    return next((preset for preset in reversed(PRESETS) if preset < current), current)
