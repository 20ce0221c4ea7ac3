"""The ``hetzner`` load-balancer provider: CCM Service annotations, the LB planning figure and
a reader of the LBs' own bandwidth.
"""

from __future__ import annotations

from collections.abc import Mapping

from kura_core import (
    REGIONAL_LB,
    Bandwidth,
    Component,
    InputError,
    LoadBalancerTrafficReader,
    Region,
)
from kura_provider_hetzner.inventory import TOKEN_ENV, settings_from_env
from kura_provider_hetzner.lb_types import DEFAULT_TYPE, limits

ANNOTATION_PREFIX = "load-balancer.hetzner.cloud/"
LOCATION = ANNOTATION_PREFIX + "location"
NAME = ANNOTATION_PREFIX + "name"
USES_PROXY_PROTOCOL = ANNOTATION_PREFIX + "uses-proxyprotocol"
NODE_SELECTOR = ANNOTATION_PREFIX + "node-selector"
TYPE = ANNOTATION_PREFIX + "type"

PLANNING_BANDWIDTH_ENV = "KURA_HETZNER_LB_PLANNING_BANDWIDTH"
# docs/capacity.md: plan one regional LB + ingress-nginx shard as a single-digit-Gbps capacity
# unit until benchmarked. 5 Gbps is the middle of that range and its "5 Gbps shard ~= 1.0x the
# observed 4.8 Gbps peak" row; 20 Gbps (the shared 2x10Gbit host) is only a ceiling.
DEFAULT_PLANNING_BANDWIDTH = Bandwidth.gigabits(5)
_UNPUBLISHED = (
    "Hetzner publishes no per-LB bandwidth; LBs scheduled on one host share a 2x10Gbit interface"
)
_DEFAULT_REASON = (
    "5 Gbps is the single-digit-Gbps planning unit (docs/capacity.md) until benchmarked (a "
    "5 Gbps shard carries ~1.0x the observed 4.8 Gbps regional peak); 20 Gbps is a ceiling, "
    "not an SLO"
)
_SET_REASON = f"planning figure set by the operator ({PLANNING_BANDWIDTH_ENV})"


def label_selector(labels: Mapping[str, str]) -> str:
    """``k=v`` pairs, comma-joined in sorted key order, as Kubernetes prints a label selector."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def planning_bandwidth_from(environ: Mapping[str, str]) -> Bandwidth | None:
    """The planning figure ``environ`` sets, or ``None``; the plugin entry point reads it."""
    text = environ.get(PLANNING_BANDWIDTH_ENV, "").strip()
    if not text:
        return None
    try:
        bandwidth = Bandwidth.parse(text)
    except ValueError as exc:
        raise InputError(f"{PLANNING_BANDWIDTH_ENV}: {exc}") from None
    if bandwidth.bits_per_second <= 0:
        raise InputError(f"{PLANNING_BANDWIDTH_ENV}: {text!r} must be more than zero")
    return bandwidth


class HetznerLoadBalancerProvider:
    """Annotations for a gateway's LoadBalancer Service on Hetzner Cloud, and its capacity."""

    name = "hetzner"

    def __init__(
        self,
        load_balancer_type: str | None = None,
        *,
        planning_bandwidth: Bandwidth | None = None,
    ) -> None:
        if load_balancer_type is not None:
            limits(load_balancer_type)
        if planning_bandwidth is not None and planning_bandwidth.bits_per_second <= 0:
            raise InputError("the Hetzner LB planning bandwidth must be more than zero")
        self.load_balancer_type = load_balancer_type
        self.planning_bandwidth = (
            DEFAULT_PLANNING_BANDWIDTH if planning_bandwidth is None else planning_bandwidth
        )
        self._reason = _SET_REASON if planning_bandwidth is not None else _DEFAULT_REASON

    def service_annotations(
        self,
        region: Region | None,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        # Which LB the Service gets, where, and how it talks to nginx come from the region and the
        # name only, whatever ``overrides`` say: they could otherwise take over another LB (the
        # regional one, by its name), move it away from its nodes, or drop the PROXY header that
        # the gateway ConfigMap's use-proxy-protocol makes nginx expect. Only a catalogued region
        # has a location; elsewhere the gateway's own annotation says.
        protected = {NAME: load_balancer_name, USES_PROXY_PROTOCOL: "true"}
        if region is not None:
            protected[LOCATION] = region.location
        annotations: dict[str, str] = {}
        if node_selector:
            annotations[NODE_SELECTOR] = label_selector(node_selector)
        if self.load_balancer_type:
            annotations[TYPE] = self.load_balancer_type
        annotations.update(overrides or {})
        annotations.update(protected)
        # The CCM would only fail later, in an Event nobody reads: reject a bad type here.
        if TYPE in annotations:
            limits(annotations[TYPE])
        return dict(sorted(annotations.items()))

    def capacity_components(self, region: Region) -> list[Component]:
        """The regional LB term of the shard ceiling: a planning figure, never a measurement."""
        lb_type = limits(self.load_balancer_type or DEFAULT_TYPE)
        return [
            Component(
                name=REGIONAL_LB.name,
                capacity=self.planning_bandwidth,
                assumption=True,
                source=f"{_UNPUBLISHED}; {self._reason}; type {lb_type.summary()}",
            )
        ]

    def traffic_reader(
        self, environ: Mapping[str, str], *, timeout: float
    ) -> LoadBalancerTrafficReader | None:
        """A reader of the LBs' bandwidth with ``HCLOUD_TOKEN``, or ``None`` without one.

        ``HCLOUD_ENDPOINT`` points it elsewhere; a malformed token or endpoint is an
        :class:`InputError`.
        """
        if not environ.get(TOKEN_ENV, "").strip():
            return None
        settings = settings_from_env(environ, timeout=timeout)
        # Imported here so that loading the provider does not load hcloud.
        from kura_provider_hetzner.lb_traffic import HetznerTrafficReader

        return HetznerTrafficReader(settings)
