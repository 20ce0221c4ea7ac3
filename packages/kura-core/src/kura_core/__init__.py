"""kura-core: the typed source of truth for Kura's regional cache gateways."""

from __future__ import annotations

from importlib.metadata import version

from kura_core.hookspecs import hookimpl
from kura_core.providers import (
    IngressProvider,
    LoadBalancerProvider,
    LoadBalancerTraffic,
    LoadBalancerTrafficReader,
    LoadBalancerTrafficSupport,
)

__version__ = version("kura-core")

__all__ = [
    "IngressProvider",
    "LoadBalancerProvider",
    "LoadBalancerTraffic",
    "LoadBalancerTrafficReader",
    "LoadBalancerTrafficSupport",
    "__version__",
    "hookimpl",
]
