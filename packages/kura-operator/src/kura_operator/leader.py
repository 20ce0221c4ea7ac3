"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics, so that
kura operators, and kura's next to a Go controller built on controller-runtime (``--leader-elect``),
never reconcile at the same time.

* The Lease's spec is client-go's record: ``holderIdentity``, ``leaseDurationSeconds``,
  ``acquireTime`` and ``renewTime`` (MicroTime: RFC 3339 in UTC with microseconds) and
  ``leaseTransitions``, counted up by every change of holder.
* A candidate takes the Lease only once it has expired *as this process saw it*: the holder's
  ``leaseDurationSeconds`` after this process last saw the record change, on its own monotonic
  clock. ``renewTime`` was written by another machine's clock and is never compared with ours.
* Every write is a PUT with the resourceVersion last read, so of two candidates racing for an
  expired Lease exactly one wins; the other gets 409.
* The holder renews every retry period. It is the leader only until the renew deadline after the
  start of its last successful write, which ends before any candidate may take over (the deadline
  is shorter than the lease duration); past it, or on seeing another holder, it has lost.
* On a clean stop it releases the Lease (client-go's ReleaseOnCancel): no holder and a duration
  of 1 s, so a standby takes over at its next try rather than a lease duration later.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from kura_core import LEASE, KuraError
from kura_kube import KubeError
from kura_operator.kube import KubeApi

# client-go's and controller-runtime's defaults.
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
# A candidate tries again after one to 1 + JITTER retry periods (client-go's JitterUntil), so
# candidates started together do not keep colliding.
JITTER = 1.2


class LeadershipLost(KuraError):
    """This operator lost its Lease: it has stopped writing and exits so that its pod restarts."""

    exit_code = 1


def new_identity() -> str:
    """``<hostname>_<uuid>``, as controller-runtime names a candidate: unique per process, so a
    restarted container waits for its predecessor's lease to expire like any other candidate."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime, as client-go writes one: ``2026-01-02T03:04:05.000006Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease's spec says about its holder: client-go's LeaderElectionRecord."""

    holder: str
    duration: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int

    @classmethod
    def of(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        """The record of a Lease as any client wrote it; what is missing reads as zero."""
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration=_count(spec.get("leaseDurationSeconds")),
            acquire_time=_time(spec.get("acquireTime")),
            renew_time=_time(spec.get("renewTime")),
            transitions=_count(spec.get("leaseTransitions")),
        )

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration,
            "leaseTransitions": self.transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = micro_time(self.renew_time)
        return spec


class Lock(Protocol):
    """Where the record lives; ``str()`` names it for messages."""

    async def get(self) -> dict[str, Any] | None: ...

    async def create(self, record: LeaseRecord) -> dict[str, Any]: ...

    async def update(self, lease: Mapping[str, Any], record: LeaseRecord) -> dict[str, Any]: ...


class LeaseLock:
    """The Lease ``namespace/name``, read and written through ``api``."""

    def __init__(self, api: KubeApi, namespace: str, name: str) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> dict[str, Any] | None:
        return await self.api.get(LEASE, self.namespace, self.name)

    async def create(self, record: LeaseRecord) -> dict[str, Any]:
        return await self.api.create(
            {
                "apiVersion": LEASE.api_version,
                "kind": LEASE.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": record.spec(),
            }
        )

    async def update(self, lease: Mapping[str, Any], record: LeaseRecord) -> dict[str, Any]:
        """PUT the record into ``lease`` as last read: 409 if the Lease changed since. Fields
        of the spec that are not the record's (newer Kubernetes has some) are kept."""
        spec = {**(lease.get("spec") or {}), **record.spec()}
        return await self.api.replace({**lease, "spec": spec})


def _now() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """One candidate for the Lease behind ``lock``: :meth:`acquire`, then :meth:`hold` until it
    is lost, and :meth:`release` on a clean stop. :meth:`leading` guards every write."""

    def __init__(
        self,
        lock: Lock,
        identity: str,
        *,
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        logger: logging.Logger | None = None,
    ) -> None:
        self.lock = lock
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.jitter = jitter
        self.log = logger or logging.getLogger("kura_operator.leader")
        # The Lease as last read or written (its resourceVersion goes with the next write), its
        # record, and when this process saw that record first, on its own clock.
        self._lease: Mapping[str, Any] | None = None
        self._observed: LeaseRecord | None = None
        self._observed_at = -math.inf
        # Leading ends here: the renew deadline after the start of the last successful write.
        self._valid_until = -math.inf

    def leading(self) -> bool:
        """Whether this process holds the Lease now; false from the renew deadline on, even
        when nothing has run since to notice. Every write asks it first."""
        mine = self._observed is not None and self._observed.holder == self.identity
        return mine and self.clock() < self._valid_until

    @property
    def holder(self) -> str | None:
        """Another process holding the Lease, as last seen, until its lease would expire."""
        record = self._observed
        if record is None or record.holder in ("", self.identity):
            return None
        return record.holder if self.clock() < self._observed_at + record.duration else None

    def standing_by(self) -> str:
        """Why this process does not reconcile, for ``/readyz``."""
        holder = self.holder
        return (
            f"{holder} holds the lease {self.lock}"
            if holder
            else f"waiting for the lease {self.lock}"
        )

    @property
    def transitions(self) -> int:
        return 0 if self._observed is None else self._observed.transitions

    def _observe(self, lease: Mapping[str, Any]) -> None:
        record = LeaseRecord.of(lease)
        self._lease = lease
        if record == self._observed:
            return
        before = None if self._observed is None else self._observed.holder
        if record.holder not in ("", self.identity, before):
            self.log.info("standby: %s holds the lease %s", record.holder, self.lock)
        self._observed, self._observed_at = record, self.clock()

    def _won(self, lease: Mapping[str, Any], started: float) -> bool:
        self._observe(lease)
        self._valid_until = started + self.renew_deadline
        return True

    def _kept(self, mine: LeaseRecord, theirs: LeaseRecord) -> LeaseRecord:
        """A renewal keeps the acquire time and the transitions."""
        return replace(mine, acquire_time=theirs.acquire_time, transitions=theirs.transitions)

    async def try_acquire_or_renew(self) -> bool:
        """One try, as client-go's: renew the Lease this process holds, or take it when it is
        free or has expired; False while another holds it. API errors propagate."""
        started = self.clock()
        now = self.wall()
        mine = LeaseRecord(self.identity, int(self.lease_duration), now, now, 0)
        if self._lease is not None and self._observed is not None and self.leading():
            # The Lease is most likely as this process last wrote it: no read needed.
            try:
                renewed = self._kept(mine, self._observed)
                return self._won(await self.lock.update(self._lease, renewed), started)
            except KubeError as exc:
                self.log.debug("renewing %s from memory failed (%s); reading it", self.lock, exc)
        lease = await self.lock.get()
        if lease is None:
            return self._won(await self.lock.create(mine), started)
        self._observe(lease)
        theirs = LeaseRecord.of(lease)
        if theirs.holder == self.identity:
            mine = self._kept(mine, theirs)
        elif theirs.holder and self.clock() < self._observed_at + theirs.duration:
            return False
        else:
            mine = replace(mine, transitions=theirs.transitions + 1)
        return self._won(await self.lock.update(lease, mine), started)

    async def _try(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return await self.try_acquire_or_renew()
        except KubeError as exc:
            # 409: another candidate wrote first, which the next try reads.
            if exc.status != 409:
                self.log.warning("leader election on the lease %s: %s", self.lock, exc)
        except TimeoutError:
            self.log.warning("leader election: no answer about the lease %s in time", self.lock)
        return False

    async def acquire(self) -> None:
        """Try until this process holds the Lease."""
        while not await self._try(self.renew_deadline):
            await self.sleep(self.retry_period * (1 + self.jitter() * JITTER))
        self.log.info(
            "leader: holds the lease %s as %s (leaseTransitions %d)",
            self.lock,
            self.identity,
            self.transitions,
        )

    async def hold(self) -> str:
        """Renew every retry period while leading; return why the Lease was lost."""
        while True:
            await self.sleep(self.retry_period)
            while True:
                left = self._valid_until - self.clock()
                if left <= 0:
                    return f"not renewed within the renew deadline of {self.renew_deadline:g}s"
                if await self._try(left):
                    break
                holder = "" if self._observed is None else self._observed.holder
                if holder != self.identity:
                    return f"{holder or 'nobody'} holds it now"
                await self.sleep(self.retry_period)

    async def release(self) -> None:
        """Give the Lease up if this process still holds it: no holder, a duration of 1 s and
        the transitions kept, as client-go's ReleaseOnCancel does."""
        if self._observed is None or self._observed.holder != self.identity:
            return
        # Writes stop before the Lease goes.
        self._valid_until = -math.inf
        try:
            async with asyncio.timeout(self.renew_deadline):
                lease = await self.lock.get()
                if lease is None or LeaseRecord.of(lease).holder != self.identity:
                    return
                held = LeaseRecord.of(lease)
                now = self.wall()
                released = LeaseRecord("", 1, now, now, held.transitions)
                self._observe(await self.lock.update(lease, released))
        except (KubeError, TimeoutError) as exc:
            self.log.warning(
                "could not release the lease %s (another candidate takes it once it expires): %s",
                self.lock,
                str(exc) or "no answer in time",
            )
            return
        self.log.info("released the lease %s", self.lock)
