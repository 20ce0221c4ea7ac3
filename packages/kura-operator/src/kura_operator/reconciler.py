"""What the reconcilers of every kind share: their collaborators, one reconcile at a time per
object, the reconcile metrics, and log lines that name the object being reconciled."""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from kura_core.plugins import PluginHost
from kura_core.regions import RegionCatalog
from kura_operator.conditions import ERROR
from kura_operator.kinds import Kind
from kura_operator.kube import ApiError, KubeApi
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import object_ref
from kura_operator.settings import OperatorSettings
from kura_operator.writer import Log, Writer, now_utc


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
                phase = await self._reconcile(namespace, name, key, log)
            result = "invalid" if phase == ERROR else "ok"
            return phase
        except ApiError as exc:
            result = "retry" if exc.retryable else "error"
            raise
        finally:
            self.metrics.reconciles.labels(kind=self.kind.kind, result=result).inc()
            self.metrics.reconcile_duration.labels(kind=self.kind.kind).observe(
                time.perf_counter() - started
            )

    @abc.abstractmethod
    async def _reconcile(self, namespace: str, name: str, key: str, log: Log) -> str | None:
        """One pass over the object ``key`` (``namespace/name``), logging through ``log``."""
