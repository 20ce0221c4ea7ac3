"""Bandwidth, data sizes and durations as operators type them: ``600MB/s``, ``2GB``, ``2m``.

Prefixes are decimal SI, as docs/capacity.md uses them (600 MB/s = 4,800 Mbps = 4.8 Gbps).
Binary IEC sizes (KiB, MiB, GiB) and bit rates (Mbps, Gb/s, Gbit/s) are accepted too, because
operators type them. A number is read exactly (through ``Decimal``) and rounded once to a float,
so ``600MB/s`` and ``4.8Gbps`` are the same value; ``str()`` prints a form that parses back to
that same value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, ClassVar, Self, overload

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

_QUANTITY = re.compile(
    r"^\s*(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z/]+)\s*$"
)

_SI_SIZES: dict[str, int] = {
    "B": 1,
    "kB": 10**3,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}
_IEC_SIZES: dict[str, int] = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_BIT_PREFIXES: dict[str, int] = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}

# Bandwidth is kept in bits per second: network capacity is quoted in bits (a 10 Gbit NIC).
_BANDWIDTH_UNITS: dict[str, int] = {
    **{f"{unit}/s": 8 * factor for unit, factor in (_SI_SIZES | _IEC_SIZES).items()},
    **{f"{prefix}bps": factor for prefix, factor in _BIT_PREFIXES.items()},
    **{f"{prefix}b/s": factor for prefix, factor in _BIT_PREFIXES.items()},
    **{f"{prefix}bit/s": factor for prefix, factor in _BIT_PREFIXES.items()},
}
_DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600}


def _decimal_text(number: Decimal) -> str:
    """Plain digits for everyday magnitudes, exponent form only for extreme ones."""
    number = number.normalize()
    if -7 < number.adjusted() < 17:
        return format(number, "f")
    return format(number, "e")


def _shortest_text(value: float, factor: int) -> str:
    """The fewest significant digits of ``value / factor`` that read back as exactly ``value``."""
    with localcontext(prec=60):
        exact = Decimal(value) / factor
        for digits in range(1, 60):
            rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1))
            text = _decimal_text(rounded)
            if _scaled(text, factor) == value:
                return text
    return _decimal_text(exact)


def _scaled(number: str, factor: int) -> float:
    # Enough precision that a 17-digit number times a 14-digit factor is exact before the one
    # rounding to float.
    with localcontext(prec=60):
        return float(Decimal(number) * factor)


def _short(value: float) -> str:
    """Three significant figures at most, never in exponent form: ``4.8``, ``66.7``, ``1,234``."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, order=True)
