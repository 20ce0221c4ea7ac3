"""Provider contracts. Plugins register objects that implement these Protocols.

A region names one load-balancer provider and one ingress provider; core reaches them only
through :class:`ProviderRegistry`, so a new provider (a Gateway API one, say) plugs in without a
change here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from kura_core.capacity import Component
from kura_core.errors import PluginError, ProviderNotFoundError
from kura_core.metric_queries import MetricQueries
from kura_core.names import dedicated_load_balancer_name
from kura_core.regions import Region
from kura_core.resources import KuraGateway, KuraGatewayStatus, KuraInstance

# The ServiceAccount dedicated gateway pods run as (upstream's --gateway-service-account-name).
DEFAULT_GATEWAY_SERVICE_ACCOUNT = "kura-gateway-ingress-nginx"


@runtime_checkable
class LoadBalancerProvider(Protocol):
    """Turns a gateway's load-balancer wishes into Service annotations for a cloud's CCM."""

    name: str

    def service_annotations(
        self,
        region: Region | None,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Annotations for the gateway's ``LoadBalancer`` Service.

        ``region`` is the catalog's entry, or ``None`` when the catalog lacks the gateway's
        region: then nothing may come from a catalog (the operator reconciles such a gateway
        from its own spec, as upstream's controller does). ``node_selector`` is the gateway
        pods' node selector, from which a provider may derive target selection; ``None`` leaves
        that to the operator. ``overrides`` are annotations the user set: they win over derived
        ones, except those that say which load balancer the Service gets and how it reaches the
        gateway (its name, location, protocol), which come from ``region`` and
        ``load_balancer_name`` only (:func:`ignored_annotations_warning` names them).
        """
        ...

    def capacity_components(self, region: Region) -> list[Component]:
        """The load balancer's terms of a shard's capacity ceiling in ``region``.

        They replace the capacity model's defaults of the same name; figures the cloud does not
        publish are marked as assumptions.
        """
        ...


def ignored_annotations_warning(
    gateway: KuraGateway, region: Region | None, provider: LoadBalancerProvider
) -> str | None:
    """One line naming the gateway's ``spec.loadBalancerAnnotations`` that ``provider`` does not
    honour, or None when it honours them all."""
    overrides = gateway.spec.load_balancer_annotations
    kept = provider.service_annotations(
        region,
        load_balancer_name=dedicated_load_balancer_name(gateway.metadata.name),
        node_selector=gateway.spec.node_selector,
        overrides=overrides,
    )
    ignored = sorted(key for key, value in (overrides or {}).items() if kept.get(key) != value)
    if not ignored:
        return None
    what = ", ".join(
        f"{key} (kept {kept[key]!r})" if key in kept else f"{key} (left out)" for key in ignored
    )
    return (
        f"spec.loadBalancerAnnotations: ignored {what}: the load-balancer provider "
        f"{provider.name!r} sets them from the gateway's name and region"
    )


@dataclass(frozen=True)
class LoadBalancerTraffic:
    """One load balancer's traffic as its cloud measured it: bytes per second in and out, and
    the client connections open through it.

    ``at`` (epoch seconds) is when the cloud took the latest sample; a series the cloud did not
    return is ``None``, never zero.
    """

    name: str
    at: float
    bytes_in: float | None
    bytes_out: float | None
    open_connections: float | None = None


@runtime_checkable
class LoadBalancerTrafficReader(Protocol):
    """Reads load balancers' own traffic figures from a cloud's API."""

    target: str
    """Where it reads from, for the dashboard's connection line (never with credentials)."""
    resolution: float
    """Seconds between the cloud's samples: reading more often brings nothing new."""

    def traffic(self, names: Sequence[str], *, now: float) -> dict[str, LoadBalancerTraffic]:
        """The latest traffic of each load balancer in ``names`` that exists, keyed by name.

        A name the cloud does not know is left out. A failure to read at all raises a
        :class:`~kura_core.errors.KuraError` with one line in words (no credentials in it).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class LoadBalancerTrafficSupport(Protocol):
    """An optional capability of a :class:`LoadBalancerProvider`: reading LB traffic."""

    def traffic_reader(
        self, environ: Mapping[str, str], *, timeout: float
    ) -> LoadBalancerTrafficReader | None:
        """A reader with the credentials ``environ`` holds, or ``None`` when it holds none.

        ``timeout`` bounds each request in seconds. Bad credentials in ``environ`` (malformed,
        not absent) raise :class:`~kura_core.errors.InputError`.
        """
        ...


@runtime_checkable
class IngressProvider(Protocol):
    """The gateway data plane: what a gateway's controller is and how it is named."""

    name: str

    def default_controller_class(self, ingress_class_name: str) -> str:
        """The IngressClass ``spec.controller`` used when a gateway does not set one."""
        ...

    def render_gateway(
        self,
        gateway: KuraGateway,
        *,
        region: Region | None,
        load_balancer: LoadBalancerProvider,
        service_account_name: str = DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    ) -> list[dict[str, Any]]:
        """A dedicated gateway's child objects, in apply order.

        ``region`` is the catalog's entry for ``gateway.spec.region``, or ``None`` when the
        catalog lacks it: then the gateway's own spec is all there is to go on.

        Namespaced children carry an owner reference to ``gateway``; a cluster-scoped class
        cannot, so the operator removes it through the gateway's finalizer.
        """
        ...

    def gateway_status(
        self,
        gateway: KuraGateway,
        *,
        children: Mapping[str, Mapping[str, Any]],
        now: datetime,
    ) -> KuraGatewayStatus:
        """Status computed from the observed children :meth:`render_gateway` rendered, keyed by
        kind (``Deployment``, ``Service``, ``Gateway``, ...); a child not yet created is absent.

        ``now`` stamps ``lastReconciledAt`` and condition transitions; a condition whose status
        did not change keeps its ``lastTransitionTime`` from ``gateway.status``.
        """
        ...

    def render_instance_ingress(
        self, instance: KuraInstance, *, cluster_issuer: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects that route public traffic to an instance through its ingress class."""
        ...

    def gateway_peers(
        self, instance: KuraInstance, *, region: Region | None
    ) -> list[dict[str, Any]]:
        """NetworkPolicy peers (``from`` entries) selecting the pods of the gateway that routes
        ``instance``'s public traffic: only they may open its HTTP and gRPC ports. ``region`` is
        ``None`` for a region the operator's catalog lacks: then only the instance says.

        An empty list admits no gateway (an ingress class no gateway of this provider serves).
        """
        ...

    def shared_gateway_values(
        self, region: Region, *, load_balancer: LoadBalancerProvider
    ) -> dict[str, Any]:
        """The platform chart values that deploy ``region``'s shared gateway, keyed by block."""
        ...

    def metric_queries(self) -> MetricQueries:
        """PromQL for the dashboard, aggregated per gateway."""
        ...

    def capacity_components(self, region: Region) -> list[Component]:
        """The gateway data plane's terms of a shard's capacity ceiling in ``region``."""
        ...


def _protocol_members(protocol: type) -> list[str]:
    names = {name for name in vars(protocol) if not name.startswith("_")}
    return sorted(names | set(getattr(protocol, "__annotations__", {})))


def _check(table: Mapping[str, object], provider: object, protocol: type, kind: str) -> None:
    if not isinstance(provider, protocol):
        missing = [name for name in _protocol_members(protocol) if not hasattr(provider, name)]
        raise PluginError(
            f"{type(provider).__name__} does not implement the {kind} provider protocol "
            f"(missing: {', '.join(missing)})"
        )
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
