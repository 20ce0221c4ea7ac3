"""The built-in commands, one module per concept."""

from __future__ import annotations

import click

from kura_core.cli.commands.assign import assign_command
from kura_core.cli.commands.capacity import CAPACITY_COMMANDS
from kura_core.cli.commands.config import config_group
from kura_core.cli.commands.crds import crds_command
from kura_core.cli.commands.drift import drift_command
from kura_core.cli.commands.gateway import gateway_group
from kura_core.cli.commands.instance import instance_group
from kura_core.cli.commands.plugins import plugins_command
from kura_core.cli.commands.recording_rules import recording_rules_command
from kura_core.cli.commands.regions import regions_command
from kura_core.cli.commands.render import render_command
from kura_core.cli.commands.simulate import simulate_command

COMMANDS: tuple[click.Command, ...] = (
    regions_command,
    assign_command,
    plugins_command,
    config_group,
    drift_command,
    render_command,
    gateway_group,
    instance_group,
    crds_command,
    *CAPACITY_COMMANDS,
    simulate_command,
    recording_rules_command,
)
