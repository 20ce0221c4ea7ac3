"""Leader election on a Lease, without a server: client-go's rules on a fake clock and a Lease in
memory; then the Lease lock and the write guard on the wire, against the Kubernetes double."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kura_core import CONFIG_MAP, LEASE
from kura_kube import KubeError
from kura_kube.aio import connect
from kura_operator.kube import KubeApi
from kura_operator.leader import LeaderElector, LeaseLock, LeaseRecord, micro_time
from kura_operator.metrics import OperatorMetrics
from kura_testing.kube_double import KubeDouble

WALL = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
NAME = "kura/kura-controller.kura.tuist.dev"
UPSTREAM = "kura-controller-5d8c7b9f4-x2x7q_0b8e4c9e-8f5e-4f7c-9a51-3d7d2a1c6e10"


class Clock:
    """Monotonic seconds and wall time that move only when told (or when the elector sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return WALL + timedelta(seconds=self.now - 1000.0)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class MemoryLock:
    """One Lease in memory, as the API server keeps it: a resourceVersion per write, 409 on a
    stale one, and ``fail`` to answer every request with an error."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.reads = 0
        self.writes: list[dict[str, Any]] = []
        self.fail: KubeError | None = None

    def __str__(self) -> str:
        return NAME

    def _store(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        metadata = {"name": "kura-controller.kura.tuist.dev", "resourceVersion": str(self.version)}
        self.lease = {"metadata": metadata, "spec": spec}
        self.writes.append(copy.deepcopy(spec))
        return copy.deepcopy(self.lease)

    async def get(self) -> dict[str, Any] | None:
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        read = copy.deepcopy(self.lease)
        await asyncio.sleep(0)  # another candidate may run before the answer arrives
        return read

    async def create(self, record: LeaseRecord) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        if self.lease is not None:
            raise KubeError(409, "AlreadyExists", "leases already exists")
        return self._store(record.spec())

    async def update(self, lease: Mapping[str, Any], record: LeaseRecord) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        current = None if self.lease is None else self.lease["metadata"]["resourceVersion"]
        if lease["metadata"]["resourceVersion"] != current:
            raise KubeError(409, "Conflict", "the object has been modified")
        return self._store({**lease["spec"], **record.spec()})

    def hold_as(self, holder: str, *, duration: int = 15, transitions: int = 0) -> None:
        """Another process writes the Lease (its clock is its own: a renewTime an hour off),
        a new renewTime each time."""
        stamp = micro_time(WALL - timedelta(hours=1, seconds=-self.version))
        self._store(
            {
                "holderIdentity": holder,
                "leaseDurationSeconds": duration,
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": transitions,
            }
        )

    @property
    def spec(self) -> dict[str, Any]:
        assert self.lease is not None
        return dict(self.lease["spec"])


def elector(lock: MemoryLock, clock: Clock, identity: str = "me", **kwargs: Any) -> LeaderElector:
    return LeaderElector(
        lock,
        identity,
        clock=clock,
        wall=clock.wall,
        sleep=clock.sleep,
        jitter=lambda: 0.5,
        **kwargs,
    )


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


# --- the record -------------------------------------------------------------------------------


def test_times_are_micro_times_in_utc() -> None:
    later = datetime(2026, 1, 2, 4, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    assert micro_time(later) == "2026-01-02T03:04:05.000006Z"


def test_a_record_reads_what_a_go_controller_wrote() -> None:
    lease = {
        "spec": {
            "holderIdentity": UPSTREAM,
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-03-01T11:00:00.000000Z",
            "renewTime": "2026-03-01T11:59:58.123456Z",
            "leaseTransitions": 4,
        }
    }
    record = LeaseRecord.of(lease)
    assert (record.holder, record.duration, record.transitions) == (UPSTREAM, 15, 4)
    assert record.renew_time == datetime(2026, 3, 1, 11, 59, 58, 123456, tzinfo=UTC)
    assert record.spec() == lease["spec"]
    # A released or half-written Lease: no holder, and what is missing reads as zero.
    assert LeaseRecord.of({"spec": {"holderIdentity": ""}}) == LeaseRecord("", 0, None, None, 0)
    assert LeaseRecord.of({}) == LeaseRecord("", 0, None, None, 0)


# --- acquiring --------------------------------------------------------------------------------


def test_a_missing_lease_is_created_and_held() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        me = elector(lock, clock)
        assert not me.leading()
        assert await me.try_acquire_or_renew()
        assert lock.spec == {
            "holderIdentity": "me",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-03-01T12:00:00.250000Z",
            "renewTime": "2026-03-01T12:00:00.250000Z",
            "leaseTransitions": 0,
        }
        assert me.leading()

    run(scenario)


def test_a_held_lease_is_taken_only_a_lease_duration_after_this_process_saw_it() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as(UPSTREAM, transitions=4)
        me = elector(lock, clock)
        # Its renewTime is an hour old by our clock, but we only just saw it: not expired.
        assert not await me.try_acquire_or_renew()
        assert me.holder == UPSTREAM
        assert me.standing_by() == f"{UPSTREAM} holds the lease {NAME}"
        clock.advance(14.9)
        assert not await me.try_acquire_or_renew()
        assert len(lock.writes) == 1  # only the holder's own
        clock.advance(0.2)
        assert me.holder is None
        assert me.standing_by() == f"waiting for the lease {NAME}"
        assert await me.try_acquire_or_renew()
        spec = lock.spec
        assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("me", 5)
        assert spec["acquireTime"] == spec["renewTime"] == "2026-03-01T12:00:15.350000Z"
        assert me.leading()

    run(scenario)


def test_every_renewal_seen_restarts_the_wait() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as(UPSTREAM)
        me = elector(lock, clock)
        assert not await me.try_acquire_or_renew()
        clock.advance(10)
        lock.hold_as(UPSTREAM)  # the holder renews
        clock.advance(2)
        assert not await me.try_acquire_or_renew()  # seen 12 s after the first look
        clock.advance(14)
        assert not await me.try_acquire_or_renew()
        clock.advance(1.5)
        assert await me.try_acquire_or_renew()

    run(scenario)


def test_the_holders_lease_duration_counts_not_ours() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as(UPSTREAM, duration=60)
        me = elector(lock, clock)
        assert not await me.try_acquire_or_renew()
        clock.advance(30)
        assert not await me.try_acquire_or_renew()
        clock.advance(31)
        assert await me.try_acquire_or_renew()
        assert lock.spec["leaseDurationSeconds"] == 15

    run(scenario)


def test_a_released_lease_is_taken_at_once() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as("", duration=1, transitions=2)
        me = elector(lock, clock)
        assert await me.try_acquire_or_renew()
        assert (lock.spec["holderIdentity"], lock.spec["leaseTransitions"]) == ("me", 3)

    run(scenario)


def test_of_two_candidates_for_a_free_lease_exactly_one_wins() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as("", duration=1)
        a, b = elector(lock, clock, "a"), elector(lock, clock, "b")
        # Both read the free Lease before either writes; the second write is stale.
        results = await asyncio.gather(
            a.try_acquire_or_renew(), b.try_acquire_or_renew(), return_exceptions=True
        )
        assert results[0] is True
        assert isinstance(results[1], KubeError)
        assert results[1].status == 409
        assert (a.leading(), b.leading()) == (True, False)
        assert lock.spec["holderIdentity"] == "a"
        # The loser's next try sees the winner and stands by.
        assert not await b.try_acquire_or_renew()
        assert b.holder == "a"

    run(scenario)


def test_acquire_retries_failures_with_jitter_until_it_holds() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as(UPSTREAM)
        lock.fail = KubeError(503, "ServiceUnavailable", "etcd leader changed")
        me = elector(lock, clock)
        task = asyncio.create_task(me.acquire())
        while len(clock.slept) < 2:
            await asyncio.sleep(0)
        lock.fail = None
        await task
        assert me.leading()
        # One to 1 + 1.2 retry periods apart: jitter 0.5 makes 2 * (1 + 0.6).
        assert clock.slept == [pytest.approx(3.2)] * len(clock.slept)

    run(scenario)


# --- holding and losing -----------------------------------------------------------------------


def test_renewals_keep_the_acquire_time_and_need_no_read() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as("", duration=1, transitions=7)
        me = elector(lock, clock)
        assert await me.try_acquire_or_renew()
        acquired, reads = lock.spec["acquireTime"], lock.reads
        clock.advance(2)
        assert await me.try_acquire_or_renew()
        assert lock.reads == reads  # from the resourceVersion it wrote last
        spec = lock.spec
        assert (spec["acquireTime"], spec["leaseTransitions"]) == (acquired, 8)
        assert spec["renewTime"] == "2026-03-01T12:00:02.250000Z"

    run(scenario)


def test_leading_ends_at_the_renew_deadline_with_nothing_running() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        me = elector(lock, clock)
        assert await me.try_acquire_or_renew()
        clock.advance(9.9)
        assert me.leading()
        clock.advance(0.1)
        # Every write asks this: none is sent once the deadline passed, renewal or not.
        assert not me.leading()

    run(scenario)


def test_failed_renewals_lose_the_lease_at_the_renew_deadline() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        me = elector(lock, clock)
        assert await me.try_acquire_or_renew()
        acquired = clock.now
        holding = asyncio.create_task(me.hold())
        while len(lock.writes) < 3:
            await asyncio.sleep(0)
        lock.fail = KubeError(0, "Unreachable", "PUT: ClientConnectorError")
        reason = await holding
        assert reason == "not renewed within the renew deadline of 10s"
        assert not me.leading()
        renewed = datetime.fromisoformat(lock.spec["renewTime"]) - WALL
        last_renewal = 1000.0 + renewed.total_seconds()
        assert last_renewal > acquired
        # Lost no later than the deadline after the last renewal, at a retry period's grain.
        assert last_renewal + 10 <= clock.now <= last_renewal + 12
        assert lock.spec["holderIdentity"] == "me"  # the Lease itself simply runs out

    run(scenario)


def test_a_lease_taken_by_another_is_lost_at_once() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        me = elector(lock, clock)
        assert await me.try_acquire_or_renew()
        holding = asyncio.create_task(me.hold())
        while len(lock.writes) < 2:
            await asyncio.sleep(0)
        lock.hold_as(UPSTREAM)
        started = clock.now
        assert await holding == f"{UPSTREAM} holds it now"
        assert not me.leading()
        assert clock.now - started <= 2  # the next renewal, not the renew deadline
        assert lock.spec["holderIdentity"] == UPSTREAM

    run(scenario)


# --- releasing --------------------------------------------------------------------------------


def test_release_gives_the_lease_up_and_a_standby_takes_it_at_once() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        lock.hold_as("", duration=1, transitions=3)
        me, standby = elector(lock, clock), elector(lock, clock, "standby")
        assert await me.try_acquire_or_renew()
        assert not await standby.try_acquire_or_renew()
        clock.advance(1)
        await me.release()
        assert not me.leading()
        assert lock.spec == {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": "2026-03-01T12:00:01.250000Z",
            "renewTime": "2026-03-01T12:00:01.250000Z",
            "leaseTransitions": 4,
        }
        assert await standby.try_acquire_or_renew()
        assert lock.spec["leaseTransitions"] == 5

    run(scenario)


def test_release_leaves_a_lease_it_does_not_hold_alone() -> None:
    async def scenario() -> None:
        lock, clock = MemoryLock(), Clock()
        me = elector(lock, clock)
        await me.release()  # never held
        assert lock.writes == []
        assert await me.try_acquire_or_renew()
        lock.hold_as(UPSTREAM)
        writes = len(lock.writes)
        await me.release()
        assert len(lock.writes) == writes
        assert lock.spec["holderIdentity"] == UPSTREAM

    run(scenario)


# --- on the wire (the Kubernetes double) ------------------------------------------------------


async def kube_api(**options: Any) -> KubeApi:
    """A KubeApi on the double, which the ``kubeconfig`` fixture points to."""
    return KubeApi(
        await connect(),
        field_manager="kura-operator",
        recorder=OperatorMetrics(),
        timeout=5,
        **options,
    )


@pytest.fixture
def kubeconfig(kube: KubeDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kubeconfig")))


@pytest.mark.usefixtures("kubeconfig")
def test_the_lease_lock_creates_and_replaces_with_optimistic_concurrency(kube: KubeDouble) -> None:
    async def scenario() -> None:
        api = await kube_api()
        lock = LeaseLock(api, "kura", "kura-controller.kura.tuist.dev")
        try:
            assert await lock.get() is None
            record = LeaseRecord("me", 15, WALL, WALL, 0)
            created = await lock.create(record)
            renewed = await lock.update(created, LeaseRecord("me", 15, WALL, WALL, 1))
            with pytest.raises(KubeError) as stale:
                await lock.update(created, LeaseRecord("other", 15, WALL, WALL, 1))
            assert stale.value.status == 409
            assert LeaseRecord.of(renewed).transitions == 1
        finally:
            await api.close()

    run(scenario)
    stored = kube.get("leases", "kura", "kura-controller.kura.tuist.dev")
    assert stored is not None
    assert stored["spec"]["holderIdentity"] == "me"
    assert stored["spec"]["renewTime"] == "2026-03-01T12:00:00.250000Z"
    writes = [(r.method, r.status) for r in kube.requests_matching(resource=LEASE.plural)]
    assert writes == [("GET", 404), ("POST", 201), ("PUT", 200), ("PUT", 409)]


@pytest.mark.usefixtures("kubeconfig")
def test_no_write_is_sent_while_the_gate_says_no(kube: KubeDouble) -> None:
    leading = False

    async def scenario() -> None:
        nonlocal leading
        api = await kube_api(may_write=lambda: leading)
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "kura"},
        }
        try:
            with pytest.raises(KubeError) as refused:
                await api.apply(config_map)
            assert refused.value.reason == "NotLeader"
            assert await api.get(CONFIG_MAP, "kura", "c") is None  # reads go on
            leading = True
            await api.apply(config_map)
        finally:
            await api.close()

    run(scenario)
    assert [r.method for r in kube.requests_matching(resource="configmaps")] == ["GET", "PATCH"]
