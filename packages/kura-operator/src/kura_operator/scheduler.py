"""Coalesced, serialised, retried reconcile requests: the operator's one work queue.

Every event (of a gateway or an instance, of one of its children) and every resync only *requests*
a reconcile. One scheduler serves one kind; per object, at most one reconcile runs and at most one
more waits: a request made while one
is already waiting is dropped, so a burst of events costs one reconcile; a request made while a
reconcile runs waits for it, because that reconcile may have read the state before the news.
A failed reconcile schedules the object again with exponential backoff, or after the server's
Retry-After when it sent one, or, when the server refused the request for good (a permanent
:class:`~kura_operator.kube.KubeError`: 403, 422, …), after the slow ``permanent_retry``. Events
that arrive meanwhile do not cut the wait short, except news of the object itself (a spec
change, a deletion) during a slow retry's wait: what failed may no longer be asked for.
While the ``gate`` is closed (the operator does not hold its leader Lease) nothing runs: requests
are dropped, whenever they were made, since the leader reconciles everything anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kura_core import KURA_GATEWAY, Kind
from kura_kube import KubeError

Reconcile = Callable[[str, str], Awaitable[object]]
Key = tuple[str, str]


def object_ref(kind: Kind, namespace: str, name: str) -> dict[str, Any]:
    """The object reference of a log line, for ``extra={"k8s_ref": ...}``: kopf's JSON
    formatter, which the operator's log uses, writes it under ``object``."""
    return {"apiVersion": kind.api_version, "kind": kind.kind, "name": name, "namespace": namespace}


class Scheduler:
    def __init__(
        self,
        reconcile: Reconcile,
        *,
        delay: float = 0.2,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        permanent_retry: float = 300.0,
        concurrency: int = 16,
        kind: Kind = KURA_GATEWAY,
        slots: asyncio.Semaphore | None = None,
        gate: Callable[[], bool] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """``slots`` bounds concurrent reconciles; schedulers of several kinds may share it.
        ``gate``, when given, says whether reconciles may run now."""
        self.reconcile = reconcile
        self.gate = gate
        self.delay = delay
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.permanent_retry = permanent_retry
        self.kind = kind
        self.log = logger or logging.getLogger("kura_operator.scheduler")
        # Requested and not started yet; a key leaves it when its reconcile starts.
        self._waiting: dict[Key, asyncio.Task[None]] = {}
        self._running: dict[Key, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[Key, int] = {}
        # Waiting out the slow retry of a permanent failure.
        self._slow: set[Key] = set()
        # A resync of many objects must not open one request per object at the same time.
        self._slots = slots if slots is not None else asyncio.Semaphore(concurrency)

    def request(
        self, namespace: str, name: str, *, after: float | None = None, news: bool = False
    ) -> None:
        """Reconcile the object ``after`` seconds from now (default: the coalescing delay).

        ``news``: the object asks for something its status does not describe yet (a new
        generation); it replaces a slow retry's wait, not a backoff's.
        """
        key = (namespace, name)
        if not self.open:
            return
        if key in self._waiting:
            if not (news and key in self._slow):
                return
            self._waiting.pop(key).cancel()
        self._slow.discard(key)
        wait = self.delay if after is None else after
        task = asyncio.create_task(self._run(key, wait))
        self._waiting[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def open(self) -> bool:
        return self.gate is None or self.gate()

    @property
    def pending(self) -> int:
        """Requests not started yet."""
        return len(self._waiting)

    def failures(self, namespace: str, name: str) -> int:
        """Consecutive failed reconciles of one object (0 after a success)."""
        return self._failures.get((namespace, name), 0)

    async def _run(self, key: Key, wait: float) -> None:
        await asyncio.sleep(wait)
        lock = self._running.setdefault(key, asyncio.Lock())
        async with lock:
            # From here on a new request waits behind this one: it may carry news we do not read.
            del self._waiting[key]
            async with self._slots:
                # The gate may have closed while this request waited.
                if self.open:
                    await self._attempt(key)
        # Only a waiting request can still hold this lock; with none, forget it.
        if key not in self._waiting:
            self._running.pop(key, None)

    async def _attempt(self, key: Key) -> None:
        ref = {"k8s_ref": object_ref(self.kind, *key)}
        try:
            await self.reconcile(*key)
        except Exception as exc:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            retry = exc.retry_after if isinstance(exc, KubeError) else None
            if isinstance(exc, KubeError) and not exc.transient:
                retry = self.permanent_retry
            elif retry is None:
                retry = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
            if isinstance(exc, KubeError):
                self.log.warning("reconcile failed, retrying in %.1fs: %s", retry, exc, extra=ref)
            else:
                # A bug, or a plugin's: the traceback is the report; retrying keeps the rest going.
                self.log.exception("reconcile crashed, retrying in %.1fs", retry, extra=ref)
            # The backoff holds even under a stream of events: it replaces a waiting request.
            waiting = self._waiting.pop(key, None)
            if waiting is not None:
                waiting.cancel()
            self.request(*key, after=retry)
            if isinstance(exc, KubeError) and not exc.transient:
                self._slow.add(key)
        else:
            self._failures.pop(key, None)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._waiting.clear()
        self._running.clear()
        self._slow.clear()
