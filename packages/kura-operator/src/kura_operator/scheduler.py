"""Coalesced, retried reconcile requests for events that kopf does not retry for us.

Child events and the periodic resync only *request* a reconcile of a gateway: requests for a
gateway that already has one pending are dropped, so a burst of child events costs one
reconcile. A retryable API error schedules the gateway again with exponential backoff (or the
server's Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kura_operator.kube import ApiError

Reconcile = Callable[[str, str], Awaitable[object]]


class Scheduler:
    def __init__(
        self,
        reconcile: Reconcile,
        *,
        delay: float = 0.2,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        concurrency: int = 16,
        logger: logging.Logger | None = None,
    ) -> None:
        self.reconcile = reconcile
        self.delay = delay
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.log = logger or logging.getLogger("kura_operator.scheduler")
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        # A resync of many gateways must not open one request per gateway at the same time.
        self._slots = asyncio.Semaphore(concurrency)

    def request(self, namespace: str, name: str, *, after: float | None = None) -> None:
        key = (namespace, name)
        if key in self._pending:
            return
        wait = self.delay if after is None else after
        self._pending[key] = asyncio.create_task(self._run(key, wait))

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _run(self, key: tuple[str, str], wait: float) -> None:
        await asyncio.sleep(wait)
        async with self._slots:
            del self._pending[key]
            await self._attempt(key)

    async def _attempt(self, key: tuple[str, str]) -> None:
        try:
            await self.reconcile(*key)
        except ApiError as exc:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            retry = exc.retry_after
            if retry is None:
                retry = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
            self.log.warning(
                "reconcile failed, retrying in %.1fs: %s",
                retry,
                exc,
                extra={"object": f"{key[0]}/{key[1]}"},
            )
            self.request(*key, after=retry)
        except Exception:
            self.log.exception("reconcile crashed", extra={"object": f"{key[0]}/{key[1]}"})
        else:
            self._failures.pop(key, None)

    async def close(self) -> None:
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()
