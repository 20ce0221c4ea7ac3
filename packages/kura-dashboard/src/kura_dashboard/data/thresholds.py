"""Threshold levels with hysteresis and a sustain time, so a flickering metric does not flap.

A level is entered when the value has stayed above its threshold for ``sustain`` seconds (pawbar:
"red only if > 90 for more than 7 secs"), and left only once the value falls below the threshold
minus ``margin`` (netdata: "enter warning above 85, clear below 60"). Every level has a text label
as well as a colour, so it reads the same with ``NO_COLOR`` or on a monochrome terminal.

Units are explicit: a ratio threshold is written ``70%`` or ``0.7``; a bare number above 1 for a
ratio is refused rather than guessed (the ingress-nginx dashboard's inert 0-100 thresholds on a
0-1 value are the lesson).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Level(IntEnum):
    OK = 0
    WARN = 1
    CRIT = 2

    @property
    def label(self) -> str:
        return self.name


class Unit(StrEnum):
    RATIO = "ratio"
    SECONDS = "seconds"


def parse_value(text: str | float, unit: Unit) -> float:
    """A threshold value: ``70%`` or ``0.7`` for a ratio, ``1.5`` or ``1.5s`` for seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        if unit is Unit.RATIO and value > 1:
            raise ValueError(f"{value:g} is above 1 for a 0-1 ratio: write {value:g}% or 0-1")
        return value
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            if unit is not Unit.RATIO:
                raise ValueError(f"{raw!r}: a percentage is only for ratios, not {unit.value}")
            return float(raw[:-1]) / 100
        if raw.endswith("s") and unit is Unit.SECONDS:
            return float(raw[:-1])
        return parse_value(float(raw), unit)
    except ValueError as exc:
        if "ratio" in str(exc) or "percentage" in str(exc):
            raise
        raise ValueError(f"{raw!r} is not a threshold in {unit.value}") from None


@dataclass(frozen=True)
class Threshold:
    """When a metric warns and when it is critical."""

    metric: str
    unit: Unit
    warn: float
    crit: float
    margin: float
    sustain: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.warn <= self.crit:
            raise ValueError(f"{self.metric}: need 0 <= warn <= crit")
        if self.margin < 0 or self.sustain < 0:
            raise ValueError(f"{self.metric}: margin and sustain are never negative")

    @classmethod
    def parse(
        cls,
        metric: str,
        unit: Unit,
        *,
        warn: str | float,
        crit: str | float,
        margin: str | float,
        sustain: float = 0.0,
    ) -> Threshold:
        return cls(
            metric,
            unit,
            parse_value(warn, unit),
            parse_value(crit, unit),
            parse_value(margin, unit),
            sustain,
        )

    def bound(self, level: Level) -> float:
        return {Level.OK: 0.0, Level.WARN: self.warn, Level.CRIT: self.crit}[level]

    def instant(self, value: float) -> Level:
        """The level of ``value`` alone: above crit is CRIT, above warn is WARN."""
        if value > self.crit:
            return Level.CRIT
        if value > self.warn:
            return Level.WARN
        return Level.OK

    def hold(self, level: Level, value: float) -> Level:
        """The level a ``value`` at or below ``level`` keeps, with the hysteresis margin."""
        while level > Level.OK and value < self.bound(level) - self.margin:
            level = Level(level - 1)
        return level


@dataclass(frozen=True)
class Transition:
    """A level change, for the event log."""

    metric: str
    before: Level
    after: Level
    value: float
    at: float


class ThresholdMachine:
    """The level of one metric of one subject over time."""

    __slots__ = ("_above", "level", "threshold")

    def __init__(self, threshold: Threshold) -> None:
        self.threshold = threshold
        self.level = Level.OK
        # Since when the value has stayed above the WARN and the CRIT threshold (None: it is not).
        self._above: dict[Level, float | None] = {Level.WARN: None, Level.CRIT: None}

    def update(self, value: float | None, at: float) -> Transition | None:
        """Feed a sample taken at ``at``; a missing sample changes nothing."""
        if value is None:
            return None
        for level, since in self._above.items():
            above = value > self.threshold.bound(level)
            self._above[level] = (at if since is None else since) if above else None
        sustained = max(
            (
                level
                for level, since in self._above.items()
                if since is not None and at - since >= self.threshold.sustain
            ),
            default=Level.OK,
        )
        target = sustained if sustained > self.level else self.threshold.hold(self.level, value)
        if target == self.level:
            return None
        before, self.level = self.level, target
        return Transition(self.threshold.metric, before, target, value, at)


SATURATION = Threshold.parse(
    "saturation", Unit.RATIO, warn="70%", crit="90%", margin="5%", sustain=10.0
)
P95_LATENCY = Threshold.parse(
    "p95 latency", Unit.SECONDS, warn="1s", crit="3s", margin="0.2s", sustain=10.0
)
ERROR_RATIO = Threshold.parse("5xx", Unit.RATIO, warn="1%", crit="5%", margin="0.5%", sustain=10.0)
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (SATURATION, P95_LATENCY, ERROR_RATIO)
