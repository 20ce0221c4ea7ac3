"""How a KuraInstance's pods are reached: its Services and its NetworkPolicy.

The account peer Service exists only when cross-region peering is enabled (see
:func:`~kura_operator.instance_layout.cross_region_enabled`). It is shared by all of the
account's instances, so it has no owner reference: the operator removes it with the account's
last peering instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kura_core import KuraInstance
from kura_operator.instance_layout import (
    NAMESPACE_NAME_LABEL,
    POD_NAME_LABEL,
    PORTS,
    account_peer_labels,
    account_peer_service_name,
    account_selector,
    child_metadata,
    headless_service_name,
    namespace_of,
    selector_labels,
)


def _service_ports(names: tuple[str, ...] = ("http", "grpc", "peer")) -> list[dict[str, Any]]:
    return [
        {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
        for name, port in PORTS
        if name in names
    ]


def render_primary_service(instance: KuraInstance, primary_pod: str) -> dict[str, Any]:
    """``<inst>``: the gateway's backend, pinned to one pod for read-after-write consistency."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(instance, instance.metadata.name),
        "spec": {
            "type": "ClusterIP",
            "selector": {**selector_labels(instance.metadata.name), POD_NAME_LABEL: primary_pod},
            "ports": _service_ports(),
        },
    }


def render_headless_service(instance: KuraInstance) -> dict[str, Any]:
    """``<inst>-headless``: pod DNS names for peers, resolvable before the pods are Ready."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(instance, headless_service_name(instance.metadata.name)),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector_labels(instance.metadata.name),
            "ports": _service_ports(),
        },
    }


def render_account_peer_service(instance: KuraInstance) -> dict[str, Any]:
    """``kura-<account>-peers``: every Kura pod of the account, peer port only, unowned."""
    handle = instance.spec.account_handle
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": account_peer_service_name(handle),
            "namespace": namespace_of(instance),
            "labels": account_peer_labels(handle),
        },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": account_selector(handle),
            "ports": _service_ports(("peer",)),
        },
    }


def render_network_policy(
    instance: KuraInstance,
    *,
    gateway_peers: Sequence[Mapping[str, Any]],
    scraper_namespaces: Sequence[str] = (),
) -> dict[str, Any]:
    """Ingress only: the instance's own pods, the account's peers on the peer port, its gateway's
    pods (``gateway_peers``, from the ingress provider) on the HTTP and gRPC ports, and pods of
    ``scraper_namespaces`` (Prometheus) on the HTTP port, where Kura serves ``/metrics``.

    Upstream admits HTTP and gRPC from every namespace; here a rule without peers is left out,
    because a rule with no ``from`` would admit everyone.
    """
    own = {"podSelector": {"matchLabels": selector_labels(instance.metadata.name)}}
    peers = {"podSelector": {"matchLabels": account_selector(instance.spec.account_handle)}}
    rules: list[dict[str, Any]] = [
        {"from": [own]},
        {"from": [peers], "ports": [{"protocol": "TCP", "port": "peer"}]},
    ]
    if gateway_peers:
        rules.append(
            {
                "from": [dict(peer) for peer in gateway_peers],
                "ports": [
                    {"protocol": "TCP", "port": "http"},
                    {"protocol": "TCP", "port": "grpc"},
                ],
            }
        )
    if scraper_namespaces:
        scrapers = {
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": NAMESPACE_NAME_LABEL,
                        "operator": "In",
                        "values": sorted(set(scraper_namespaces)),
                    }
                ]
            }
        }
        rules.append({"from": [scrapers], "ports": [{"protocol": "TCP", "port": "http"}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": child_metadata(instance, instance.metadata.name),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(instance.metadata.name)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
