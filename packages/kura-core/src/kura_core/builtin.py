"""kura-core's own plugin: the built-in managed region catalog, registered like any other."""

from __future__ import annotations

from collections.abc import Callable

from kura_core.hookspecs import hookimpl
from kura_core.regions import RegionCatalog, managed_catalogs


# First, so a plugin cannot displace a managed region: a clash is reported against the plugin.
@hookimpl(tryfirst=True)
def kura_register_regions(register: Callable[[str, RegionCatalog], None]) -> None:
    for env, catalog in managed_catalogs().items():
        register(env, catalog)
