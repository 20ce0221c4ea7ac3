"""One operator process: plugins, API client, leader election, the cache and its watches, the
resync loop and the HTTP endpoints.

With leader election (the default) the process starts as a standby: it serves its endpoints and
runs its self-check, and lists and watches, reconciles and resyncs only once it holds the Lease.
Every write first asks whether it still does. On losing the Lease it stops at once and exits
non-zero, so that its pod restarts as a standby; on a clean stop it releases the Lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
from collections.abc import Coroutine, Mapping
from typing import Any

from kura_core import (
    KURA_GATEWAY,
    KURA_INSTANCE,
    InputError,
    Kind,
    PluginHost,
    RegionCatalog,
    catalog_for,
    load_catalog_file,
)
from kura_kube import ConfigError, KubeError
from kura_kube.aio import connect
from kura_operator import __version__
from kura_operator.cache import Cache
from kura_operator.gateway import GatewayReconciler
from kura_operator.handlers import GATEWAY_API_PROVIDER, listener, watched
from kura_operator.instance import InstanceReconciler
from kura_operator.kube import KubeApi
from kura_operator.leader import LeaderElector, LeadershipLost, LeaseLock, new_identity
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import Scheduler
from kura_operator.selfcheck import Problem, Readiness, SelfCheck, self_check
from kura_operator.servers import health_app, metrics_app, serve
from kura_operator.settings import OperatorSettings

log = logging.getLogger("kura_operator")
CONCURRENCY = 16


def load_catalog(settings: OperatorSettings, host: PluginHost) -> RegionCatalog:
    if settings.catalog_file is not None:
        catalog = catalog_for(load_catalog_file(settings.catalog_file), settings.env)
        if catalog is None:
            raise InputError(f"{settings.catalog_file} has no env {settings.env!r}")
        return catalog
    return host.catalog(settings.env)


def request_all(cache: Cache, queues: Mapping[Kind, Scheduler]) -> None:
    """A reconcile of every gateway and instance the cache holds."""
    for kind, scheduler in queues.items():
        for namespace, name in cache.names(kind):
            scheduler.request(namespace, name, after=0)


async def resync(
    cache: Cache,
    queues: Mapping[Kind, Scheduler],
    settings: OperatorSettings,
    readiness: Readiness,
) -> None:
    """Request a reconcile of every object each interval, from the cache: what only time
    changes (a certificate nearing its expiry) is found, and so is anything a watch missed.

    Only while this process is the active one (the leader)."""
    while True:
        await asyncio.sleep(settings.resync_seconds)
        if readiness.state == "active":
            request_all(cache, queues)


def publish(readiness: Readiness, metrics: OperatorMetrics) -> None:
    """The operator's state and failed checks, as metrics."""
    report = readiness.report
    failed = set() if report is None else {problem.check for problem in report.problems}
    metrics.operator_state(readiness.state, failed)


async def checked(
    api: KubeApi, settings: OperatorSettings, readiness: Readiness, metrics: OperatorMetrics
) -> SelfCheck:
    """One self-check, reflected in /readyz and the metrics; problems logged as warnings."""
    try:
        report = await self_check(api, settings)
    except KubeError as exc:
        message = f"the self-check could not ask the API server: {exc}"
        problem = Problem("api", message, blocking=True)
        report = SelfCheck((problem,))
    readiness.report = report
    publish(readiness, metrics)
    for problem in report.problems:
        log.warning("self-check: %s", problem.message)
    return report


async def watch_over(
    api: KubeApi, settings: OperatorSettings, readiness: Readiness, metrics: OperatorMetrics
) -> None:
    """The self-check again every interval: what breaks later shows, what is fixed recovers."""
    while True:
        await asyncio.sleep(settings.self_check_seconds)
        await checked(api, settings, readiness, metrics)


