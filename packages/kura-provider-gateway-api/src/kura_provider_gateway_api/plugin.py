"""The ``kura`` entry point of kura-provider-gateway-api."""

from __future__ import annotations

from collections.abc import Callable

from kura_core import IngressProvider, hookimpl
from kura_provider_gateway_api.provider import GatewayApiProvider


@hookimpl
def kura_register_ingress_providers(register: Callable[[IngressProvider], None]) -> None:
    register(GatewayApiProvider())