class _Quantity:
    """A non-negative amount in a base unit, with the unit it is best shown in.

    Equality, ordering and hashing use the amount only: ``600MB/s == 4.8Gbps``.
    """

    value: float
    unit: str = field(default="", compare=False)

    KIND: ClassVar[str]
    EXAMPLES: ClassVar[str]
    UNITS: ClassVar[Mapping[str, int]]
    BASE_UNIT: ClassVar[str]
    # Units a computed value may be shown in, smallest first.
    AUTO_UNITS: ClassVar[tuple[str, ...]]
    # The accepted units as error messages list them, when listing every spelling is too long.
    ACCEPTED: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"a {self.KIND} must be a finite amount of zero or more")
        if self.unit and self.unit not in self.UNITS:
            raise ValueError(f"unknown {self.KIND} unit {self.unit!r}")

    @classmethod
    def accepted_units(cls) -> str:
        return cls.ACCEPTED or ", ".join(cls.UNITS)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read ``text`` such as ``600MB/s``; a ``ValueError`` names the accepted forms."""
        match = _QUANTITY.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a {cls.KIND}: expected a number and a unit, "
                f"like {cls.EXAMPLES} (units: {cls.accepted_units()})"
            )
        unit = cls._unit_named(match["unit"], text)
        value = _scaled(match["number"], cls.UNITS[unit])
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is too large a {cls.KIND}")
        return cls(value, unit)

    @classmethod
    def _unit_named(cls, typed: str, text: str) -> str:
        if typed in cls.UNITS:
            return typed
        # Case is forgiven only where it cannot change the meaning (gbps, but not mb/s).
        same = [unit for unit in cls.UNITS if unit.lower() == typed.lower()]
        if same and len({cls.UNITS[unit] for unit in same}) == 1:
            return same[0]
        hint = f" (did you mean {' or '.join(same)}?)" if same else ""
        raise ValueError(
            f"{text!r} is not a {cls.KIND}: unknown unit {typed!r}{hint}; "
            f"like {cls.EXAMPLES} (units: {cls.accepted_units()})"
        )

    def in_unit(self, unit: str) -> float:
        return self.value / self.UNITS[unit]

    def display_unit(self) -> str:
        if self.unit:
            return self.unit
        fitting = [unit for unit in self.AUTO_UNITS if self.value >= self.UNITS[unit]]
        return fitting[-1] if fitting else self.AUTO_UNITS[0]

    def __str__(self) -> str:
        unit = self.display_unit()
        return f"{_shortest_text(self.value, self.UNITS[unit])}{unit}"

    def human(self, unit: str | None = None) -> str:
        """Rounded for people, three significant figures at most: ``4.8 Gbps``, ``600 MB/s``."""
        shown = unit or self.display_unit()
        return f"{_short(self.in_unit(shown))} {shown}"

    @classmethod
    def _validate(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"{value!r} has no unit: write a {cls.KIND} like {cls.EXAMPLES}")
        raise ValueError(f"expected a {cls.KIND} like {cls.EXAMPLES}, got {value!r}")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


# The public name of the base, for code that takes any of the three kinds.
Quantity = _Quantity


@dataclass(frozen=True, order=True)
class DataSize(_Quantity):
    """An amount of data, in bytes."""

    KIND: ClassVar[str] = "data size"
    EXAMPLES: ClassVar[str] = "2GB, 500MB or 1.5GiB"
    UNITS: ClassVar[Mapping[str, int]] = _SI_SIZES | _IEC_SIZES
    BASE_UNIT: ClassVar[str] = "B"
    AUTO_UNITS: ClassVar[tuple[str, ...]] = ("B", "kB", "MB", "GB", "TB")

    @property
    def bytes(self) -> float:
        return self.value

    def __mul__(self, count: float) -> DataSize:
        return DataSize(self.value * count)

    __rmul__ = __mul__

    def __truediv__(self, window: Duration) -> Bandwidth:
        """The rate that moves this much data within ``window``."""
        if window.value == 0:
            raise ValueError("cannot spread data over a zero-length window")
        return Bandwidth(self.value * 8 / window.value)


@dataclass(frozen=True, order=True)
class Duration(_Quantity):
    """A length of time, in seconds: ``90s``, ``2m``, ``1h``."""

    KIND: ClassVar[str] = "duration"
    EXAMPLES: ClassVar[str] = "90s, 2m or 1h"
    UNITS: ClassVar[Mapping[str, int]] = _DURATION_UNITS
    BASE_UNIT: ClassVar[str] = "s"
    AUTO_UNITS: ClassVar[tuple[str, ...]] = ("s", "m", "h")

    @property
    def seconds(self) -> float:
        return self.value

    def display_unit(self) -> str:
        if self.unit:
            return self.unit
        # The largest unit that shows a whole number: 120s is 2m, 90s stays 90s.
        whole = [unit for unit in self.AUTO_UNITS if (self.value / self.UNITS[unit]).is_integer()]
        return whole[-1] if whole and self.value else "s"


@dataclass(frozen=True, order=True)
class Bandwidth(_Quantity):
    """A data rate, in bits per second."""

    KIND: ClassVar[str] = "bandwidth"
    EXAMPLES: ClassVar[str] = "600MB/s, 4.8Gbps or 500Mb/s"
    UNITS: ClassVar[Mapping[str, int]] = _BANDWIDTH_UNITS
    BASE_UNIT: ClassVar[str] = "bps"
    AUTO_UNITS: ClassVar[tuple[str, ...]] = ("bps", "kbps", "Mbps", "Gbps", "Tbps")
    ACCEPTED: ClassVar[str] = (
        "bytes per second B/s, kB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s; "
        "bits per second bps, kbps, Mbps, Gbps, Tbps, also written Mb/s or Mbit/s"
    )

    @classmethod
    def gigabits(cls, gbps: float) -> Bandwidth:
        return cls(gbps * 1e9, "Gbps")

    @property
    def bits_per_second(self) -> float:
        return self.value

    @property
    def gbps(self) -> float:
        return self.value / 1e9

    @property
    def megabytes_per_second(self) -> float:
        return self.value / 8e6

    def __add__(self, other: Bandwidth) -> Bandwidth:
        return Bandwidth(self.value + other.value)

    def __sub__(self, other: Bandwidth) -> Bandwidth:
        """The difference, never below zero (what is left of a demand after some of it moves)."""
        return Bandwidth(max(0.0, self.value - other.value))

    def __mul__(self, factor: float) -> Bandwidth:
        return Bandwidth(self.value * factor)

    __rmul__ = __mul__

    @overload
    def __truediv__(self, other: Bandwidth) -> float: ...
    @overload
    def __truediv__(self, other: float) -> Bandwidth: ...
    def __truediv__(self, other: Bandwidth | float) -> float | Bandwidth:
        if isinstance(other, Bandwidth):
            if other.value == 0:
                raise ValueError("cannot compare a bandwidth with zero bandwidth")
            return self.value / other.value
        return Bandwidth(self.value / other)
