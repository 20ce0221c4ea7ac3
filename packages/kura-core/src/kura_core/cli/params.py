"""Click parameter types for the quantities operators type: bandwidths, sizes and durations.

One type per kind, so every command applies the same rule: a capacity, a window or a tick of zero
is refused the same way everywhere, as a usage error (exit 2) naming the flag.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import click

from kura_core.units import Bandwidth, DataSize, Duration, Quantity

_Q = TypeVar("_Q", bound=Quantity)


class QuantityType(click.ParamType[_Q, Any], Generic[_Q]):
    """A bandwidth, size or duration, above zero unless ``zero_ok``, within optional bounds."""

    def __init__(
        self,
        kind: type[_Q],
        *,
        zero_ok: bool = False,
        low: _Q | None = None,
        high: _Q | None = None,
    ) -> None:
        self.kind: type[_Q] = kind
        self.name = kind.KIND
        self.zero_ok = zero_ok
        self.low: _Q | None = low
        self.high: _Q | None = high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> _Q:
        if isinstance(value, self.kind):
            return value
        try:
            quantity = self.kind.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not self.zero_ok and quantity.value <= 0:
            self.fail(f"{value!r} is not more than zero", param, ctx)
        if (self.low is not None and quantity < self.low) or (
            self.high is not None and quantity > self.high
        ):
            self.fail(f"{value!r} is outside {self.bounds()}", param, ctx)
        return quantity

    def bounds(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low} to {self.high}"
        if self.low is not None:
            return f"{self.low} or more"
        return f"at most {self.high}"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return self.kind.KIND.upper().replace(" ", "_")


BANDWIDTH = QuantityType(Bandwidth)
DATA_SIZE = QuantityType(DataSize)
DURATION = QuantityType(Duration)


class NonEmptyText(click.ParamType[str, Any]):
    """Text that must say something: an empty image or name is a typo, not a choice."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


NON_EMPTY = NonEmptyText()
