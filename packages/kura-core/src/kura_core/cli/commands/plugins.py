"""``kura plugins``: what loaded, with its hooks and version."""

from __future__ import annotations

import click
from pydantic import BaseModel

from kura_core.cli.context import KuraContext, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.errors import CheckFailed


class PluginView(BaseModel):
    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]
    providers: list[str]


class PluginsReport(BaseModel):
    plugins: list[PluginView]
    load_balancer_providers: list[str]
    ingress_providers: list[str]
    problems: list[str]


@click.command("plugins")
@output_option
@pass_kura
def plugins_command(kura: KuraContext, output: str) -> None:
    """List loaded plugins, their hooks and versions, and the providers they register.

    JSON/YAML: plugins (name, distribution, version, hooks, providers), load_balancer_providers,
    ingress_providers, problems. Exit 1 when a plugin failed to load, or KURA_LOAD_PLUGINS or
    KURA_DISABLED_PLUGINS names no installed plugin (each problem is a warning on stderr).
    """
    host = kura.host
    report = PluginsReport(
        plugins=[
            PluginView(
                name=info.name,
                distribution=info.distribution,
                version=info.version,
                hooks=list(info.hooks),
                providers=list(info.providers),
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
            ["NAME", "DISTRIBUTION", "VERSION", "PROVIDERS", "HOOKS"],
            [
                [
                    p.name,
                    p.distribution or "(built in)",
                    p.version,
                    ", ".join(p.providers) or "-",
                    ", ".join(p.hooks) or "-",
                ]
                for p in report.plugins
            ],
        ),
    )
    if report.problems:
        raise CheckFailed(report.problems)