async def unless_stopped(work: Coroutine[Any, Any, object], stopping: asyncio.Event) -> bool:
    """Await ``work`` unless ``stopping`` is set first; whether ``work`` ended."""
    task = asyncio.create_task(work)
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stop):
            pending.cancel()
        await asyncio.gather(task, stop, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True


async def unblocked(
    api: KubeApi,
    settings: OperatorSettings,
    readiness: Readiness,
    metrics: OperatorMetrics,
    stopping: asyncio.Event,
) -> bool:
    """The first self-check, then one every interval while a problem blocks the start (the
    watches would fail for ever on a missing CRD); False when stopped meanwhile."""
    first = report = await checked(api, settings, readiness, metrics)
    log.info(report.summary())
    while report.blocking:
        if not await unless_stopped(asyncio.sleep(settings.self_check_seconds), stopping):
            return False
        report = await checked(api, settings, readiness, metrics)
    if report is not first and not report.problems:
        log.info(report.summary())
    return True


def stop_on_signals(stopping: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stopping``."""
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)


async def run_operator(
    settings: OperatorSettings,
    *,
    environ: Mapping[str, str] | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    host = PluginHost(environ=os.environ if environ is None else environ)
    for problem in host.problems:
        log.warning("plugin problem: %s", problem)
    catalog = load_catalog(settings, host)
    gateway_api = any(region.ingress_provider == GATEWAY_API_PROVIDER for region in catalog)
    settings = settings.model_copy(update={"gateway_api": gateway_api})
    metrics = OperatorMetrics()
    try:
        client = await connect()
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    identity = new_identity()
    # The API server's audit log tells the operator's processes apart by their user agent.
    client.user_agent = f"kura-operator/{__version__} ({identity})"
    options: dict[str, Any] = {
        "field_manager": settings.field_manager,
        "recorder": metrics,
        "dry_run": settings.dry_run,
        "timeout": settings.request_timeout,
    }
    # The self-check and the Lease; everything the reconcilers write waits for the Lease.
    control = KubeApi(client, **options)
    lease = LeaseLock(control, settings.namespace, settings.leader_election_id)
    elector = LeaderElector(lease, identity) if settings.leader_elect else None
    gate = None if elector is None else elector.leading
    api = KubeApi(client, **options, may_write=gate)
    gateways = GatewayReconciler(
        api, host, catalog, settings, metrics, instance=socket.gethostname()
    )
    instances = InstanceReconciler(
        api, host, catalog, settings, metrics, instance=socket.gethostname()
    )
    # One work queue per kind, sharing one bound on concurrent reconciles.
    slots = asyncio.Semaphore(CONCURRENCY)
    permanent_retry = settings.permanent_error_retry_seconds
    queues = {
        KURA_GATEWAY: Scheduler(
            gateways.reconcile,
            kind=KURA_GATEWAY,
            slots=slots,
            gate=gate,
            permanent_retry=permanent_retry,
        ),
        KURA_INSTANCE: Scheduler(
            instances.reconcile,
            kind=KURA_INSTANCE,
            slots=slots,
            gate=gate,
            permanent_retry=permanent_retry,
        ),
    }
    ready = ready_flag if ready_flag is not None else asyncio.Event()
    readiness = Readiness(ready.is_set, elector)
    stopping = stop_flag if stop_flag is not None else asyncio.Event()
    stop_on_signals(stopping)
    runners = []
    address = str(settings.bind_address)
    tasks: list[asyncio.Task[Any]] = []
    try:
        if settings.metrics_port:
            app = metrics_app(metrics.registry)
            runners.append(await serve(app, address, settings.metrics_port, what="metrics"))
        if settings.health_port:
            app = health_app(readiness.answer)
            runners.append(await serve(app, address, settings.health_port, what="health probes"))
        if not await unblocked(control, settings, readiness, metrics, stopping):
            return
        tasks.append(asyncio.create_task(watch_over(control, settings, readiness, metrics)))
        holding = None
        if elector is not None:
            log.info("candidate for the lease %s as %s", lease, identity)
            if not await unless_stopped(elector.acquire(), stopping):
                return
            publish(readiness, metrics)
            holding = asyncio.create_task(elector.hold())
            tasks.append(holding)
        log.info(
            "kura operator starting",
            extra={
                "namespaces": settings.namespaces or "all",
                "env": settings.env,
                "dry_run": settings.dry_run,
                "identity": identity,
            },
        )
        cache = Cache(
            control,
            watched(gateway_api=settings.gateway_api),
            None if settings.all_namespaces else settings.namespaces,
            listener(
                queues[KURA_GATEWAY],
                instances,
                queues[KURA_INSTANCE],
                lambda name: cache.named(KURA_GATEWAY, name),
            ),
            keep=settings.take_over_field_managers,
        )
        api.cache = cache
        watching = asyncio.create_task(cache.run())
        stop = asyncio.create_task(stopping.wait())
        synced = asyncio.create_task(cache.synced())
        tasks.extend((watching, stop, synced))
        # What ends the run: a stop, the Lease lost, or the watches failing (a bug).
        ends = [watching, stop, *([holding] if holding is not None else [])]
        await asyncio.wait([synced, *ends], return_when=asyncio.FIRST_COMPLETED)
        if synced.done() and not any(task.done() for task in ends):
            log.info("every watched kind is listed; reconciling")
            ready.set()
            request_all(cache, queues)
            tasks.append(asyncio.create_task(resync(cache, queues, settings, readiness)))
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        if holding is not None and holding.done():
            # Lost: writes are refused already; the watches and reconciles stop now.
            publish(readiness, metrics)
            message = f"lost the lease {lease}: {holding.result()}"
            log.error("%s; stopped, exiting so that the pod restarts as a standby", message)
            raise LeadershipLost(f"{message}; stopped")
        if watching.done():
            watching.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for scheduler in queues.values():
            await scheduler.close()
        if elector is not None:
            await elector.release()
        for runner in runners:
            await runner.cleanup()
        await api.close()
