"""What every dashboard screen shares: header, paused banner, sources line, filter and footer;
and for table screens: sorting, lazy order, row freeze, filtering, drill-down and export."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from kura_dashboard.data.export import export_stem, rows_csv, rows_json
from kura_dashboard.data.filters import NO_FILTER, FilterError, RowFilter, parse_filter
from kura_dashboard.data.sorting import LazyOrder, SortSpec
from kura_dashboard.data.views import WIDE, View
from kura_dashboard.widgets.filter_bar import FilterBar
from kura_dashboard.widgets.fleet_table import FleetTable
from kura_dashboard.widgets.header import DashboardHeader, HeaderInfo, PausedBanner
from kura_dashboard.widgets.panels import SourcesPanel

if TYPE_CHECKING:
    from kura_dashboard.app import KuraDashboard


SCROLLBAR = 3  # a vertical scrollbar and the table's right edge


class DashboardScreen(Screen[None]):
    """A screen of the dashboard; subclasses compose their body and render it."""

    def compose(self) -> ComposeResult:
        yield DashboardHeader()
        yield PausedBanner()
        yield from self.compose_body()
        yield SourcesPanel("", id="sources")
        yield FilterBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def dashboard(self) -> KuraDashboard:
        from kura_dashboard.app import KuraDashboard

        return cast(KuraDashboard, self.app)

    @property
    def crumbs(self) -> list[str]:
        return []

    @property
    def filter_text(self) -> str:
        return ""

    @property
    def wide(self) -> bool:
        return self.app.size.width >= WIDE

    @property
    def table_width(self) -> int:
        """Cells the screen's table can show without scrolling sideways (and a scrollbar)."""
        return self.app.size.width - SCROLLBAR

    def refresh_view(self) -> None:
        """Redraw from the app's state (skipped by the app while paused)."""
        app = self.dashboard
        now = app.clock()
        statuses = tuple(app.state.statuses.values())
        self.query_one(DashboardHeader).show(
            HeaderInfo(
                env=app.env,
                simulated=app.simulated,
                interval=app.interval,
                refreshing=app.refreshing,
                now=now,
                crumbs=self.crumbs,
                filter_text=self.filter_text,
                statuses=statuses,
            )
        )
        self.query_one(PausedBanner).show(app.paused)
        self.query_one(SourcesPanel).show(statuses, now, len(app.state.unmapped))
        self.render_body()

    def render_body(self) -> None:
        """Draw the body from the app's state."""

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def on_resize(self, event: Resize) -> None:
        self.refresh_view()


class TableScreen(DashboardScreen):
    """A screen built around one :class:`FleetTable` of a :class:`View`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", tooltip="Narrow the rows (/ then text)", id="filter"),
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Clear the filter, else go back one screen",
            id="back",
        ),
        Binding("enter", "drill", "Open", show=False, tooltip="Drill into the row", id="drill"),
        Binding("s", "sort_next", "Sort", tooltip="Sort by the next column", id="sort"),
        Binding("S", "sort_reverse", "Reverse", tooltip="Reverse the sort", id="sort-reverse"),
        Binding("e", "export", "Export", tooltip="Write the table as CSV and JSON", id="export"),
    ]

    table_id: ClassVar[str] = "table"

    def __init__(self, initial_filter: str = "") -> None:
        super().__init__()
        self.row_filter: RowFilter = parse_filter(initial_filter) if initial_filter else NO_FILTER
        self.order = LazyOrder()
        self.view: View | None = None

    @property
    def view_name(self) -> str:
        raise NotImplementedError

    def build_view(self, now: float, width: int) -> View:
        raise NotImplementedError

    @property
    def table(self) -> FleetTable:
        return self.query_one(f"#{self.table_id}", FleetTable)

    @property
    def filter_text(self) -> str:
        return self.row_filter.text

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def sort(self) -> SortSpec:
        view = self.view
        saved = self.dashboard.preferences.sort_for(self.view_name)
        columns = {column.key for column in view.columns} if view else set()
        if saved is not None and saved.column in columns:
            return saved
        return view.default_sort if view else SortSpec("id")

    def render_body(self) -> None:
        app = self.dashboard
        self.view = view = self.build_view(app.clock(), self.table_width)
        spec = self.sort
        rows = view.filtered(self.row_filter)
        values = {row.id: row.cells[spec.column].sort for row in rows}
        table = self.table
        ordered = self.order.order(values, spec, frozen=table.frozen)
        by_id = {row.id: row for row in rows}
        table.show(view, [by_id[row_id] for row_id in ordered])
        self.after_table(view)

    def after_table(self, view: View) -> None:
        """Draw what depends on the table (the overview's detail panel)."""

    # --- sorting ---------------------------------------------------------------------------

    def _set_sort(self, spec: SortSpec) -> None:
        app = self.dashboard
        app.preferences = app.preferences.with_sort(self.view_name, spec)
        app.save_preferences()
        self.render_body()
        if self.view is not None:
            order = " descending" if spec.descending else ""
            self.notify(f"sorted by {self.view.column(spec.column).header}{order}", timeout=2)

    def action_sort_next(self) -> None:
        if self.view is None:
            return
        keys = [column.key for column in self.view.columns]
        current = self.sort
        column = keys[(keys.index(current.column) + 1) % len(keys)]
        self._set_sort(SortSpec(column, descending=self.view.column(column).sorts_descending))

    def action_sort_reverse(self) -> None:
        self._set_sort(self.sort.reversed())

    # --- filtering -------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.row_filter.text)

    def _apply_filter(self, text: str) -> bool:
        try:
            self.row_filter = parse_filter(text)
        except FilterError as exc:
            self.notify(str(exc), severity="warning", timeout=4)
            return False
        self.refresh_view()
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            # Typing narrows at once; a half-typed regular expression keeps the last good filter.
            try:
                self.row_filter = parse_filter(event.value)
            except FilterError:
                return
            self.refresh_view()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterBar) and self._apply_filter(event.value):
            event.input.close()
            self.table.focus()

    def action_back(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.has_class("-open") or self.row_filter:
            bar.close()
            self.row_filter = NO_FILTER
            self.table.focus()
            self.refresh_view()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    # --- drill-down and export -------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.drill(event.row_key.value)

    def action_drill(self) -> None:
        row_id = self.table.highlighted_id
        if row_id is not None:
            self.drill(row_id)

    def drill(self, row_id: str) -> None:
        """Open what the row stands for; rows that lead nowhere do nothing."""

    def action_export(self) -> None:
        view = self.view
        if view is None:
            return
        app = self.dashboard
        at = app.clock()
        by_id = {row.id: row for row in view.rows}
        rows = [by_id[row_id] for row_id in self.table.row_ids if row_id in by_id]
        stem = app.export_dir / export_stem(view, at)
        try:
            app.export_dir.mkdir(parents=True, exist_ok=True)
            stem.with_suffix(".csv").write_text(rows_csv(view, rows), encoding="utf-8")
            stem.with_suffix(".json").write_text(
                rows_json(view, rows, at, self.row_filter.text), encoding="utf-8"
            )
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify(f"exported {len(rows)} rows to {stem}.csv and .json", timeout=4)
