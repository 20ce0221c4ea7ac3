"""The ``kura`` entry point of kura-smoke: the ``kura smoke`` commands.

Loaded every time ``kura`` builds its command line, so it imports only the light command
declarations; the commands import their heavy dependencies when they run.
"""

from __future__ import annotations

import click

from kura_core import hookimpl
from kura_smoke.cli import smoke_group


@hookimpl
def kura_register_commands(cli: click.Group) -> None:
    cli.add_command(smoke_group)
