"""``kura plugins``: what loaded, with its hooks and version."""

from __future__ import annotations

import click
from pydantic import BaseModel

from kura_core.cli.context import KuraContext, pass_kura
from kura_core.cli.output import emit, output_option, simple_table


class PluginView(BaseModel):
    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]


class PluginsReport(BaseModel):
    plugins: list[PluginView]
    load_balancer_providers: list[str]
    ingress_providers: list[str]
    problems: list[str]


@click.command("plugins")
@output_option
@pass_kura
def plugins_command(kura: KuraContext, output: str) -> None:
    """List loaded plugins, their hooks and versions, and the providers they register."""
    host = kura.host
    report = PluginsReport(
        plugins=[
            PluginView(
                name=info.name,
                distribution=info.distribution,
                version=info.version,
                hooks=list(info.hooks),
            )
            for info in host.plugin_infos()
        ],
        load_balancer_providers=sorted(host.providers.load_balancers),
        ingress_providers=sorted(host.providers.ingresses),
        problems=list(host.problems),
    )
    emit(
        report,
        output,
        lambda: simple_table(
            "Plugins",
            ["NAME", "DISTRIBUTION", "VERSION", "HOOKS"],
            [
                [p.name, p.distribution or "(built in)", p.version, ", ".join(p.hooks) or "-"]
                for p in report.plugins
            ],
        ),
    )
