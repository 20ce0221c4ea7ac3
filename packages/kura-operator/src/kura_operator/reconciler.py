"""What the reconcilers of every kind share: their collaborators, one reconcile at a time per
object, the reconcile metrics, log lines that name the object being reconciled, and API errors
shown on the object (:mod:`kura_operator.failures`)."""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from kura_core import (
    DEFAULT_INGRESS_PROVIDER,
    DEFAULT_LOAD_BALANCER_PROVIDER,
    IngressProvider,
    Kind,
    LoadBalancerProvider,
    PluginHost,
    Region,
    RegionCatalog,
)
from kura_kube import KubeError
from kura_operator.conditions import ERROR, failure_status
from kura_operator.failures import Failure, already_shown, describe, presented, shown
from kura_operator.kube import KubeApi
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import object_ref
from kura_operator.settings import OperatorSettings
from kura_operator.writer import Log, Writer, now_utc

REGION_NOT_IN_CATALOG = "RegionNotInCatalog"


@dataclass
class Trouble:
    """An object's reconciles failing in a row, and the failure last posted as an Event."""

    failures: int = 0
    posted: Failure | None = None


def owned_by(obj: Mapping[str, Any], uid: str | None) -> bool:
    """Whether ``obj`` carries an owner reference to the object of ``uid``."""
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return uid is not None and any(ref.get("uid") == uid for ref in references)


