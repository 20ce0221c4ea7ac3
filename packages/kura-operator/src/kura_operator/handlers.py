"""kopf glue: which events reach the reconcilers.

Level-triggered: every event of a gateway or an instance, or of one of their children,
including the ones kopf emits for what exists when the operator starts, only *requests* a
reconcile from that kind's :class:`~kura_operator.scheduler.Scheduler`, which coalesces,
serialises and retries them. The reconcile reads the whole live state, so it needs no diff of
what changed.

kopf's change handlers (``on.create``/``on.update``/``on.resume``) are deliberately not used:
kopf persists its diff base (``last-handled-configuration``) on every handled change and its
handler progress on every retry, as annotation writes on the object. With plain event handlers
kopf writes nothing at all, so a restart over unchanged objects and a ``--dry-run`` send no
write requests, and one retry policy (the scheduler's) covers every path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import kopf

from kura_core import GROUP, VERSION
from kura_operator.gateway import GATEWAY_CHILD_KINDS, GATEWAY_LABEL, GatewayReconciler
from kura_operator.instance import InstanceReconciler
from kura_operator.instance_layout import APP, INSTANCE_LABEL, MANAGED_BY_LABEL, NAME_LABEL
from kura_operator.instance_layout import MANAGED_BY as MANAGER
from kura_operator.kinds import (
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
    LISTENER_SET,
    NETWORK_POLICY,
    POD,
    POD_DISRUPTION_BUDGET,
    SERVICE,
    STATEFUL_SET,
    Kind,
)
from kura_operator.kube import ApiError
from kura_operator.scheduler import Scheduler

MANAGED_BY = {MANAGED_BY_LABEL: MANAGER}
# Which of our objects are a gateway's children, and which an instance's.
GATEWAY_CHILD = {**MANAGED_BY, GATEWAY_LABEL: kopf.PRESENT}
INSTANCE_CHILD = {**MANAGED_BY, NAME_LABEL: APP}
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


def build_registry(
    gateways: GatewayReconciler,
    gateway_queue: Scheduler,
    instances: InstanceReconciler,
    instance_queue: Scheduler,
    logger: logging.Logger,
    *,
    gateway_api: bool = False,
) -> kopf.OperatorRegistry:
    """The handlers of one operator, on their own registry (no module-level state).

    ``gateway_api``: some region's ingress provider is the Gateway API one, so its kinds are
    watched too."""
    registry = kopf.OperatorRegistry()

    # In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.event(GROUP, VERSION, "kuragateways", registry=registry, id="gateway")
    async def gateway_event(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> None:
        request_for(gateway_queue, namespace, name, body)

    @kopf.on.event(GROUP, VERSION, "kurainstances", registry=registry, id="instance")
    async def instance_event(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> None:
        request_for(instance_queue, namespace, name, body)

    async def gateway_child_changed(body: kopf.Body, **_: Any) -> None:
        try:
            owner = await gateways.owner_of(body)
        except ApiError as exc:
            # Only a cluster-scoped class needs a lookup; the next resync covers it.
            logger.warning(
                "cannot find the gateway of a changed child: %s",
                exc,
                extra={"k8s_ref": {"kind": body.get("kind"), "name": body.metadata.name}},
            )
            return
        if owner is not None:
            gateway_queue.request(*owner)

    # A child edited or deleted by hand brings its gateway back to the desired state.
    watch(registry, GATEWAY_CHILD_KINDS, GATEWAY_CHILD, "child", gateway_child_changed)

    # A class appears (a gateway became ready to route), goes or is edited: its gateway, and
    # the instances routed through it, whose status says whether their class exists.
    # A Gateway API Gateway carries its class's name and its gateway's status the same way.
    async def class_changed(body: kopf.Body, name: str, **_: Any) -> None:
        for key in instances.instances_for_class(name):
            instance_queue.request(*key)
        labels = body.metadata.labels
        if labels.get(GATEWAY_LABEL) and all(labels.get(k) == v for k, v in MANAGED_BY.items()):
            await gateway_child_changed(body)

    async def instance_child_changed(body: kopf.Body, **_: Any) -> None:
        for key in instances.instances_for(body):
            instance_queue.request(*key)

    # Hand edits are undone, StatefulSet progress reaches the status, and a primary pod that
    # stops being Ready hands the traffic over at once.
    watch(registry, INSTANCE_CHILDREN, INSTANCE_CHILD, "instance-child", instance_child_changed)
    kopf.on.event(
        POD.group,
        POD.version,
        POD.plural,
        labels={NAME_LABEL: APP, INSTANCE_LABEL: kopf.PRESENT},
        registry=registry,
        id="instance-pods",
    )(instance_child_changed)
    if gateway_api:
        parents: tuple[Kind, ...] = (INGRESS_CLASS, GATEWAY)
        watch(registry, GATEWAY_API_GATEWAY_CHILDREN, GATEWAY_CHILD, "child", gateway_child_changed)
        instance_children = GATEWAY_API_INSTANCE_CHILDREN
        watch(registry, instance_children, INSTANCE_CHILD, "instance-child", instance_child_changed)
    else:
        parents = (INGRESS_CLASS,)
    for kind in parents:
        kopf.on.event(
            kind.group, kind.version, kind.plural, registry=registry, id=f"child-{kind.plural}"
        )(class_changed)
    return registry


def watch(
    registry: kopf.OperatorRegistry,
    kinds: Iterable[Kind],
    labels: Mapping[str, Any],
    prefix: str,
    handler: Callable[..., Awaitable[None]],
) -> None:
    """Every event of ``kinds``' objects carrying ``labels`` goes to ``handler``."""
    for kind in kinds:
        kopf.on.event(
            kind.group,
            kind.version,
            kind.plural,
            labels=dict(labels),
            registry=registry,
            id=f"{prefix}-{kind.plural}",
        )(handler)


def request_for(queue: Scheduler, namespace: str | None, name: str, body: kopf.Body) -> None:
    """Request a reconcile of a gateway or an instance after an event of its own."""
    # An object being deleted waits on our finalizer: no coalescing delay for it.
    deleting = bool(body.metadata.get("deletionTimestamp"))
    # A spec change or a deletion (the API server bumps the generation for both) is news to a
    # status that describes an older generation.
    news = body.metadata.get("generation") != body.status.get("observedGeneration")
    queue.request(namespace or "", name, after=0 if deleting else None, news=news)


def kopf_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # We post one event per phase change ourselves; kopf's per-handler events are noise.
    settings.posting.enabled = False
    return settings
