"""kopf glue: which events reach the reconciler, and how failures are retried."""

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
# Back off harder when the API refuses us outright: retrying a 403 every second helps no one.
DEFAULT_RETRY_DELAY = 5.0
REFUSED_RETRY_DELAY = 60.0


def _temporary(exc: ApiError) -> kopf.TemporaryError:
    delay = exc.retry_after
    if delay is None:
        delay = REFUSED_RETRY_DELAY if exc.status in (401, 403) else DEFAULT_RETRY_DELAY
    return kopf.TemporaryError(str(exc), delay=delay)


def build_registry(
    reconciler: GatewayReconciler, scheduler: Scheduler, logger: logging.Logger
) -> kopf.OperatorRegistry:
    """The handlers of one operator, on their own registry (no module-level state)."""
    registry = kopf.OperatorRegistry()

    # In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.resume(GROUP, VERSION, "kuragateways", registry=registry)
    @kopf.on.create(GROUP, VERSION, "kuragateways", registry=registry)
    @kopf.on.update(GROUP, VERSION, "kuragateways", registry=registry)
    async def gateway_changed(namespace: str | None, name: str, **_: Any) -> None:
        try:
            await reconciler.reconcile(namespace or "", name)
        except ApiError as exc:
            raise _temporary(exc) from exc

    # Deletion: our finalizer keeps the object until the reconcile has cleaned up. kopf's own
    # delete handlers would need kopf's finalizer, so deletions come in as plain events.
    @kopf.on.event(
        GROUP,
        VERSION,
        "kuragateways",
        when=lambda meta, **_: bool(meta.get("deletionTimestamp")),
        registry=registry,
    )
    async def gateway_deleting(namespace: str | None, name: str, **_: Any) -> None:
        scheduler.request(namespace or "", name, after=0)

    async def child_changed(body: kopf.Body, **_: Any) -> None:
        try:
            owner = await reconciler.owner_of(body)
        except ApiError as exc:
            logger.warning("cannot find the gateway of a changed child: %s", exc)
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
    # kopf's bookkeeping lives under our own prefix, not kopf.zalando.org.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="kura.tuist.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="kura.tuist.dev", key="last-handled-configuration"
    )
    # We post one event per phase change ourselves; kopf's per-handler events are noise.
    settings.posting.enabled = False
    return settings
