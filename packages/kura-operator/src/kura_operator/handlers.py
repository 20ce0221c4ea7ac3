"""What the operator watches, and which changes reach the reconcilers.

Level-triggered: every change the cache (:mod:`kura_operator.cache`) hears of a gateway or an
instance, or of one of their children, only *requests* a reconcile from that kind's
:class:`~kura_operator.scheduler.Scheduler`, which coalesces, serialises and retries them. The
reconcile reads the whole state from the cache, so it needs no diff of what changed. The first
list of each kind is not news: once every kind is listed, the runner requests every gateway and
instance once. The echo of the operator's own write changes nothing in the cache and so
requests nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kura_core import (
    BACKEND_TRAFFIC_POLICY,
    CLIENT_TRAFFIC_POLICY,
    CONFIG_MAP,
    ENVOY_PROXY,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    HTTP_ROUTE_FILTER,
    INGRESS,
    INGRESS_CLASS,
    KURA_GATEWAY,
    KURA_INSTANCE,
    LISTENER_SET,
    NETWORK_POLICY,
    POD,
    POD_DISRUPTION_BUDGET,
    SERVICE,
    STATEFUL_SET,
    Kind,
)
from kura_operator.cache import Key, Listener, Watched
from kura_operator.gateway import GATEWAY_CHILD_KINDS, GATEWAY_LABEL
from kura_operator.instance import InstanceReconciler
from kura_operator.instance_layout import APP, INSTANCE_LABEL, MANAGED_BY_LABEL, NAME_LABEL
from kura_operator.instance_layout import MANAGED_BY as MANAGER
from kura_operator.scheduler import Scheduler

MANAGED = f"{MANAGED_BY_LABEL}={MANAGER}"
GATEWAY_CHILDREN = GATEWAY_CHILD_KINDS
INSTANCE_CHILDREN = (
    CONFIG_MAP,
    SERVICE,
    STATEFUL_SET,
    INGRESS,
    NETWORK_POLICY,
    POD_DISRUPTION_BUDGET,
)
# The gateway-api provider's children; watched only where a region uses it, since a cluster
# without its CRDs (and an operator without the RBAC component granting them) has none.
GATEWAY_API_PROVIDER = "gateway-api"
GATEWAY_API_GATEWAY_CHILDREN = (ENVOY_PROXY, CLIENT_TRAFFIC_POLICY, HTTP_ROUTE)
GATEWAY_API_INSTANCE_CHILDREN = (
    LISTENER_SET,
    HTTP_ROUTE,
    GRPC_ROUTE,
    BACKEND_TRAFFIC_POLICY,
    HTTP_ROUTE_FILTER,
)
# What routes an instance: an IngressClass, or a Gateway API Gateway, which carries its class's
# name and its gateway's status the same way.
CLASSES = (INGRESS_CLASS, GATEWAY)


def watched(*, gateway_api: bool = False) -> list[Watched]:
    """Every kind the reconcilers read, with the label selector of the objects they need;
    ``gateway_api``: some region's ingress provider is the Gateway API one."""
    children: tuple[Kind, ...] = (*GATEWAY_CHILDREN, *INSTANCE_CHILDREN)
    classes: tuple[Kind, ...] = (INGRESS_CLASS,)
    if gateway_api:
        children = (*children, *GATEWAY_API_GATEWAY_CHILDREN, *GATEWAY_API_INSTANCE_CHILDREN)
        classes = CLASSES
    return [
        Watched(KURA_GATEWAY),
        Watched(KURA_INSTANCE),
        # Every child of either kind carries the managed-by label: one watch per kind serves
        # both (upstream's controller labels its children the same way).
        *(Watched(kind, MANAGED) for kind in dict.fromkeys(children)),
        # Every class: a gateway's own, the regional ones that instances route through, and one
        # someone else made under a gateway's class name (never taken over).
        *(Watched(kind) for kind in classes),
        # The instances' pods: which one is Ready picks the primary.
        Watched(POD, f"{NAME_LABEL}={APP},{INSTANCE_LABEL}"),
    ]


def gateway_of(child: Mapping[str, Any], named: Callable[[str], list[Key]]) -> Key | None:
    """The (namespace, name) of the gateway ``child`` belongs to, from its gateway label; a
    cluster-scoped IngressClass names only the gateway, which ``named`` finds."""
    metadata = child.get("metadata") or {}
    labels = metadata.get("labels") or {}
    name = labels.get(GATEWAY_LABEL)
    if not name or labels.get(MANAGED_BY_LABEL) != MANAGER:
        return None
    if metadata.get("namespace"):
        return str(metadata["namespace"]), str(name)
    found = named(str(name))
    return found[0] if len(found) == 1 else None


def listener(
    gateway_queue: Scheduler,
    instances: InstanceReconciler,
    instance_queue: Scheduler,
    gateways_named: Callable[[str], list[Key]],
) -> Listener:
    """Turn the cache's changes into reconcile requests; ``gateways_named`` finds the known
    gateways of a name."""
    gateway_children = (*GATEWAY_CHILDREN, *GATEWAY_API_GATEWAY_CHILDREN, *CLASSES)
    instance_children = (*INSTANCE_CHILDREN, *GATEWAY_API_INSTANCE_CHILDREN, POD)

    def changed(kind: Kind, change: str, obj: dict[str, Any]) -> None:
        if kind == KURA_GATEWAY:
            request_for(gateway_queue, obj)
            return
        if kind == KURA_INSTANCE:
            request_for(instance_queue, obj)
            return
        if kind in CLASSES:
            # A class appears (a gateway became ready to route), goes or is edited: the
            # instances routed through it, whose status says whether their class exists.
            for key in instances.instances_for_class(str(obj["metadata"]["name"])):
                instance_queue.request(*key)
        # A child edited or deleted by hand brings its owner back to the desired state;
        # StatefulSet and pod progress reach the instance's status.
        if kind in gateway_children:
            owner = gateway_of(obj, gateways_named)
            if owner is not None:
                gateway_queue.request(*owner)
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if kind in instance_children and labels.get(NAME_LABEL) == APP:
            for key in instances.instances_for(obj):
                instance_queue.request(*key)

    return changed


def request_for(queue: Scheduler, obj: Mapping[str, Any]) -> None:
    """Request a reconcile of a gateway or an instance after a change of its own."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    # An object being deleted waits on our finalizer: no coalescing delay for it.
    deleting = bool(metadata.get("deletionTimestamp"))
    # A spec change or a deletion (the API server bumps the generation for both) is news to a
    # status that describes an older generation.
    news = metadata.get("generation") != status.get("observedGeneration")
    queue.request(
        str(metadata.get("namespace") or ""),
        str(metadata["name"]),
        after=0 if deleting else None,
        news=news,
    )
