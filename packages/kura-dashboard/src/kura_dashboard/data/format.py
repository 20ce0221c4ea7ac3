"""Numbers as the dashboard prints them: short, with units, and ``-`` for unknown.

Bars and sparklines use block characters only (no braille), so they render on the Linux console
and in 256-colour terminals; every bar carries its level as text too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kura_dashboard.data.thresholds import Level

UNKNOWN = "-"
SPARK = "▁▂▃▄▅▆▇█"
FULL, PARTIAL, EMPTY = "█", " ▏▎▍▌▋▊▉", "░"


def gbps(bits_per_second: float | None) -> str:
    if bits_per_second is None:
        return UNKNOWN
    value = bits_per_second / 1e9
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ceiling(bits_per_second: float, *, bound: bool = False) -> str:
    """A ceiling in Gbps, or ``unknown (≤ 10.0)`` when a term of it has no figure and the
    number is only what the other terms allow, as ``kura plan`` says it."""
    shown = gbps(bits_per_second)
    return f"unknown (≤ {shown})" if bound else shown


def percent(ratio: float | None, digits: int = 0) -> str:
    if ratio is None:
        return UNKNOWN
    return f"{ratio * 100:.{digits}f}%"


def seconds(value: float | None) -> str:
    """``45ms``, ``1.2s``, ``38s``, ``2m``."""
    if value is None:
        return UNKNOWN
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 10:
        return f"{value:.1f}s"
    if value < 120:
        return f"{value:.0f}s"
    return f"{value / 60:.0f}m"


def remaining(value: float | None) -> str:
    """Time left, rounded down so it never looks longer than it is: ``59d``, ``36h``, ``45m``;
    ``expired`` once it has run out."""
    if value is None:
        return UNKNOWN
    if value <= 0:
        return "expired"
    if value < 3600:
        return f"{math.floor(value / 60)}m"
    if value < 2 * 86_400:
        return f"{math.floor(value / 3600)}h"
    return f"{math.floor(value / 86_400)}d"


def count(value: float | None) -> str:
    """``950``, ``1.2k``, ``38k``, ``1.5M``."""
    if value is None:
        return UNKNOWN
    if value < 1000:
        return f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.1f}"
    if value < 1e6:
        return f"{value / 1e3:.1f}k" if value < 1e4 else f"{value / 1e3:.0f}k"
    return f"{value / 1e6:.1f}M"


def whole(value: float | None) -> str:
    """A count of whole things (reloads): ``4``, ``950``, ``1.2k``."""
    if value is None or value >= 1000:
        return count(value)
    return f"{value:.0f}"


def age(value: float | None) -> str:
    """Data age: ``3s``, ``2m``, ``1h``; unknown before the first sample."""
    if value is None:
        return UNKNOWN
    value = max(0.0, value)
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    return f"{value / 3600:.0f}h"


def bar(ratio: float | None, level: Level, width: int = 10, *, at_least: bool = False) -> str:
    """``██████▍░░░  64% OK``: the bar, the percentage and the level in words; ``≥64%`` when
    the ratio is a lower bound (load over a ceiling that is only an upper bound)."""
    if ratio is None:
        return f"{EMPTY * width} {UNKNOWN:>4}"
    filled = max(0.0, min(1.0, ratio)) * width
    whole = int(filled)
    part = PARTIAL[int((filled - whole) * len(PARTIAL))] if whole < width else ""
    part = part.strip()
    body = (FULL * whole + part).ljust(width, EMPTY)
    shown = f"≥{percent(ratio)}" if at_least else percent(ratio)
    return f"{body} {shown:>4} {level.label}"


def sparkline(values: Sequence[float | None], width: int, top: float | None = None) -> str:
    """The last ``width`` values as block characters, scaled to ``top`` (default their max)."""
    shown = list(values)[-width:]
    known = [v for v in shown if v is not None and math.isfinite(v)]
    ceiling = top if top is not None else max(known, default=0.0)
    cells = []
    for value in shown:
        if value is None or not math.isfinite(value):
            cells.append(" ")
        elif ceiling <= 0:
            cells.append(SPARK[0])
        else:
            index = round(min(1.0, max(0.0, value / ceiling)) * (len(SPARK) - 1))
            cells.append(SPARK[index])
    return "".join(cells).rjust(width)
