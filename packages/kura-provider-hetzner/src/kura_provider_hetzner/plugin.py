"""The ``kura`` entry point of kura-provider-hetzner."""

from __future__ import annotations

from collections.abc import Callable

from kura_core import IngressProvider, LoadBalancerProvider, hookimpl
from kura_provider_hetzner.ingress_nginx import IngressNginxProvider
from kura_provider_hetzner.load_balancer import HetznerLoadBalancerProvider


@hookimpl
def kura_register_load_balancer_providers(register: Callable[[LoadBalancerProvider], None]) -> None:
    register(HetznerLoadBalancerProvider())


@hookimpl
def kura_register_ingress_providers(register: Callable[[IngressProvider], None]) -> None:
    register(IngressNginxProvider())
