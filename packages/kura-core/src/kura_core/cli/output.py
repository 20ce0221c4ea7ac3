"""Machine and human output for every command: ``-o table|json|yaml``.

JSON and YAML are the stable, documented forms: each command dumps the same pydantic models it
computes, field names unchanged. Tables are for people and may change.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import click
import yaml
from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.table import Table

OutputFormat = Literal["table", "json", "yaml"]
FORMATS: tuple[OutputFormat, ...] = ("table", "json", "yaml")

_F = TypeVar("_F", bound=Callable[..., Any])


def output_option(func: _F) -> _F:
    """The ``-o/--output`` option every command takes."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format. json and yaml are stable for scripts.",
    )(func)


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


def emit(data: Any, output: str, table: Callable[[], RenderableType]) -> None:
    """Print ``data`` as JSON or YAML, or print what ``table()`` builds."""
    if output == "json":
        click.echo(json.dumps(to_plain(data), indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(to_plain(data), sort_keys=False, allow_unicode=True), nl=False)
    else:
        console().print(table())


def simple_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for header in headers:
        table.add_column(header)
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
