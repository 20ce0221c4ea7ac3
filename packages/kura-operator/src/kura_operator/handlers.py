"""kopf glue: which events reach the reconciler.

Level-triggered: every event of a gateway or of one of its children, including the ones kopf
emits for what exists when the operator starts, only *requests* a reconcile from the
:class:`~kura_operator.scheduler.Scheduler`, which coalesces, serialises and retries them. The
reconcile reads the whole live state, so it needs no diff of what changed.

kopf's change handlers (``on.create``/``on.update``/``on.resume``) are deliberately not used:
kopf persists its diff base (``last-handled-configuration``) on every handled change and its
handler progress on every retry, as annotation writes on the gateway. With plain event
handlers kopf writes nothing at all, so a restart over unchanged gateways and a ``--dry-run``
send no write requests, and one retry policy (the scheduler's) covers every path.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from kura_core.resources import GROUP, VERSION
from kura_operator.gateway import GATEWAY_LABEL, GatewayReconciler
from kura_operator.kinds import CONFIG_MAP, DEPLOYMENT, INGRESS_CLASS, SERVICE
from kura_operator.kube import ApiError
from kura_operator.scheduler import Scheduler

MANAGED_BY = {"app.kubernetes.io/managed-by": "kura-controller"}


def build_registry(
    reconciler: GatewayReconciler, scheduler: Scheduler, logger: logging.Logger
) -> kopf.OperatorRegistry:
    """The handlers of one operator, on their own registry (no module-level state)."""
    registry = kopf.OperatorRegistry()

    # In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.event(GROUP, VERSION, "kuragateways", registry=registry, id="gateway")
    async def gateway_event(namespace: str | None, name: str, meta: kopf.Meta, **_: Any) -> None:
        # A gateway being deleted waits on our finalizer: no coalescing delay for it.
        deleting = bool(meta.get("deletionTimestamp"))
        scheduler.request(namespace or "", name, after=0 if deleting else None)

    async def child_changed(body: kopf.Body, **_: Any) -> None:
        try:
            owner = await reconciler.owner_of(body)
        except ApiError as exc:
            # Only a cluster-scoped class needs a lookup; the next resync covers it.
            logger.warning(
                "cannot find the gateway of a changed child: %s",
                exc,
                extra={"k8s_ref": {"kind": body.get("kind"), "name": body.metadata.name}},
            )
            return
        if owner is not None:
            scheduler.request(*owner)

    # A child edited or deleted by hand brings its gateway back to the desired state.
    for kind in (CONFIG_MAP, SERVICE, DEPLOYMENT, INGRESS_CLASS):
        kopf.on.event(
            kind.group,
            kind.version,
            kind.plural,
            labels={**MANAGED_BY, GATEWAY_LABEL: kopf.PRESENT},
            registry=registry,
            id=f"child-{kind.plural}",
        )(child_changed)

    return registry


def kopf_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # We post one event per phase change ourselves; kopf's per-handler events are noise.
    settings.posting.enabled = False
    return settings
