"""What every command shares: the plugin host and the region catalogs in force."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kura_core.capacity import Component, unknown_data_plane
from kura_core.errors import CatalogError, InputError
from kura_core.plugins import PluginHost
from kura_core.regions import (
    AVAILABLE_REGIONS_ENV,
    Region,
    RegionCatalog,
    available_region_ids,
    catalog_for,
    load_catalog_file,
)

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class KuraContext:
    host: PluginHost
    catalog_file: Path | None = None
    _file_catalogs: dict[str, RegionCatalog] | None = field(default=None, repr=False)

    def catalogs(self) -> dict[str, RegionCatalog]:
        if self.catalog_file is None:
            return self.host.catalogs
        if self._file_catalogs is None:
            self._file_catalogs = load_catalog_file(self.catalog_file)
        return self._file_catalogs

    def catalog(self, env: str) -> RegionCatalog:
        catalogs = self.catalogs()
        catalog = catalog_for(catalogs, env)
        if catalog is None:
            known = ", ".join(sorted(catalogs)) or "none"
            raise InputError(f"unknown env {env!r} (known: {known})")
        problems = catalog.problems(
            load_balancer_providers=self.host.providers.load_balancers,
            ingress_providers=self.host.providers.ingresses,
        )
        if problems:
            raise CatalogError([f"env {env!r}: {p}" for p in problems])
        available = available_region_ids(os.environ)
        return catalog if available is None else catalog.only(available, env=env)

    def region(self, env: str, region_id: str) -> Region:
        catalog = self.catalog(env)
        available = available_region_ids(os.environ)
        if region_id not in catalog and available is not None:
            raise InputError(
                f"region {region_id!r} is not offered in env {env!r}: {AVAILABLE_REGIONS_ENV} "
                f"lists {', '.join(catalog.ids)}"
            )
        if region_id not in catalog:
            offered_anywhere = [
                name for name, other in sorted(self.catalogs().items()) if region_id in other
            ]
            if offered_anywhere:
                raise InputError(
                    f"region {region_id!r} is not offered in env {env!r} "
                    f"(it is offered in: {', '.join(offered_anywhere)})"
                )
        return catalog.get(region_id, env=env)

    def capacity_components(self, region: Region) -> list[Component]:
        """What the region's load-balancer and ingress providers say about the shard ceiling.

        The ingress provider's terms are its data plane's, and take the place of the default
        data-plane term (nginx workers); a provider that gives none leaves the data plane's
        term unknown rather than planned with nginx's figure.
        """
        host = self.host
        data_plane = [
            component.model_copy(update={"data_plane": True})
            for component in host.ingress_provider(region.ingress_provider).capacity_components(
                region
            )
        ]
        return [
            *host.load_balancer_provider(region.load_balancer_provider).capacity_components(region),
            *(data_plane or [unknown_data_plane(region.ingress_provider)]),
        ]


def default_env() -> str:
    return os.environ.get("KURA_ENV", "production")


def env_option(func: _F) -> _F:
    """The ``--env`` option of commands that work on one environment's catalog."""
    return click.option(
        "--env",
        default=default_env,
        show_default="production, or $KURA_ENV",
        help="Environment whose region catalog to use.",
    )(func)


pass_kura = click.make_pass_decorator(KuraContext)
