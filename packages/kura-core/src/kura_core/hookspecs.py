"""Hook specifications for kura plugins.

Every hook is named ``kura_*``. Plugins implement them with :data:`kura_core.hookimpl` and are
found through the ``kura`` entry-point group. Registration hooks take a ``register`` callback, so
core keeps control of naming and de-duplication (as ``llm`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from kura_core.providers import IngressProvider, LoadBalancerProvider
    from kura_core.regions import RegionCatalog

PROJECT_NAME = "kura"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- providers --------------------------------------------------------------------------------


@hookspec
def kura_register_load_balancer_providers(
    register: Callable[[LoadBalancerProvider], None],
) -> None:
    """Register load-balancer providers.

    Call ``register(provider)`` once per provider. ``provider`` implements
    :class:`kura_core.providers.LoadBalancerProvider`; its ``name`` is what a region's
    ``load_balancer_provider`` field refers to (``hetzner``). Two plugins registering the same
    name is an error.
    """


@hookspec
def kura_register_ingress_providers(register: Callable[[IngressProvider], None]) -> None:
    """Register ingress (gateway data plane) providers.

    Call ``register(provider)`` once per provider. ``provider`` implements
    :class:`kura_core.providers.IngressProvider`; its ``name`` is what a region's
    ``ingress_provider`` field refers to (``ingress-nginx``).
    """


# --- regions ----------------------------------------------------------------------------------


@hookspec
def kura_register_regions(register: Callable[[str, RegionCatalog], None]) -> None:
    """Register region catalogs.

    Call ``register(env, catalog)`` for each environment the plugin knows (``production``,
    ``staging``...). Regions from every plugin are merged per environment; a region id defined
    twice in one environment is an error.
    """


# --- command line -----------------------------------------------------------------------------


@hookspec
def kura_register_commands(cli: click.Group) -> None:
    """Add commands to the ``kura`` command line.

    ``cli`` is the root :class:`click.Group`; call ``cli.add_command(...)`` or use
    ``@cli.command()``. A command name that already exists is reported and the plugin's command
    is skipped.
    """


__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "kura_register_commands",
    "kura_register_ingress_providers",
    "kura_register_load_balancer_providers",
    "kura_register_regions",
]
