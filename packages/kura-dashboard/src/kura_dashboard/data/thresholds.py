"""Threshold levels with hysteresis and a sustain time, so a flickering metric does not flap.

A level is entered when the value has stayed above its threshold for ``sustain`` seconds (pawbar:
"red only if > 90 for more than 7 secs"), and left only once the value falls below the threshold
minus ``margin`` (netdata: "enter warning above 85, clear below 60"). Every level has a text label
as well as a colour, so it reads the same with ``NO_COLOR`` or on a monochrome terminal.

Units are explicit: a ratio threshold is written ``70%`` or ``0.7``; a bare number above 1 for a
ratio is refused rather than guessed (the ingress-nginx dashboard's inert 0-100 thresholds on a
0-1 value are the lesson). Times take a unit (``500ms``, ``3s``, ``8d``) or are seconds.

Most metrics get worse as they rise; a ``falling`` threshold is for one that gets worse as it
falls (the time left before a certificate expires): it warns below ``warn``, is critical below
``crit``, and clears ``margin`` above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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
    FLAG = "flag"
    """0 or 1: a state that is either bad or not (the last config reload failed)."""


# Longest first, so "ms" is not read as "s".
TIME_SUFFIXES = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0))


def parse_value(text: str | float, unit: Unit) -> float:
    """A threshold value: ``70%`` or ``0.7`` for a ratio; ``1.5``, ``500ms``, ``1.5s`` or ``8d``
    for seconds."""
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
        if unit is Unit.SECONDS:
            for suffix, seconds in TIME_SUFFIXES:
                if raw.endswith(suffix):
                    return float(raw[: -len(suffix)]) * seconds
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
    falling: bool = False
    """Worse as the value falls: WARN below ``warn``, CRIT below ``crit``."""

    def __post_init__(self) -> None:
        if self.falling and not 0 <= self.crit <= self.warn:
            raise ValueError(f"{self.metric}: need 0 <= crit <= warn for a falling metric")
        if not self.falling and not 0 <= self.warn <= self.crit:
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
        falling: bool = False,
    ) -> Threshold:
        return cls(
            metric,
            unit,
            parse_value(warn, unit),
            parse_value(crit, unit),
            parse_value(margin, unit),
            sustain,
            falling,
        )

    def bound(self, level: Level) -> float:
        if level is Level.CRIT:
            return self.crit
        return self.warn if level is Level.WARN else 0.0

    def beyond(self, value: float, bound: float) -> bool:
        """``value`` is on the bad side of ``bound``: above it, or below it when falling."""
        return value < bound if self.falling else value > bound

    def instant(self, value: float) -> Level:
        """The level of ``value`` alone: beyond crit is CRIT, beyond warn is WARN."""
        if self.beyond(value, self.crit):
            return Level.CRIT
        if self.beyond(value, self.warn):
            return Level.WARN
        return Level.OK

    def hold(self, level: Level, value: float) -> Level:
        """The level a ``value`` at or below ``level`` keeps, with the hysteresis margin."""
        while level > Level.OK and self._clear(value, self.bound(level)):
            level = Level(level - 1)
        return level

    def _clear(self, value: float, bound: float) -> bool:
        """``value`` is past ``bound`` by the margin, on the good side."""
        return value > bound + self.margin if self.falling else value < bound - self.margin


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
        # Since when the value has stayed beyond the WARN and the CRIT threshold (None: it is not).
        self._above: dict[Level, float | None] = {Level.WARN: None, Level.CRIT: None}

    def update(self, value: float | None, at: float) -> Transition | None:
        """Feed a sample taken at ``at``; a missing sample changes nothing."""
        if value is None:
            return None
        threshold = self.threshold
        if (
            self.level is Level.OK
            and not threshold.beyond(value, threshold.warn)
            and not threshold.beyond(value, threshold.crit)
        ):
            # Most samples of most subjects: OK and staying OK. A refresh feeds every threshold
            # of every gateway, so this skips the general path below for them.
            self._above[Level.WARN] = self._above[Level.CRIT] = None
            return None
        for level, since in self._above.items():
            above = self.threshold.beyond(value, self.threshold.bound(level))
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
# The ingress-nginx Grafana dashboard marks certificates under 8 days; cert-manager renews 90-day
# certificates 30 days before they expire, so under 14 days its renewals have failed for weeks.
CERT_EXPIRY = Threshold.parse(
    "cert expiry", Unit.SECONDS, warn="14d", crit="8d", margin="1d", falling=True
)
# Any failed reload is critical at once: the gateway serves a stale configuration.
RELOAD_FAILED = Threshold("reload failed", Unit.FLAG, warn=0.5, crit=0.5, margin=0.0)
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    SATURATION,
    P95_LATENCY,
    ERROR_RATIO,
    CERT_EXPIRY,
    RELOAD_FAILED,
)


def without_sustain(thresholds: Iterable[Threshold]) -> tuple[Threshold, ...]:
    """The thresholds for a single frame, which never lasts a sustain time: a value beyond a
    threshold in the frame reaches its level at once."""
    return tuple(replace(threshold, sustain=0.0) for threshold in thresholds)
