"""The ``/`` filter input."""

from __future__ import annotations

from textual.widgets import Input


class FilterBar(Input):
    def __init__(self) -> None:
        super().__init__(
            placeholder="filter: text, key:value (region: kind: account: level:), !negates; "
            "enter keeps, esc clears",
            id="filter",
        )

    def open(self, text: str) -> None:
        self.value = text
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        self.remove_class("-open")
