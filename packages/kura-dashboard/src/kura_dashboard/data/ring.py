"""Fixed-size history: the last N samples of one series, in a flat array of floats.

A dashboard keeps several series per gateway for an hour, so samples are stored as 8-byte floats
(``array('d')``) rather than Python objects; a missing sample is NaN and reads back as ``None``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator

NAN = math.nan


class Ring:
    """The last ``capacity`` samples; older ones are overwritten."""

    __slots__ = ("_count", "_data", "_head")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a ring holds at least one sample")
        self._data = array("d", [NAN]) * capacity
        self._head = 0
        self._count = 0

    @property
    def capacity(self) -> int:
        return len(self._data)

    def __len__(self) -> int:
        return self._count

    def append(self, value: float | None) -> None:
        self._data[self._head] = NAN if value is None else value
        self._head = (self._head + 1) % len(self._data)
        self._count = min(self._count + 1, len(self._data))

    def __iter__(self) -> Iterator[float | None]:
        """Oldest first; missing samples are ``None``."""
        size = len(self._data)
        start = (self._head - self._count) % size
        for offset in range(self._count):
            value = self._data[(start + offset) % size]
            yield None if math.isnan(value) else value

    def values(self) -> list[float | None]:
        return list(self)

    def last(self) -> float | None:
        if not self._count:
            return None
        value = self._data[(self._head - 1) % len(self._data)]
        return None if math.isnan(value) else value

    def peak(self) -> float | None:
        """The largest sample held, or ``None`` when none is known."""
        known = [value for value in self if value is not None]
        return max(known) if known else None

    @property
    def nbytes(self) -> int:
        return self._data.itemsize * len(self._data)
