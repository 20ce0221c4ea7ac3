"""The ``kura`` command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import click

from kura_core.cli.commands import COMMANDS
from kura_core.cli.context import KuraContext
from kura_core.errors import CheckFailed, KuraError
from kura_core.plugins import PluginHost


def _usage_error(exc: click.UsageError) -> NoReturn:
    """Click's usage error as the one line every kura error is, with the help hint kept."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc  # a bare group: its help is what the user asked for
    hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    message = exc.format_message().removesuffix(".")
    click.echo(f"kura: error: {message}{hint}", err=True)
    raise click.exceptions.Exit(exc.exit_code)


class KuraGroup(click.Group):
    """Turns kura's typed errors into one line on stderr and an exit code, never a traceback."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The root's own options are parsed here, before invoke.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _usage_error(exc)
        except CheckFailed as exc:
            click.echo(f"kura: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KuraError as exc:
            click.echo(f"kura: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def build_cli(host: PluginHost | None = None) -> click.Group:
    """The root command with the built-in commands and every plugin's commands."""
    plugin_host = host if host is not None else PluginHost(environ=os.environ)

    @click.group(cls=KuraGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option(
        "--catalog",
        "catalog_file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="KURA_CATALOG",
        help="Region catalog YAML to use instead of the built-in and plugin catalogs.",
    )
    @click.version_option(package_name="kura-core", prog_name="kura")
    @click.pass_context
    def cli(ctx: click.Context, catalog_file: Path | None) -> None:
        """kura: the control plane for Kura's regional cache gateways."""
        # Evaluated up front so every plugin problem is reported before the command runs.
        plugin_host.providers  # noqa: B018
        plugin_host.catalogs  # noqa: B018
        for problem in plugin_host.problems:
            click.echo(f"kura: warning: {problem}", err=True)
        ctx.obj = KuraContext(host=plugin_host, catalog_file=catalog_file)

    for command in COMMANDS:
        cli.add_command(command)
    plugin_host.add_commands(cli)
    return cli


def main() -> None:
    build_cli()(prog_name="kura")