class Reconciler(abc.ABC):
    """Converges objects of :attr:`kind`; subclasses implement :meth:`_reconcile`."""

    kind: ClassVar[Kind]

    def __init__(
        self,
        api: KubeApi,
        host: PluginHost,
        catalog: RegionCatalog,
        settings: OperatorSettings,
        metrics: OperatorMetrics,
        *,
        instance: str = "kura-operator",
        clock: Callable[[], datetime] = now_utc,
        logger: logging.Logger | None = None,
    ) -> None:
        self.api = api
        self.host = host
        self.catalog = catalog
        self.settings = settings
        self.metrics = metrics
        self.instance = instance
        self.clock = clock
        self.log = logger or logging.getLogger(f"kura_operator.{self.kind.kind.lower()}")
        self.writer = Writer(
            api, instance=instance, clock=clock, take_over_from=settings.take_over_field_managers
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._troubles: dict[str, Trouble] = {}
        self._served: dict[Kind, bool] = {}
        # Objects whose children of every provider's kinds this process has pruned. The catalog,
        # and so a region's provider, changes only with a restart: the first reconcile after
        # one is where another provider's children can be left over.
        self.swept: set[tuple[str, str]] = set()

    async def serves(self, kind: Kind) -> bool:
        """Whether the cluster serves ``kind``, asked once per process."""
        if kind not in self._served:
            self._served[kind] = await self.api.serves(kind)
        return self._served[kind]

    def should_prune(self, raw: Mapping[str, Any]) -> bool:
        """Prune children no longer rendered: after a spec change, and once per process where a
        region may have changed provider."""
        metadata = raw["metadata"]
        key = (str(metadata.get("namespace") or ""), str(metadata["name"]))
        changed = metadata.get("generation") != (raw.get("status") or {}).get("observedGeneration")
        return changed or (self.settings.gateway_api and key not in self.swept)

    async def reconcile(self, namespace: str, name: str) -> str | None:
        """Converge one object; returns its phase, or ``None`` when it is gone or going."""
        key = f"{namespace}/{name}"
        started = time.perf_counter()
        result = "error"
        try:
            async with self._locks.setdefault(key, asyncio.Lock()):
                log: Log = logging.LoggerAdapter(
                    self.log, {"k8s_ref": object_ref(self.kind, namespace, name)}
                )
                try:
                    phase = await self._reconcile(namespace, name, key, log)
                except KubeError as exc:
                    await self._show_failure(namespace, name, exc, log)
                    raise
                self._troubles.pop(key, None)
            result = "invalid" if phase == ERROR else "ok"
            return phase
        except KubeError as exc:
            result = "retry" if exc.transient else "error"
            raise
        finally:
            self.metrics.reconciles.labels(kind=self.kind.kind, result=result).inc()
            self.metrics.reconcile_duration.labels(kind=self.kind.kind).observe(
                time.perf_counter() - started
            )

    # --- the region catalog: defaults and warnings, never a veto ------------------------------

    def catalog_region(self, region_id: str) -> Region | None:
        """The catalog's entry for ``region_id``; ``None`` when the catalog lacks it.

        Like upstream's controller, the operator reconciles a region it does not know from the
        object alone: the catalog only adds defaults (providers, a load balancer's location).
        """
        return self.catalog.get(region_id) if region_id in self.catalog else None

    def ingress_provider(self, region: Region | None) -> IngressProvider:
        return self.host.ingress_provider(
            region.ingress_provider if region else DEFAULT_INGRESS_PROVIDER
        )

    def load_balancer_provider(self, region: Region | None) -> LoadBalancerProvider:
        name = region.load_balancer_provider if region else DEFAULT_LOAD_BALANCER_PROVIDER
        return self.host.load_balancer_provider(name)

    async def warn_uncatalogued(self, raw: Mapping[str, Any], region_id: str, log: Log) -> None:
        """Say once per spec generation that the object's region is not in the catalog."""
        if region_id in self.catalog:
            return
        offered = ", ".join(self.catalog.ids) or "none"
        await self.warn_per_generation(
            raw,
            REGION_NOT_IN_CATALOG,
            f"region {region_id!r} is not in the operator's catalog for env "
            f"{self.settings.env!r} (offered: {offered}): reconciled from the object alone, "
            f"with the default providers {DEFAULT_INGRESS_PROVIDER} and "
            f"{DEFAULT_LOAD_BALANCER_PROVIDER}",
            log,
        )

    async def warn_per_generation(
        self, raw: Mapping[str, Any], reason: str, message: str, log: Log
    ) -> None:
        """One Warning Event the first time a spec generation is reconciled, not every pass."""
        generation = (raw.get("metadata") or {}).get("generation")
        observed = (raw.get("status") or {}).get("observedGeneration")
        if generation is None or observed != generation:
            await self.writer.warn(raw, reason, message, log)

    @abc.abstractmethod
    async def _reconcile(self, namespace: str, name: str, key: str, log: Log) -> str | None:
        """One pass over the object ``key`` (``namespace/name``), logging through ``log``."""

    @abc.abstractmethod
    async def _serving(self, raw: Mapping[str, Any]) -> str | None:
        """How the object's existing children still serve (``2/2 replicas ready``), or None."""

    @abc.abstractmethod
    def _record_phase(self, key: str, phase: str | None) -> None:
        """The object's phase in the metrics (None: it is gone)."""

    async def _write_status(
        self,
        raw: Mapping[str, Any],
        status: dict[str, Any],
        log: Log,
        *,
        removable: tuple[str, ...] = (),
        announce: bool = True,
    ) -> None:
        key = f"{raw['metadata']['namespace']}/{raw['metadata']['name']}"
        await self.writer.write_status(
            self.kind,
            raw,
            status,
            log,
            removable=removable,
            on_phase=lambda phase: self._record_phase(key, phase),
            announce=announce,
        )

    async def _show_failure(self, namespace: str, name: str, error: KubeError, log: Log) -> None:
        """Put ``error`` in the object's status, once it is to be shown, and post one Warning
        Event per distinct failure (the status remembers it across restarts)."""
        trouble = self._troubles.setdefault(f"{namespace}/{name}", Trouble())
        trouble.failures += 1
        if not shown(error, trouble.failures):
            return
        failure = describe(error, retry_seconds=self.settings.permanent_error_retry_seconds)
        try:
            raw = await self.api.get(self.kind, namespace, name)
        except KubeError as again:
            log.warning("cannot show the failure in the status: %s", again)
            return
        if raw is None:
            return
        deleting = bool(raw["metadata"].get("deletionTimestamp"))
        try:
            serving = None if deleting else await self._serving(raw)
        except KubeError:
            serving = None  # what cannot be read is not known to serve
        phase, message = presented(failure, deleting=deleting, serving=serving)
        old = raw.get("status") or {}
        status = failure_status(
            raw, phase=phase, reason=failure.reason, message=message, now=self.clock()
        )
        try:
            await self._write_status(raw, status, log, announce=False)
        except KubeError as again:
            log.warning("cannot show the failure in the status: %s", again)
        if trouble.posted == failure or already_shown(old, failure):
            return
        trouble.posted = failure
        previous = old.get("phase")
        was = f" (was {previous})" if previous and previous != phase else ""
        await self.writer.warn(raw, failure.reason, f"{phase}{was}: {message}", log)
