"""The built-in commands, one module per concept."""

from __future__ import annotations

import click

from kura_core.cli.commands.plugins import plugins_command
from kura_core.cli.commands.regions import regions_command

COMMANDS: tuple[click.Command, ...] = (
    regions_command,
    plugins_command,
)
