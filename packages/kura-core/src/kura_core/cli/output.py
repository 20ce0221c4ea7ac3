"""Machine and human output for every command: ``-o table|json|yaml``.

JSON and YAML are the stable, documented forms: each command dumps the same pydantic models it
computes, field names unchanged. Tables are for people and may change.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import click
import yaml
from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table

OutputFormat = Literal["table", "json", "yaml"]
FORMATS: tuple[OutputFormat, ...] = ("table", "json", "yaml")

_F = TypeVar("_F", bound=Callable[..., Any])


def _output_option(default: OutputFormat, help: str) -> Callable[[_F], _F]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help=help,
    )


def output_option(func: _F) -> _F:
    """The ``-o/--output`` option every command takes."""
    return _output_option("table", "Output format. json and yaml are stable for scripts.")(func)


def yaml_output_option(help: str) -> Callable[[_F], _F]:
    """``-o/--output`` defaulting to ``yaml``: for a command whose output is a file to use."""
    return _output_option("yaml", help)


def to_plain(data: Any) -> Any:
    """Models, lists and dicts of models as plain JSON-compatible data."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, dict):
        return {str(key): to_plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [to_plain(item) for item in data]
    return data


# Piped output has no terminal width; rich would squeeze tables to 80 columns.
PIPE_WIDTH = 160


def console() -> Console:
    if sys.stdout.isatty():
        return Console(soft_wrap=False, highlight=False)
    return Console(soft_wrap=False, highlight=False, width=PIPE_WIDTH)


# Wide enough that measuring finds the width a renderable wants, not the console's.
_UNBOUNDED = 100_000


def print_renderable(renderable: RenderableType) -> None:
    """Print to the terminal's width, or, piped, to the width the output needs: a pipe has no
    edge, and a reader (grep, a file) must get every name whole."""
    out = console()
    if not sys.stdout.isatty():
        wanted = Measurement.get(out, out.options.update_width(_UNBOUNDED), renderable)
        out.width = max(wanted.maximum, 1)
    out.print(renderable)


def emit(data: Any, output: str, table: Callable[[], RenderableType]) -> None:
    """Print ``data`` as JSON or YAML, or print what ``table()`` builds."""
    if output == "json":
        click.echo(json.dumps(to_plain(data), indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(to_plain(data), sort_keys=False, allow_unicode=True), nl=False)
    else:
        print_renderable(table())


def _words(text: str) -> list[str]:
    return text.split() or [""]


def _floor(header: str, cells: list[str], words: bool) -> int:
    """The narrowest a column gets without cutting a word; headers wrap at spaces."""
    pieces = cells if words else [word for cell in cells for word in _words(cell)]
    return max(cell_len(piece) for piece in [*_words(header), *pieces])


class FittingTable(Table):
    """A table whose names are never cut short, at any width.

    A column whose cells are single words (names, classes, hosts, figures) keeps its full
    width while prose columns wrap at spaces. When even that does not fit, prose columns are
    left out, rightmost first, and the caption says so; when the words alone are wider than the
    terminal, they fold onto the next line, whole, never ellipsised.
    """

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fitted = copy.copy(self)
        fitted.columns = [copy.copy(column) for column in self.columns]
        cells = [[str(cell) for cell in column.cells] for column in fitted.columns]
        words = [all(len(_words(cell)) == 1 for cell in column) for column in cells]
        headers = [str(column.header) for column in fitted.columns]
        natural = [
            max([cell_len(header), *(cell_len(cell) for cell in texts)])
            for header, texts in zip(headers, cells, strict=True)
        ]
        floor = [
            _floor(header, texts, word)
            for header, word, texts in zip(headers, words, cells, strict=True)
        ]
        # The default box: a rule between columns and at both edges, one space either side.
        keep = list(range(len(fitted.columns)))

        def needed(widths: list[int]) -> int:
            return sum(widths[i] for i in keep) + 3 * len(keep) + 1

        dropped: list[str] = []
        while needed(floor) > options.max_width and not all(words[i] for i in keep):
            index = max(i for i in keep if not words[i])
            keep.remove(index)
            dropped.append(str(fitted.columns[index].header))
        if needed(natural) > options.max_width and needed(floor) <= options.max_width:
            for i in keep:
                if words[i]:
                    fitted.columns[i].width = floor[i]
        fitted.columns = [fitted.columns[i] for i in keep]
        if dropped:
            note = f"{', '.join(reversed(dropped))} left out to fit; -o yaml shows every field."
            fitted.caption = f"{fitted.caption}\n{note}" if fitted.caption else note
            fitted.caption_justify = "left"
        yield from Table.__rich_console__(fitted, console, options)


def simple_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = FittingTable(title=title, title_justify="left", header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table


class ClosableStdout:
    """Stdout for a command whose work must finish even when its reader leaves (``| head``).

    The first write that meets a closed pipe marks it closed and points stdout at /dev/null, so
    the command goes on (writing its files, setting its exit code) and the interpreter's flush
    at exit cannot fail; later writes are skipped.
    """

    def __init__(self) -> None:
        self.closed = False

    def write(self, print_it: Callable[[], None]) -> None:
        if self.closed:
            return
        try:
            print_it()
            sys.stdout.flush()
        except BrokenPipeError:
            self.closed = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
