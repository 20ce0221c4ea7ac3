"""The ``hetzner`` load-balancer provider: Service annotations for the Hetzner CCM."""

from __future__ import annotations

from collections.abc import Mapping

from kura_core.regions import Region

ANNOTATION_PREFIX = "load-balancer.hetzner.cloud/"
LOCATION = ANNOTATION_PREFIX + "location"
NAME = ANNOTATION_PREFIX + "name"
USES_PROXY_PROTOCOL = ANNOTATION_PREFIX + "uses-proxyprotocol"
NODE_SELECTOR = ANNOTATION_PREFIX + "node-selector"
TYPE = ANNOTATION_PREFIX + "type"


def label_selector(labels: Mapping[str, str]) -> str:
    """``k=v`` pairs, comma-joined in sorted key order, as Kubernetes prints a label selector."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


class HetznerLoadBalancerProvider:
    """Annotations for a gateway's LoadBalancer Service on Hetzner Cloud."""

    name = "hetzner"

    def __init__(self, load_balancer_type: str | None = None) -> None:
        self.load_balancer_type = load_balancer_type

    def service_annotations(
        self,
        region: Region,
        *,
        load_balancer_name: str,
        node_selector: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        # The gateway ConfigMap sets use-proxy-protocol, so the LB must send the PROXY header.
        annotations = {
            NAME: load_balancer_name,
            USES_PROXY_PROTOCOL: "true",
            LOCATION: region.location,
        }
        if node_selector:
            annotations[NODE_SELECTOR] = label_selector(node_selector)
        if self.load_balancer_type:
            annotations[TYPE] = self.load_balancer_type
        annotations.update(overrides or {})
        return dict(sorted(annotations.items()))
