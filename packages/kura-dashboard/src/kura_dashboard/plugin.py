"""The ``kura`` entry point of kura-dashboard: adds ``kura dashboard``.

Registered in the ``kura`` entry-point group, so ``kura plugins`` lists it with its version. The
command module imports only click and kura_core; the TUI's heavy imports wait for the command.
"""

from __future__ import annotations

import click

from kura_core import hookimpl
from kura_dashboard.cli import dashboard_command


@hookimpl
def kura_register_commands(cli: click.Group) -> None:
    cli.add_command(dashboard_command)
