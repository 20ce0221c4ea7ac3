"""The ``kura`` entry point of kura-operator: adds ``kura operator run``."""

from __future__ import annotations

import click

from kura_core import hookimpl
from kura_operator.cli import operator_group


@hookimpl
def kura_register_commands(cli: click.Group) -> None:
    cli.add_command(operator_group)
