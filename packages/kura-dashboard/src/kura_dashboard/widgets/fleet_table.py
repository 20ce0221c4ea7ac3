"""A table of a view's rows: levels coloured and labelled, stale rows dimmed, cursor by identity.

Below the first row, the cursor follows a row's id, never its position, so whatever it points at
stays put when the rows are redrawn (bpytop#381: act on an identity, not a row number).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from kura_dashboard.data.views import Row, View
from kura_dashboard.styles import cell_text


class FleetTable(DataTable[Text]):
    """Rows of one view, redrawn on every refresh."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._keys: tuple[str, ...] = ()
        self.row_ids: list[str] = []

    @property
    def frozen(self) -> bool:
        """Rows freeze while the cursor is below the first row: someone is reading them."""
        return self.cursor_row > 0

    @property
    def highlighted_id(self) -> str | None:
        if not self.row_ids or not 0 <= self.cursor_row < len(self.row_ids):
            return None
        return self.row_ids[self.cursor_row]

    def show(self, view: View, rows: Sequence[Row]) -> None:
        keys = tuple(column.key for column in view.columns)
        if keys != self._keys:
            self.clear(columns=True)
            for column in view.columns:
                label = Text(column.header, justify="right" if column.numeric else "left")
                self.add_column(label, key=column.key)
            self._keys = keys
        # On the first row the table is live and the cursor stays on top; below it, the cursor
        # keeps its row (by id) through filtering and rows coming and going.
        current = self.highlighted_id if self.frozen else None
        scroll_x, scroll_y = self.scroll_x, self.scroll_y
        self.clear()
        for row in rows:
            self.add_row(*(cell_text(row, column) for column in view.columns), key=row.id)
        self.row_ids = [row.id for row in rows]
        if current in self.row_ids:
            self.move_cursor(row=self.row_ids.index(current), animate=False, scroll=False)
        self.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)
