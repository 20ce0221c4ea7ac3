"""kura-provider-hetzner: the ``hetzner`` load-balancer and ``ingress-nginx`` ingress providers."""

from __future__ import annotations

from importlib.metadata import version

__version__ = version("kura-provider-hetzner")
