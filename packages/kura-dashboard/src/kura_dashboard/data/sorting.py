"""Stable, lazy row order: rows do not jump around while someone reads them.

* Sorting is stable: ties keep the row id order, and missing values sort last either way.
* Lazy (btop's "cpu lazy"): between full re-sorts, rows keep their places; a full re-sort happens
  every ``every`` refreshes, or at once when the sort, the filter or the set of rows changes. So a
  row moves at most once per ``every`` refreshes.
* Frozen (htop #1494): while frozen nothing moves; new rows join at the end, gone rows leave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SortValue = float | str | None


@dataclass(frozen=True)
class SortSpec:
    column: str
    descending: bool = False

    def reversed(self) -> SortSpec:
        return SortSpec(self.column, not self.descending)


def sort_rows(values: Mapping[str, SortValue], spec: SortSpec) -> list[str]:
    """Row ids by their value, stable on the id; ``None`` sorts last in both directions."""
    known = [row for row, value in values.items() if value is not None]
    missing = sorted(row for row, value in values.items() if value is None)
    # reverse=True keeps ties in their original (id) order: sorting stays stable both ways.
    ordered = sorted(
        sorted(known), key=lambda row: _comparable(values[row]), reverse=spec.descending
    )
    return ordered + missing


def _comparable(value: SortValue) -> tuple[int, float | str]:
    # Numbers before text, so a column that mixes them still sorts.
    return (0, value) if isinstance(value, float | int) else (1, str(value))


class LazyOrder:
    """The order one table shows, kept between refreshes."""

    def __init__(self, every: int = 3) -> None:
        if every < 1:
            raise ValueError("a re-sort happens at least every refresh")
        self.every = every
        self._order: list[str] = []
        self._spec: SortSpec | None = None
        self._since = 0

    @property
    def current(self) -> Sequence[str]:
        return tuple(self._order)

    def order(
        self, values: Mapping[str, SortValue], spec: SortSpec, *, frozen: bool = False
    ) -> list[str]:
        """The rows in display order for this refresh."""
        rows = set(values)
        kept = [row for row in self._order if row in rows]
        self._since += 1
        if frozen and self._spec is not None:
            # Refreshes while frozen still count: the first one after it may re-sort.
            new = [row for row in sort_rows(values, spec) if row not in set(kept)]
            self._order = kept + new
            return list(self._order)
        changed = spec != self._spec or rows != set(self._order)
        if changed or self._since >= self.every:
            self._order = sort_rows(values, spec)
            self._spec = spec
            self._since = 0
        return list(self._order)
