"""Progress for long work: waits and transfers, as rich bars on a terminal, silent otherwise.

Machine output (``-o json``/``yaml``) and output that is not a terminal get :class:`Silent`, so
progress never mixes with what scripts parse. Bars go to stderr and disappear when done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)


class Task(Protocol):
    def advance(self, amount: int) -> None: ...

    def describe(self, text: str) -> None: ...


class View(Protocol):
    def task(self, label: str, total: int | None = None) -> contextlib.AbstractContextManager[Task]:
        """A task shown while the block runs: a byte bar when ``total`` is given, else a spinner."""
        ...


class _NoTask:
    def advance(self, amount: int) -> None:
        return None

    def describe(self, text: str) -> None:
        return None


class Silent:
    @contextlib.contextmanager
    def task(self, label: str, total: int | None = None) -> Iterator[Task]:
        yield _NoTask()


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID, label: str) -> None:
        self._progress = progress
        self._id = task_id
        self._label = label

    def advance(self, amount: int) -> None:
        self._progress.advance(self._id, amount)

    def describe(self, text: str) -> None:
        self._progress.update(self._id, description=f"{self._label}: {text}")


class Bars:
    """Rich progress on ``console`` (stderr)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextlib.contextmanager
    def task(self, label: str, total: int | None = None) -> Iterator[Task]:
        if total is None:
            columns: tuple[ProgressColumn, ...] = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
            )
        else:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
            )
        with Progress(*columns, console=self.console, transient=True) as progress:
            yield _RichTask(progress, progress.add_task(label, total=total), label)


def view_for(output: str, *, stdout_is_tty: bool) -> View:
    """Bars for people at a terminal, nothing for scripts."""
    if output == "table" and stdout_is_tty:
        return Bars(Console(stderr=True))
    return Silent()
