"""``?``: every binding (from the BINDINGS of the app and each screen) and a metric glossary."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kura_dashboard.data.glossary import glossary

if TYPE_CHECKING:
    from kura_dashboard.app import KuraDashboard


def binding_table() -> list[tuple[str, Binding]]:
    """(where, binding) for every binding the dashboard declares, app first."""
    from kura_dashboard.app import KuraDashboard
    from kura_dashboard.screens.base import TableScreen
    from kura_dashboard.screens.region import RegionScreen

    scopes: list[tuple[str, list[BindingType]]] = [
        ("everywhere", KuraDashboard.BINDINGS),
        ("tables", TableScreen.BINDINGS),
        ("region", RegionScreen.BINDINGS),
        ("help", HelpScreen.BINDINGS),
    ]
    found = []
    for scope, bindings in scopes:
        for binding in bindings:
            if isinstance(binding, Binding):
                found.append((scope, binding))
    return found


def key_names(binding: Binding) -> str:
    names = {
        "question_mark": "?",
        "slash": "/",
        "plus": "+",
        "minus": "-",
        "equals_sign": "=",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "space": "space",
    }
    return " ".join(names.get(key, key) for key in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark", "dismiss", "Close", tooltip="Close help", id="help-close"
        ),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(self._content(), id="help-content")

    def _content(self) -> Group:
        app = cast("KuraDashboard", self.app)
        keys = Table(title="Keys (read-only: none of them writes to the cluster)", expand=True)
        for header in ("KEY", "WHAT", "WHERE", "ID"):
            keys.add_column(header)
        for scope, binding in binding_table():
            what = binding.tooltip or binding.description
            keys.add_row(key_names(binding), what, scope, binding.id or "")
        terms = Table(title="Glossary", expand=True)
        for header in ("TERM", "MEANING", "WINDOW"):
            terms.add_column(header)
        for term in glossary(app.metric_window, app.state.thresholds):
            terms.add_row(term.name, term.meaning, term.window)
        notes = (
            "Rows sort lazily (a row moves at most once per 3 refreshes) and freeze while the "
            "cursor is below the first row. Filter terms: text, key:value, !negated; all must "
            "match. Sorts are remembered per view."
        )
        return Group(keys, terms, notes)
