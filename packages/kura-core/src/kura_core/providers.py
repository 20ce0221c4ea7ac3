"""Provider contracts. Plugins register objects that implement these Protocols.

A region names one load-balancer provider and one ingress provider; core reaches them only
through :class:`ProviderRegistry`, so a new provider (a Gateway API one, say) plugs in without a
change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from kura_core.errors import PluginError, ProviderNotFoundError
from kura_core.regions import Region


@runtime_checkable
class LoadBalancerProvider(Protocol):
    """Turns a gateway's load-balancer wishes into Service annotations for a cloud's CCM."""

    name: str

    def service_annotations(
        self,
        region: Region,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Annotations for the gateway's ``LoadBalancer`` Service.

        ``node_selector`` is the gateway pods' node selector, from which a provider may derive
        target selection; ``None`` leaves that to the operator. ``overrides`` are annotations the
        user set: they win over derived ones.
        """
        ...


@runtime_checkable
class IngressProvider(Protocol):
    """The gateway data plane: what a gateway's controller is and how it is named."""

    name: str

    def default_controller_class(self, ingress_class_name: str) -> str:
        """The IngressClass ``spec.controller`` used when a gateway does not set one."""
        ...


def _check(table: Mapping[str, object], provider: object, protocol: type, kind: str) -> None:
    if not isinstance(provider, protocol):
        raise PluginError(f"{provider!r} does not implement the {kind} provider protocol")
    name = getattr(provider, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"{provider!r} has no provider name")
    if name in table:
        raise PluginError(f"{kind} provider {name!r} is registered twice")


class ProviderRegistry:
    """Providers by name, as registered through the plugin hooks."""

    def __init__(self) -> None:
        self.load_balancers: dict[str, LoadBalancerProvider] = {}
        self.ingresses: dict[str, IngressProvider] = {}

    def add_load_balancer(self, provider: LoadBalancerProvider) -> None:
        _check(self.load_balancers, provider, LoadBalancerProvider, "load-balancer")
        self.load_balancers[provider.name] = provider

    def add_ingress(self, provider: IngressProvider) -> None:
        _check(self.ingresses, provider, IngressProvider, "ingress")
        self.ingresses[provider.name] = provider

    def load_balancer(self, name: str) -> LoadBalancerProvider:
        try:
            return self.load_balancers[name]
        except KeyError:
            raise ProviderNotFoundError(
                f"no plugin provides the load-balancer provider {name!r} "
                f"(loaded: {', '.join(sorted(self.load_balancers)) or 'none'})"
            ) from None

    def ingress(self, name: str) -> IngressProvider:
        try:
            return self.ingresses[name]
        except KeyError:
            raise ProviderNotFoundError(
                f"no plugin provides the ingress provider {name!r} "
                f"(loaded: {', '.join(sorted(self.ingresses)) or 'none'})"
            ) from None
