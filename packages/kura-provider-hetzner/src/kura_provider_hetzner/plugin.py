"""The ``kura`` entry point of kura-provider-hetzner."""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from kura_core import IngressProvider, LoadBalancerProvider, hookimpl
from kura_provider_hetzner.cli import lb_group
from kura_provider_hetzner.ingress_nginx import IngressNginxProvider
from kura_provider_hetzner.load_balancer import (
    HetznerLoadBalancerProvider,
    planning_bandwidth_from,
)


@hookimpl
def kura_register_load_balancer_providers(register: Callable[[LoadBalancerProvider], None]) -> None:
    # The environment is read here, at the plugin's edge; the provider itself stays pure.
    register(HetznerLoadBalancerProvider(planning_bandwidth=planning_bandwidth_from(os.environ)))


@hookimpl
def kura_register_ingress_providers(register: Callable[[IngressProvider], None]) -> None:
    register(IngressNginxProvider())


@hookimpl
def kura_register_commands(cli: click.Group) -> None:
    cli.add_command(lb_group)
